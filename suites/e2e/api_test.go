package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dsconform/dsconform/framework"
	"github.com/dsconform/dsconform/framework/daemonset"
	"github.com/dsconform/dsconform/framework/provenance"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/util/retry"
)

var _ = Describe("[sig-apps] DaemonSet API", Label("daemonset", "api"), func() {
	It("reports status counters and observedGeneration as a rollout progresses", Label("DS-API-01"), func(ctx SpecContext) {
		ns := newNamespace(ctx, "ds-status")
		ds := createDaemonSet(ctx, newDaemonSet("monitoring-daemon", ns).Obj())
		w, err := clients.Kube.AppsV1().DaemonSets(ns).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + ds.Name})
		Expect(err).NotTo(HaveOccurred())
		defer w.Stop()
		ds = waitForRollout(ctx, ds)
		workers := int32(len(eligibleNodes(ctx)))
		Expect(ds.Status.DesiredNumberScheduled).To(Equal(workers))

		// Every status seen on the way must be internally consistent. Read the watch up to
		// the write waitForRollout read last (its resourceVersion), within a bounded time.
		var seen []appsv1.DaemonSetStatus
		deadline := time.After(timeouts.Short)
	drain:
		for {
			select {
			case ev, ok := <-w.ResultChan():
				Expect(ok).To(BeTrue(), "the watch of DaemonSet %s closed after %d status updates, before resourceVersion %s", ds.Name, len(seen), ds.ResourceVersion)
				if d, isDS := ev.Object.(*appsv1.DaemonSet); isDS && ev.Type == watch.Modified {
					seen = append(seen, d.Status)
					if d.ResourceVersion == ds.ResourceVersion {
						break drain
					}
				}
			case <-deadline:
				Fail(fmt.Sprintf("the watch of DaemonSet %s did not deliver resourceVersion %s (the rolled-out status) within %s; %d status updates seen", ds.Name, ds.ResourceVersion, timeouts.Short, len(seen)))
			}
		}
		Expect(seen).NotTo(BeEmpty(), "a rollout should produce status updates")
		Expect(seen[0].NumberAvailable).To(BeNumerically("<", workers), "the watch should see the rollout progress: the first status update already had %d of %d available", seen[0].NumberAvailable, workers)
		Expect(seen[len(seen)-1].NumberAvailable).To(Equal(workers), "the last status update on the watch should show every eligible node's pod available")
		for _, s := range seen {
			Expect(s.NumberReady).To(BeNumerically("<=", s.CurrentNumberScheduled), "numberReady may never exceed currentNumberScheduled: %+v", s)
			Expect(s.NumberAvailable).To(BeNumerically("<=", s.NumberReady), "numberAvailable may never exceed numberReady: %+v", s)
			Expect(s.CurrentNumberScheduled).To(BeNumerically("<=", s.DesiredNumberScheduled), "more pods scheduled than desired: %+v", s)
		}

		By("changing the template: generation rises and observedGeneration follows")
		gen := ds.Generation
		_, err = clients.Kube.AppsV1().DaemonSets(ns).Patch(ctx, ds.Name, types.StrategicMergePatchType,
			[]byte(`{"spec":{"template":{"metadata":{"annotations":{"dsconform.e2e/rev":"2"}}}}}`), metav1.PatchOptions{})
		Expect(err).NotTo(HaveOccurred())
		ds = waitForRollout(ctx, ds)
		Expect(ds.Generation).To(Equal(gen+1), "a template change increments metadata.generation")
		Expect(ds.Status.ObservedGeneration).To(Equal(ds.Generation))
		Expect(ds.Status.UpdatedNumberScheduled).To(Equal(workers))
		// "updated" must count the pods that carry the new template's hash, not just pods
		hash := currentHash(ctx, ds)
		Eventually(ctx, func(g Gomega) {
			var onNew []string
			for n, ps := range daemonPods(ctx, g, ds) {
				if ps[0].Labels[appsv1.DefaultDaemonSetUniqueLabelKey] == hash {
					onNew = append(onNew, n)
				}
			}
			g.Expect(onNew).To(HaveLen(int(workers)), "pods carrying the new template hash %s, against updatedNumberScheduled=%d", hash, workers)
		}).WithTimeout(timeouts.Short).Should(Succeed())

		By("a DaemonSet whose pods run but never become ready: numberReady and numberAvailable stay 0")
		notReady := createDaemonSet(ctx, newDaemonSet("never-ready", ns).WithEnv("READY_FILE", "/nonexistent/ready").Obj())
		statusOf := func(g Gomega) appsv1.DaemonSetStatus {
			cur, err := clients.Kube.AppsV1().DaemonSets(ns).Get(ctx, notReady.Name, metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			pods := daemonPods(ctx, g, cur)
			g.Expect(pods).To(HaveLen(int(workers)), "a running pod of %s on every eligible node", cur.Name)
			for n, ps := range pods {
				g.Expect(daemonset.Ready(&ps[0])).To(BeFalse(), "pod %s on node %s: its readiness probe fails, so it must not be Ready", ps[0].Name, n)
			}
			return cur.Status
		}
		Eventually(ctx, func(g Gomega) {
			st := statusOf(g)
			g.Expect(st.CurrentNumberScheduled).To(Equal(workers), "currentNumberScheduled of %s", notReady.Name)
			g.Expect(st.UpdatedNumberScheduled).To(Equal(workers), "updatedNumberScheduled of %s", notReady.Name)
		}).WithTimeout(timeouts.Medium).Should(Succeed())
		Consistently(ctx, func(g Gomega) {
			st := statusOf(g)
			g.Expect(st.NumberReady).To(BeZero(), "numberReady of %s, whose %d running pods are all not Ready: %+v", notReady.Name, workers, st)
			g.Expect(st.NumberAvailable).To(BeZero(), "numberAvailable of %s: %+v", notReady.Name, st)
			g.Expect(st.NumberUnavailable).To(Equal(workers), "numberUnavailable of %s: %+v", notReady.Name, st)
		}).WithTimeout(timeouts.Hold).WithPolling(timeouts.HoldPoll).Should(Succeed())
	})

	It("keeps its status up to date while a ResourceQuota refuses some of its pods, and completes once the quota allows them", Label("DS-API-06"), func(ctx SpecContext) {
		needNodes(ctx, 2) // a quota of one pod must refuse at least one
		ns := newNamespace(ctx, "ds-quota")
		quota := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "one-pod", Namespace: ns, Labels: provenance.ObjectLabels(state.RunID)},
			Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("1")}}}
		_, err := clients.Kube.CoreV1().ResourceQuotas(ns).Create(ctx, quota, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred(), "creating ResourceQuota %s", quota.Name)
		Eventually(ctx, func(g Gomega) {
			q, err := clients.Kube.CoreV1().ResourceQuotas(ns).Get(ctx, quota.Name, metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(q.Status.Hard).To(HaveKey(corev1.ResourcePods), "ResourceQuota %s: the quota controller has not computed its status yet", quota.Name)
		}).WithTimeout(timeouts.Short).Should(Succeed())

		ds := createDaemonSet(ctx, newDaemonSet("monitoring-daemon", ns).Obj())
		want := expectedFor(ctx, ds)
		By(fmt.Sprintf("the quota admits one of %d pods: the status must say so", len(want)))
		Eventually(ctx, func(g Gomega) {
			cur, err := clients.Kube.AppsV1().DaemonSets(ns).Get(ctx, ds.Name, metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			st := cur.Status
			g.Expect(st.ObservedGeneration).To(Equal(cur.Generation),
				"DaemonSet %s: status.observedGeneration must reach the generation while pod creation is refused (the controller keeps writing its status): %+v", ds.Name, st)
			g.Expect(st.DesiredNumberScheduled).To(BeEquivalentTo(len(want)),
				"DaemonSet %s: status.desiredNumberScheduled counts every eligible node (%v) while pod creation is refused: %+v", ds.Name, want, st)
			g.Expect(st.CurrentNumberScheduled).To(BeEquivalentTo(1),
				"DaemonSet %s: status.currentNumberScheduled counts the one pod the quota admitted: %+v", ds.Name, st)
			g.Expect(st.NumberReady).To(BeEquivalentTo(1), "DaemonSet %s: status.numberReady: %+v", ds.Name, st)
			g.Expect(st.NumberUnavailable).To(BeEquivalentTo(len(want)-1), "DaemonSet %s: status.numberUnavailable counts the nodes still without a pod: %+v", ds.Name, st)
		}).WithTimeout(timeouts.Medium).Should(Succeed())
		Eventually(ctx, func(g Gomega) {
			evs, err := clients.Kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + ds.Name + ",reason=FailedCreate"})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(evs.Items).To(ContainElement(HaveField("Message", ContainSubstring("exceeded quota"))),
				"DaemonSet %s: a FailedCreate event naming the exceeded quota", ds.Name)
		}).WithTimeout(timeouts.Short).Should(Succeed())

		By("raising the quota: the DaemonSet completes without any change to it")
		raised := time.Now()
		Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
			q, err := clients.Kube.CoreV1().ResourceQuotas(ns).Get(ctx, quota.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			q.Spec.Hard[corev1.ResourcePods] = resource.MustParse(fmt.Sprint(2 * len(want)))
			_, err = clients.Kube.CoreV1().ResourceQuotas(ns).Update(ctx, q, metav1.UpdateOptions{})
			return err
		})).To(Succeed(), "raising ResourceQuota %s", quota.Name)
		expectPlacement(ctx, ds, want)
		framework.RecordLatency("ResourceQuota raised → DaemonSet rolled out (controller retry backoff)", "", time.Since(raised))
	})

	It("reads and patches the status subresource", Label("DS-API-02", "quick"), func(ctx SpecContext) {
		ns := newNamespace(ctx, "ds-statussub")
		ds := waitForRollout(ctx, createDaemonSet(ctx, newDaemonSet("monitoring-daemon", ns).Obj()))
		rc := clients.Kube.AppsV1().RESTClient()
		got := &appsv1.DaemonSet{}
		Expect(rc.Get().Namespace(ns).Resource("daemonsets").Name(ds.Name).SubResource("status").Do(ctx).Into(got)).To(Succeed())
		Expect(got.Status.DesiredNumberScheduled).To(Equal(ds.Status.DesiredNumberScheduled), "status read through /status")

		patch := `{"status":{"conditions":[{"type":"StatusPatched","status":"True","reason":"E2E","message":"set by dsconform"}]}}`
		_, err := clients.Kube.AppsV1().DaemonSets(ns).Patch(ctx, ds.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}, "status")
		Expect(err).NotTo(HaveOccurred(), "patching /status")
		Eventually(ctx, func(g Gomega) {
			cur, err := clients.Kube.AppsV1().DaemonSets(ns).Get(ctx, ds.Name, metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(cur.Status.Conditions).To(ContainElement(And(HaveField("Type", appsv1.DaemonSetConditionType("StatusPatched")), HaveField("Reason", "E2E"))))
		}).WithTimeout(timeouts.Short).Should(Succeed())
	})

	It("lists DaemonSets by label across namespaces and deletes them as a collection", Label("DS-API-03"), func(ctx SpecContext) {
		label := "dsconform.e2e/list=" + time.Now().Format("150405.000000")[7:]
		nsA, nsB := newNamespace(ctx, "ds-list-a"), newNamespace(ctx, "ds-list-b")
		for _, ns := range []string{nsA, nsB} {
			ds := newDaemonSet("listed", ns).Obj()
			ds.Labels["dsconform.e2e/list"] = label[len("dsconform.e2e/list="):]
			createDaemonSet(ctx, ds)
		}
		// beside them, in the namespace of the DeleteCollection, one without the label: it must stay
		unlisted := createDaemonSet(ctx, newDaemonSet("unlisted", nsA).Obj())
		list, err := clients.Kube.AppsV1().DaemonSets(metav1.NamespaceAll).List(ctx, metav1.ListOptions{LabelSelector: label})
		Expect(err).NotTo(HaveOccurred())
		Expect(list.Items).To(HaveLen(2), "DaemonSets labelled %s across all namespaces", label)

		Expect(clients.Kube.AppsV1().DaemonSets(nsA).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: label})).To(Succeed())
		Eventually(ctx, func(g Gomega) {
			l, err := clients.Kube.AppsV1().DaemonSets(metav1.NamespaceAll).List(ctx, metav1.ListOptions{LabelSelector: label})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(l.Items).To(HaveLen(1), "after DeleteCollection in %s only the one in %s should remain", nsA, nsB)
			g.Expect(l.Items[0].Namespace).To(Equal(nsB))
		}).WithTimeout(timeouts.Short).Should(Succeed())
		kept, err := clients.Kube.AppsV1().DaemonSets(nsA).Get(ctx, unlisted.Name, metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred(), "DaemonSet %s/%s has no label %s: a DeleteCollection by that label must leave it", nsA, unlisted.Name, label)
		Expect(kept.UID).To(Equal(unlisted.UID), "DaemonSet %s/%s must be the same object after the DeleteCollection", nsA, unlisted.Name)
		Expect(kept.DeletionTimestamp).To(BeNil(), "DaemonSet %s/%s has no label %s and must not be deleted", nsA, unlisted.Name, label)
	})

	It("replaces the status through the status subresource with a full update, ignoring spec changes, and a watch sees each change", Label("DS-API-04"), func(ctx SpecContext) {
		ns := newNamespace(ctx, "ds-statusput")
		ds := waitForRollout(ctx, createDaemonSet(ctx, newDaemonSet("monitoring-daemon", ns).Obj()))
		dsc := clients.Kube.AppsV1().DaemonSets(ns)
		wctx, cancel := context.WithTimeout(ctx, timeouts.Short)
		defer cancel()
		w, err := dsc.Watch(wctx, metav1.ListOptions{FieldSelector: "metadata.name=" + ds.Name, ResourceVersion: ds.ResourceVersion})
		Expect(err).NotTo(HaveOccurred(), "watching DaemonSet %s", ds.Name)
		defer w.Stop()

		By("a full update (PUT) of /status that also tries to change the spec")
		var updated *appsv1.DaemonSet
		Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cur, err := dsc.Get(ctx, ds.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			cur.Status.Conditions = append(cur.Status.Conditions, appsv1.DaemonSetCondition{Type: "StatusUpdated", Status: corev1.ConditionTrue, Reason: "E2E", Message: "set by dsconform with a full update"})
			cur.Spec.MinReadySeconds = 99
			updated, err = dsc.UpdateStatus(ctx, cur, metav1.UpdateOptions{})
			return err
		})).To(Succeed(), "PUT /status of DaemonSet %s", ds.Name)
		Expect(updated.Status.Conditions).To(ContainElement(HaveField("Type", appsv1.DaemonSetConditionType("StatusUpdated"))), "the PUT's answer")
		Expect(updated.Spec.MinReadySeconds).To(BeZero(), "a write through /status must not change the spec (minReadySeconds)")
		Expect(updated.Generation).To(Equal(ds.Generation), "a write through /status must not bump metadata.generation")
		watchFor(wctx, w, ds.Name, "StatusUpdated")

		By("a merge patch of /status, seen on the same watch")
		patch := `{"status":{"conditions":[{"type":"StatusPatched","status":"True","reason":"E2E","message":"set by dsconform with a patch"}]}}`
		_, err = dsc.Patch(ctx, ds.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}, "status")
		Expect(err).NotTo(HaveOccurred(), "patching /status")
		watchFor(wctx, w, ds.Name, "StatusPatched")
	})
})

// watchFor reads the watch until the DaemonSet carries a condition of type cond, failing
// with the conditions it saw when the watch ends or its context expires first.
func watchFor(ctx context.Context, w watch.Interface, name, cond string) {
	GinkgoHelper()
	var seen []string
	for {
		select {
		case <-ctx.Done():
			Fail(fmt.Sprintf("watch of DaemonSet %s: no event with condition %s before the deadline; events seen: %v", name, cond, seen))
		case ev, ok := <-w.ResultChan():
			if !ok {
				Fail(fmt.Sprintf("watch of DaemonSet %s closed before condition %s was seen; events seen: %v", name, cond, seen))
			}
			ds, isDS := ev.Object.(*appsv1.DaemonSet)
			if !isDS {
				seen = append(seen, fmt.Sprintf("%s %T", ev.Type, ev.Object))
				continue
			}
			var conds []string
			for _, c := range ds.Status.Conditions {
				conds = append(conds, string(c.Type))
			}
			seen = append(seen, fmt.Sprintf("%s %v", ev.Type, conds))
			if ev.Type == watch.Modified && slices.Contains(conds, cond) {
				return
			}
		}
	}
}

var _ = Describe("[sig-apps] DaemonSet pods modified by hand", Label("daemonset", "api"), func() {
	It("allow some fields to change and refuse others; the controller keeps a modified pod and makes its replacement from the template", Label("DS-POD-01"), func(ctx SpecContext) {
		ns := newNamespace(ctx, "ds-podmod")
		ds := waitForRollout(ctx, createDaemonSet(ctx, newDaemonSet("monitoring-daemon", ns).Obj()))
		nodeName := expectedFor(ctx, ds)[0]
		pod := onePodOn(ctx, ds, nodeName)
		other := otherImageOn(ctx, nodeName, ds.Spec.Template.Spec.Containers[0].Image)

		By("changing a field pods do not allow to change (a container's env): refused")
		envPatch := []byte(`{"spec":{"containers":[{"name":"` + pod.Spec.Containers[0].Name + `","env":[{"name":"DSCONFORM_CHANGED","value":"1"}]}]}}`)
		_, err := clients.Kube.CoreV1().Pods(ns).Patch(ctx, pod.Name, types.StrategicMergePatchType, envPatch, metav1.PatchOptions{})
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "daemon pod %s on node %s: an update of a container's env should be refused as invalid, got %v", pod.Name, nodeName, err)
		Expect(err.Error()).To(ContainSubstring("pod updates may not change fields other than"), "daemon pod %s: the refusal should name the fields a pod update may change", pod.Name)

		By("changing a field pods allow to change (the container's image, to " + other + ")")
		imagePatch := []byte(`{"spec":{"containers":[{"name":"` + pod.Spec.Containers[0].Name + `","image":"` + other + `"}]}}`)
		_, err = clients.Kube.CoreV1().Pods(ns).Patch(ctx, pod.Name, types.StrategicMergePatchType, imagePatch, metav1.PatchOptions{})
		Expect(err).NotTo(HaveOccurred(), "daemon pod %s on node %s: an update of a container's image is allowed", pod.Name, nodeName)
		Eventually(ctx, func(g Gomega) {
			p, err := clients.Kube.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred(), "daemon pod %s on node %s", pod.Name, nodeName)
			g.Expect(p.UID).To(Equal(pod.UID), "the DaemonSet must keep its modified pod on node %s", nodeName)
			g.Expect(p.Status.ContainerStatuses).To(ContainElement(And(HaveField("Image", other), HaveField("State.Running", Not(BeNil())))),
				"node %s: the kubelet should restart daemon pod %s's container with the image it was changed to, %s", nodeName, p.Name, other)
		}).WithTimeout(timeouts.Medium).WithPolling(timeouts.Poll).Should(Succeed())
		Consistently(ctx, func(g Gomega) {
			p, err := clients.Kube.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred(), "the DaemonSet must keep its modified pod %s on node %s", pod.Name, nodeName)
			g.Expect(p.UID).To(Equal(pod.UID), "the DaemonSet must keep its modified pod on node %s", nodeName)
			g.Expect(p.DeletionTimestamp).To(BeNil(), "the DaemonSet must not delete its modified pod %s on node %s", p.Name, nodeName)
			g.Expect(p.Spec.Containers[0].Image).To(Equal(other), "daemon pod %s on node %s: the controller must not revert a change made to the pod", p.Name, nodeName)
		}).WithTimeout(timeouts.Hold).WithPolling(timeouts.HoldPoll).Should(Succeed())

		By("deleting the modified pod: its replacement comes from the DaemonSet's template")
		Expect(clients.Kube.CoreV1().Pods(ns).Delete(ctx, pod.Name, metav1.DeleteOptions{})).To(Succeed())
		Eventually(ctx, func(g Gomega) {
			pods := daemonPods(ctx, g, ds)[nodeName]
			g.Expect(pods).To(HaveLen(1), "node %s: one daemon pod replaces the deleted one", nodeName)
			g.Expect(pods[0].UID).NotTo(Equal(pod.UID), "node %s: the replacement is a new pod", nodeName)
			g.Expect(pods[0].Spec.Containers[0].Image).To(Equal(ds.Spec.Template.Spec.Containers[0].Image),
				"node %s: the replacement of a modified daemon pod should use the DaemonSet's template image, not the pod's %s", nodeName, other)
		}).WithTimeout(timeouts.Medium).WithPolling(timeouts.Poll).Should(Succeed())
	})
})

// otherImageOn is an image the node already holds other than not: its pause image, which
// every node has (no registry is needed to run it).
func otherImageOn(ctx context.Context, nodeName, not string) string {
	GinkgoHelper()
	for _, img := range getNode(ctx, nodeName).Status.Images {
		for _, name := range img.Names {
			if name != not && strings.Contains(name, "/pause:") {
				return name
			}
		}
	}
	Skip(fmt.Sprintf("node %s lists no pause image among its images: no second image to change a daemon pod to without a registry", nodeName))
	return ""
}
