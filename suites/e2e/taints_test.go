package e2e

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/dsconform/dsconform/framework"
	"github.com/dsconform/dsconform/framework/node"
)

// vipOnly is the seeds' NoExecute taint.
var vipOnly = corev1.Taint{Key: "VIPOnly", Value: "true", Effect: corev1.TaintEffectNoExecute}

var _ = Describe("[sig-apps] DaemonSet and taints", Serial, Label("daemonset", "taints", "disruptive"), func() {
	BeforeEach(requireNodeChanges)

	It("evicts the daemon pod from a node tainted NoExecute, keeps the others, and returns when untainted", Label("DS-TAINT-01"), func(ctx SpecContext) {
		ns := newNamespace(ctx, "ds-noexec")
		ds := waitForRollout(ctx, createDaemonSet(ctx, newDaemonSet("monitoring-daemon", ns).Obj()))
		workers := needNodes(ctx, 2) // one tainted, the others must keep their pods
		target, others := workers[0], workers[1:]
		before := podUIDs(ctx, ds)

		tainted := time.Now()
		node.AddTaint(ctx, clients.Kube, target, vipOnly)
		Eventually(ctx, func(g Gomega) {
			g.Expect(daemonPods(ctx, g, ds)).NotTo(HaveKey(target), "node %s is tainted VIPOnly=true:NoExecute; its daemon pod should be evicted", target)
		}).WithTimeout(timeouts.Medium).Should(Succeed())
		framework.RecordLatency("NoExecute taint → daemon pod evicted", target, time.Since(tainted))
		expectPlacement(ctx, ds, others)
		for _, n := range others {
			Expect(podUIDs(ctx, ds)[n]).To(Equal(before[n]), "the daemon pod on untainted node %s should keep running, not be replaced", n)
		}

		untainted := time.Now()
		node.RemoveTaint(ctx, clients.Kube, target, vipOnly)
		expectPlacement(ctx, ds, workers)
		framework.RecordLatency("taint removed → daemon pod running", target, time.Since(untainted))
	})

	It("brings the daemon pod back to a NoExecute-tainted node once the DaemonSet tolerates the taint", Label("DS-TAINT-02"), func(ctx SpecContext) {
		ns := newNamespace(ctx, "ds-tolerate")
		ds := waitForRollout(ctx, createDaemonSet(ctx, newDaemonSet("monitoring-daemon", ns).Obj()))
		workers := eligibleNodes(ctx)
		node.AddTaint(ctx, clients.Kube, workers[0], vipOnly)
		expectPlacement(ctx, ds, workers[1:])

		patch := `{"spec":{"template":{"spec":{"tolerations":[{"key":"VIPOnly","operator":"Equal","value":"true","effect":"NoExecute"}]}}}}`
		_, err := clients.Kube.AppsV1().DaemonSets(ns).Patch(ctx, ds.Name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
		Expect(err).NotTo(HaveOccurred(), "adding the VIPOnly toleration")
		expectPlacement(ctx, ds, workers)
	})

	It("tolerates every taint with an empty key and operator Exists", Label("DS-TAINT-03"), func(ctx SpecContext) {
		workers := needNodes(ctx, 2) // a NoExecute and a NoSchedule taint on two nodes
		node.AddTaint(ctx, clients.Kube, workers[0], corev1.Taint{Key: "dsconform.e2e/exec", Value: "x", Effect: corev1.TaintEffectNoExecute})
		node.AddTaint(ctx, clients.Kube, workers[1], corev1.Taint{Key: "dsconform.e2e/sched", Effect: corev1.TaintEffectNoSchedule})
		ns := newNamespace(ctx, "ds-exists")
		ds := createDaemonSet(ctx, newDaemonSet("monitoring-daemon", ns).WithToleration(corev1.Toleration{Operator: corev1.TolerationOpExists}).Obj())
		expectPlacement(ctx, ds, append(workers, controlPlaneName(ctx)))
	})

	It("keeps a running daemon pod on a node tainted NoSchedule, but a new DaemonSet gets none there", Label("DS-TAINT-04"), func(ctx SpecContext) {
		ns := newNamespace(ctx, "ds-nosched")
		first := waitForRollout(ctx, createDaemonSet(ctx, newDaemonSet("first", ns).Obj()))
		workers := needNodes(ctx, 2) // the second DaemonSet must run somewhere
		target := workers[0]
		uid := onePodOn(ctx, first, target).UID
		node.AddTaint(ctx, clients.Kube, target, corev1.Taint{Key: "dsconform.e2e/nosched", Value: "x", Effect: corev1.TaintEffectNoSchedule})

		// The controller does not resync a DaemonSet for a taint that only stops new pods on
		// a node that keeps its pod (its node handler enqueues on create/delete needs only), so
		// its status would stay stale until something else syncs it (seen: over 2 min on 1.34,
		// 84 s on 1.37). Any update of the DaemonSet is a sync: touch an annotation.
		_, err := clients.Kube.AppsV1().DaemonSets(ns).Patch(ctx, first.Name, types.MergePatchType,
			[]byte(`{"metadata":{"annotations":{"dsconform.e2e/resync":"after-taint"}}}`), metav1.PatchOptions{})
		Expect(err).NotTo(HaveOccurred())
		By("the controller keeps first's pod on " + target + " but reports it misscheduled, no longer desired")
		expectPlacement(ctx, first, workers)
		Eventually(ctx, func(g Gomega) {
			cur, err := clients.Kube.AppsV1().DaemonSets(ns).Get(ctx, first.Name, metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(cur.Status.NumberMisscheduled).To(BeEquivalentTo(1),
				"DaemonSet first: status.numberMisscheduled must count its pod on NoSchedule-tainted node %s", target)
			g.Expect(cur.Status.DesiredNumberScheduled).To(BeEquivalentTo(len(workers)-1),
				"DaemonSet first: status.desiredNumberScheduled must no longer count NoSchedule-tainted node %s", target)
		}).WithTimeout(timeouts.Short).Should(Succeed())

		second := waitForRollout(ctx, createDaemonSet(ctx, newDaemonSet("second", ns).Obj()))
		expectPlacement(ctx, second, workers[1:])
		Consistently(ctx, func(g Gomega) {
			g.Expect(podUIDs(ctx, first)[target]).To(Equal(uid), "DaemonSet first's pod on NoSchedule-tainted node %s must keep running unchanged", target)
			g.Expect(daemonPods(ctx, g, second)).NotTo(HaveKey(target), "DaemonSet second must get no pod on NoSchedule-tainted node %s", target)
		}).WithTimeout(timeouts.Hold).WithPolling(timeouts.HoldPoll).Should(Succeed())
	})

	It("ignores PreferNoSchedule taints", Label("DS-TAINT-05"), func(ctx SpecContext) {
		workers := eligibleNodes(ctx)
		node.AddTaint(ctx, clients.Kube, workers[0], corev1.Taint{Key: "dsconform.e2e/prefer", Value: "x", Effect: corev1.TaintEffectPreferNoSchedule})
		ns := newNamespace(ctx, "ds-prefer")
		ds := createDaemonSet(ctx, newDaemonSet("monitoring-daemon", ns).Obj())
		expectPlacement(ctx, ds, workers)
	})
})

// podUIDs maps node -> UID of the single daemon pod there (empty if none or several).
func podUIDs(ctx SpecContext, ds *appsv1.DaemonSet) map[string]types.UID {
	GinkgoHelper()
	out := map[string]types.UID{}
	Eventually(ctx, func(g Gomega) {
		for n, pods := range daemonPods(ctx, g, ds) {
			if len(pods) == 1 {
				out[n] = pods[0].UID
			}
		}
	}).Should(Succeed())
	return out
}
