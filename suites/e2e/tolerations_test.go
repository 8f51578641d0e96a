package e2e

import (
	"context"
	"fmt"
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/dsconform/dsconform/framework"
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

var _ = Describe("[sig-apps] DaemonSet on a network-unavailable node", Label("daemonset", "tolerations", "disruptive"), func() {
	BeforeEach(requireNodeChanges)

	It("runs only host-network daemon pods on a node whose network is unavailable, also while it is cordoned", Label("DS-TOL-04"), onOwnNode(), func(ctx SpecContext) {
		// The suite sets a Node's condition only on a node it joined for the spec.
		requireKind()
		target, _ := addWorker(ctx)
		set := time.Now()
		setNetworkUnavailable(ctx, target)
		Eventually(ctx, func(g Gomega) {
			g.Expect(getNode(ctx, target).Spec.Taints).To(ContainElement(And(HaveField("Key", daemonset.TaintNetworkUnavailable), HaveField("Effect", corev1.TaintEffectNoSchedule))),
				"node %s has condition NetworkUnavailable=True: the node lifecycle controller should taint it %s:NoSchedule", target, daemonset.TaintNetworkUnavailable)
		}).WithTimeout(timeouts.Medium).Should(Succeed())
		framework.RecordLatency("NetworkUnavailable=True → network-unavailable:NoSchedule taint", target, time.Since(set))
		nodeChanges.Cordon(ctx, target)

		ns := newNamespace(ctx, "ds-netunavail")
		// Host-network pods share the node's ports: one port per parallel process.
		port := int32(18600 + GinkgoParallelProcess())
		hostNet := createDaemonSet(ctx, ownDaemonSet("hostnet-daemon", ns).WithHostNetwork().WithPort(port).Obj())
		podNet := createDaemonSet(ctx, ownDaemonSet("podnet-daemon", ns).Obj())
		hostNetNodes, podNetNodes := expectedFor(ctx, hostNet), expectedFor(ctx, podNet)
		Expect(hostNetNodes).To(ContainElement(target), "node %s (network unavailable, cordoned) is eligible for a host-network DaemonSet", target)
		Expect(podNetNodes).NotTo(ContainElement(target), "node %s (network unavailable) is not eligible for a pod-network DaemonSet", target)
		expectPlacement(ctx, hostNet, hostNetNodes)
		expectPlacement(ctx, podNet, podNetNodes)
		Consistently(ctx, func(g Gomega) {
			g.Expect(daemonPods(ctx, g, hostNet)).To(HaveKey(target), "the host-network daemon pod on node %s (network unavailable, cordoned) must keep running", target)
			g.Expect(daemonPods(ctx, g, podNet)).NotTo(HaveKey(target), "a pod-network DaemonSet must get no pod on node %s, tainted %s:NoSchedule", target, daemonset.TaintNetworkUnavailable)
		}).WithTimeout(timeouts.Hold).WithPolling(timeouts.HoldPoll).Should(Succeed())
	})
})

// setNetworkUnavailable sets the NetworkUnavailable condition of a node joined for the
// spec (the node as a whole carries the run's stamp and is removed when the spec ends)
// and removes it again at cleanup: kind's nodes have none, and the kubelet leaves a
// condition it does not own alone.
func setNetworkUnavailable(ctx context.Context, name string) {
	GinkgoHelper()
	edit := func(ctx context.Context, mutate func([]corev1.NodeCondition) []corev1.NodeCondition) error {
		return retry.RetryOnConflict(retry.DefaultRetry, func() error {
			n, err := clients.Kube.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			n.Status.Conditions = mutate(n.Status.Conditions)
			_, err = clients.Kube.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
			return err
		})
	}
	without := func(cs []corev1.NodeCondition) []corev1.NodeCondition {
		return slices.DeleteFunc(cs, func(c corev1.NodeCondition) bool { return c.Type == corev1.NodeNetworkUnavailable })
	}
	DeferCleanup(func(ctx SpecContext) {
		Expect(edit(ctx, without)).To(Succeed(), "removing the NetworkUnavailable condition of node %s", name)
	})
	now := metav1.Now()
	Expect(edit(ctx, func(cs []corev1.NodeCondition) []corev1.NodeCondition {
		return append(without(cs), corev1.NodeCondition{Type: corev1.NodeNetworkUnavailable, Status: corev1.ConditionTrue,
			Reason: "DsconformNoRoute", Message: "set by dsconform " + CurrentSpecReport().LeafNodeText, LastTransitionTime: now, LastHeartbeatTime: now})
	})).To(Succeed(), "setting condition NetworkUnavailable=True on node %s", name)
}
