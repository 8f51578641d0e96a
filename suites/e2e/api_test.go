package e2e

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
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

		// Every status seen on the way must be internally consistent. The watch has
		// buffered what happened during the rollout; stop once it has been quiet briefly.
		var seen []appsv1.DaemonSetStatus
	drain:
		for {
			select {
			case ev := <-w.ResultChan():
				if ev.Type == watch.Modified {
					seen = append(seen, ev.Object.(*appsv1.DaemonSet).Status)
				}
			case <-time.After(2 * time.Second):
				break drain
			}
		}
		Expect(seen).NotTo(BeEmpty(), "a rollout should produce status updates")
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
	})

	It("reads and patches the status subresource", Label("DS-API-02"), func(ctx SpecContext) {
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
	})
})
