package e2e

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	"github.com/dsconform/dsconform/framework/daemonset"
)

var _ = Describe("[sig-apps] DaemonSet default tolerations", Label("daemonset", "tolerations"), func() {
	It("adds not-ready, unreachable, pressure and unschedulable tolerations to every daemon pod", Label("DS-TOL-01"), func(ctx SpecContext) {
		want := eligibleNodes(ctx)
		ns := newNamespace(ctx, "ds-deftol")
		ds := waitForRollout(ctx, createDaemonSet(ctx, newDaemonSet("monitoring-daemon", ns).Obj()))
		Eventually(ctx, func(g Gomega) {
			byNode := daemonPods(ctx, g, ds)
			g.Expect(byNode).To(HaveLen(len(want)), "daemon pods of %s: one on each of %v", ds.Name, want)
			for nodeName, pods := range byNode {
				for _, p := range pods {
					for _, want := range daemonset.DefaultTolerations(false) {
						g.Expect(p.Spec.Tolerations).To(ContainElement(want), "pod %s on node %s lacks the default toleration %s:%s", p.Name, nodeName, want.Key, want.Effect)
					}
					g.Expect(p.Spec.Tolerations).NotTo(ContainElement(HaveField("Key", daemonset.TaintNetworkUnavailable)),
						"pod %s on node %s does not use host networking, so it must not tolerate %s", p.Name, nodeName, daemonset.TaintNetworkUnavailable)
				}
			}
		}).Should(Succeed())
	})

	It("adds the network-unavailable toleration only to host-network daemon pods", Label("DS-TOL-02"), func(ctx SpecContext) {
		ns := newNamespace(ctx, "ds-hostnet")
		// Host-network pods share the node's ports: one port per parallel process.
		port := int32(18080 + GinkgoParallelProcess())
		ds := waitForRollout(ctx, createDaemonSet(ctx, newDaemonSet("hostnet-daemon", ns).WithHostNetwork().WithPort(port).Obj()))
		want := corev1.Toleration{Key: daemonset.TaintNetworkUnavailable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}
		Eventually(ctx, func(g Gomega) {
			pods := daemonPods(ctx, g, ds)
			g.Expect(pods).NotTo(BeEmpty())
			for nodeName, ps := range pods {
				for _, p := range ps {
					g.Expect(p.Spec.Tolerations).To(ContainElement(want), "host-network pod %s on node %s lacks the %s toleration", p.Name, nodeName, want.Key)
				}
			}
		}).Should(Succeed())
	})
})

var _ = Describe("[sig-apps] DaemonSet on cordoned nodes", Label("daemonset", "tolerations", "disruptive"), func() {
	BeforeEach(requireNodeChanges)

	It("keeps the daemon pod on a cordoned node and places a new DaemonSet's pod there too", Label("DS-TOL-03"), onOwnNode(), func(ctx SpecContext) {
		target := nodeOfItsOwn(ctx)
		ns := newNamespace(ctx, "ds-cordon")
		first := waitForRollout(ctx, createDaemonSet(ctx, ownDaemonSet("first", ns).Obj()))
		workers := nodesWithOwn(ctx, target, 1)
		uid := onePodOn(ctx, first, target).UID
		nodeChanges.Cordon(ctx, target)

		second := createDaemonSet(ctx, ownDaemonSet("second", ns).Obj())
		expectPlacement(ctx, second, workers)
		Consistently(ctx, func(g Gomega) {
			g.Expect(podUIDsNow(ctx, g, first)[target]).To(Equal(uid), fmt.Sprintf("the daemon pod on cordoned node %s must keep running", target))
		}).WithTimeout(timeouts.Hold).WithPolling(timeouts.HoldPoll).Should(Succeed())
	})
})
