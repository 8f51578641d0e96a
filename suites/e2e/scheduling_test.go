package e2e

import (
	"context"
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/dsconform/dsconform/framework/daemonset"
	"github.com/dsconform/dsconform/framework/provenance"
)

var _ = Describe("[sig-apps] DaemonSet on a node without room", Label("daemonset", "scheduling"), func() {
	It("creates the daemon pod of a full node and leaves it Pending and unavailable; given a higher priority, the default scheduler preempts a lower-priority pod there and binds it", Label("DS-SCHED-02"), func(ctx SpecContext) {
		workers := needNodes(ctx, 2) // a full node, and at least one where the daemon pod fits
		target := workers[0]
		request := resource.MustParse("200m")
		for _, n := range workers[1:] {
			if free := freeCPU(ctx, n); free.Cmp(request) < 0 {
				Skip(fmt.Sprintf("node %s has %s CPU unrequested, less than the daemon pod's %s: no node to show the pod fitting elsewhere", n, free.String(), request.String()))
			}
		}
		free := freeCPU(ctx, target)
		if free.MilliValue() < 200 {
			Skip(fmt.Sprintf("node %s has only %s CPU unrequested: no room for a pod to preempt", target, free.String()))
		}
		ns := newNamespace(ctx, "ds-fullnode")

		By(fmt.Sprintf("filling node %s: a pod of the default priority requests all but 100m of its %s unrequested CPU", target, free.String()))
		fill := resource.NewMilliQuantity(free.MilliValue()-100, resource.DecimalSI)
		filler := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "filler", Namespace: ns},
			Spec: corev1.PodSpec{NodeSelector: map[string]string{corev1.LabelHostname: target},
				Containers: []corev1.Container{{Name: "sleep", Image: cfg.WorkloadImage, Args: []string{"sleep"},
					Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: *fill}}}}}}
		runPod(ctx, filler, target)

		obj := newDaemonSet("monitoring-daemon", ns).Obj()
		obj.Spec.Template.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: request}
		ds := createDaemonSet(ctx, obj)

		By("the daemon pod for " + target + " is created, pinned there, and cannot be bound; the others run")
		pending := func(g Gomega) {
			cur, _, pods := daemonset.Snapshot(ctx, g, clients.Kube, ds)
			var onTarget []corev1.Pod
			for _, p := range pods {
				if daemonset.OwnedBy(&p, cur.UID) && daemonset.PinnedNode(&p) == target {
					onTarget = append(onTarget, p)
				}
			}
			g.Expect(onTarget).To(HaveLen(1), "DaemonSet %s must create one pod for full node %s (found %d)", ds.Name, target, len(onTarget))
			p := onTarget[0]
			g.Expect(p.Spec.NodeName).To(BeEmpty(), "daemon pod %s for full node %s must not be bound", p.Name, target)
			g.Expect(p.Status.Conditions).To(ContainElement(And(HaveField("Type", corev1.PodScheduled), HaveField("Status", corev1.ConditionFalse),
				HaveField("Reason", corev1.PodReasonUnschedulable))), "daemon pod %s for full node %s: PodScheduled False, Unschedulable", p.Name, target)
			g.Expect(daemonset.NodesWithPods(cur, pods)).To(ConsistOf(workers[1:]), "the daemon pods that fit run: %s", daemonset.PlacementDiff(workers[1:], daemonset.NodesWithPods(cur, pods)))
			st := cur.Status
			g.Expect(st.DesiredNumberScheduled).To(BeEquivalentTo(len(workers)), "DaemonSet %s: desiredNumberScheduled counts full node %s: %+v", ds.Name, target, st)
			g.Expect(st.NumberUnavailable).To(BeEquivalentTo(1), "DaemonSet %s: numberUnavailable counts the pod that cannot be bound on %s: %+v", ds.Name, target, st)
			g.Expect(st.NumberReady).To(BeEquivalentTo(len(workers)-1), "DaemonSet %s: numberReady: %+v", ds.Name, st)
		}
		Eventually(ctx, pending).WithTimeout(timeouts.Medium).Should(Succeed())
		By("at the filler's own priority nothing is preempted: the pod stays Pending")
		Consistently(ctx, func(g Gomega) {
			pending(g)
			p, err := clients.Kube.CoreV1().Pods(ns).Get(ctx, filler.Name, metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred(), "the filler pod on %s must not be preempted by a pod of the same priority", target)
			g.Expect(p.DeletionTimestamp).To(BeNil(), "the filler pod on %s must not be preempted by a pod of the same priority", target)
		}).WithTimeout(timeouts.Hold).WithPolling(timeouts.HoldPoll).Should(Succeed())

		By("a higher priority for the daemon pods: the scheduler preempts the filler and binds the daemon pod on " + target)
		pc := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: provenance.ObjectLabels(state.RunID)}, Value: 1000,
			Description: "dsconform DS-SCHED-02: daemon pods above the default priority"}
		_, err := clients.Kube.SchedulingV1().PriorityClasses().Create(ctx, pc, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred(), "creating PriorityClass %s", pc.Name)
		DeferCleanup(func(ctx SpecContext) {
			err := clients.Kube.SchedulingV1().PriorityClasses().Delete(ctx, pc.Name, metav1.DeleteOptions{})
			if !apierrors.IsNotFound(err) {
				Expect(err).NotTo(HaveOccurred(), "deleting PriorityClass %s", pc.Name)
			}
		})
		patch := fmt.Sprintf(`{"spec":{"template":{"spec":{"priorityClassName":%q}}}}`, pc.Name)
		_, err = clients.Kube.AppsV1().DaemonSets(ns).Patch(ctx, ds.Name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
		Expect(err).NotTo(HaveOccurred(), "giving DaemonSet %s priority class %s", ds.Name, pc.Name)
		expectPlacement(ctx, ds, workers)
		Eventually(ctx, func(g Gomega) {
			evs, err := clients.Kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + filler.Name + ",reason=Preempted"})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(evs.Items).NotTo(BeEmpty(), "the filler pod on %s should have been preempted (an event with reason Preempted)", target)
		}).WithTimeout(timeouts.Short).Should(Succeed())
	})
})

// freeCPU is a node's allocatable CPU less what its unfinished pods request.
func freeCPU(ctx context.Context, node string) resource.Quantity {
	GinkgoHelper()
	n, err := clients.Kube.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	Expect(err).NotTo(HaveOccurred())
	pods, err := clients.Kube.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + node})
	Expect(err).NotTo(HaveOccurred())
	free := n.Status.Allocatable.Cpu().DeepCopy()
	for _, p := range pods.Items {
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		for _, c := range p.Spec.Containers {
			free.Sub(*c.Resources.Requests.Cpu())
		}
	}
	return free
}
