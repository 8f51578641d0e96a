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
	"github.com/dsconform/dsconform/framework/kindcluster"
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

	It("binds a new DaemonSet's pod to a node under memory, disk and PID pressure, where an ordinary pod is not scheduled", Label("DS-TOL-05"), onOwnNode(), func(ctx SpecContext) {
		// The pressure is real (the node's kubelet reports it), on a node joined for the
		// spec: under disk pressure the kubelet deletes unused images, which cannot be
		// pulled back offline.
		requireKind()
		target, _ := addWorker(ctx)
		host := kindHostOf(target)
		n := getNode(ctx, target)
		maxPID := nodeStats(ctx, target).Node.Rlimit.MaxPID
		Expect(maxPID).NotTo(BeNil(), "node %s: the kubelet's stats summary gives no node.rlimit.maxpid", target)
		// Thresholds just under what the node has at all (a threshold above its capacity
		// is refused: the kubelet will not start), so each signal is under its threshold
		// whatever else runs on the machine.
		const under = 16 << 20
		thresholds := map[string]string{
			"memory.available": fmt.Sprint(n.Status.Capacity.Memory().Value() - under),
			"nodefs.available": fmt.Sprint(n.Status.Capacity.StorageEphemeral().Value() - under),
			"pid.available":    fmt.Sprint(*maxPID - 1),
		}
		By(fmt.Sprintf("restarting the kubelet on %s with evictionHard %v (just under its capacity)", target, thresholds))
		pressed := time.Now()
		setEvictionHard(ctx, host, thresholds)
		pressures := map[corev1.NodeConditionType]string{corev1.NodeMemoryPressure: daemonset.TaintMemoryPressure,
			corev1.NodeDiskPressure: daemonset.TaintDiskPressure, corev1.NodePIDPressure: daemonset.TaintPIDPressure}
		Eventually(ctx, func(g Gomega) {
			n := getNode(ctx, target)
			conds := map[corev1.NodeConditionType]corev1.ConditionStatus{}
			for cond := range pressures {
				conds[cond] = nodeCondition(n, cond)
			}
			g.Expect(kindcluster.NodeReady(n)).To(BeTrue(), "node %s should be Ready after its kubelet restarted", target)
			g.Expect(conds).To(HaveEach(corev1.ConditionTrue), "node %s: its kubelet's thresholds are above what the node has free, so it should report every pressure", target)
			for cond, taint := range pressures {
				g.Expect(n.Spec.Taints).To(ContainElement(And(HaveField("Key", taint), HaveField("Effect", corev1.TaintEffectNoSchedule))),
					"node %s reports %s=True: the node lifecycle controller should taint it %s:NoSchedule", target, cond, taint)
			}
		}).WithTimeout(timeouts.Medium).WithPolling(timeouts.Poll).Should(Succeed())
		framework.RecordLatency("pressure thresholds set → memory, disk and PID pressure taints", target, time.Since(pressed))

		ns := newNamespace(ctx, "ds-pressure")
		pinned := map[string]string{corev1.LabelHostname: target}
		// The control: an ordinary pod that may go only to that node, and tolerates
		// everything on it but the pressure taints.
		ordinary := ordinaryPod("ordinary", ns)
		ordinary.Spec.NodeSelector = pinned
		_, err := clients.Kube.CoreV1().Pods(ns).Create(ctx, ordinary, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())
		ds := createDaemonSet(ctx, ownDaemonSet("pressure-daemon", ns).WithNodeSelector(pinned).Obj())

		// Bound means spec.nodeName set (the controller leaves it to the scheduler). Not
		// the PodScheduled condition: the kubelet's admission then refuses the pod under
		// disk and PID pressure (phase Failed, reason Evicted) with a status of its own,
		// which drops that condition within a second, and the controller replaces the
		// refused pod after a growing back-off: a poll for the condition missed every
		// binding for 120 s (seen on the mixed and the default topology).
		var bound corev1.Pod
		Eventually(ctx, func(g Gomega) {
			_, _, pods := daemonset.Snapshot(ctx, g, clients.Kube, ds)
			var onTarget, seen []string
			for _, p := range pods {
				if !daemonset.OwnedBy(&p, ds.UID) {
					continue
				}
				seen = append(seen, fmt.Sprintf("%s (node %q, phase %s, reason %q)", p.Name, p.Spec.NodeName, p.Status.Phase, p.Status.Reason))
				if p.Spec.NodeName == target {
					bound = p
					onTarget = append(onTarget, p.Name)
				}
			}
			g.Expect(onTarget).NotTo(BeEmpty(), "node %s is tainted %v (NoSchedule): daemon pods tolerate them, so the scheduler should bind DaemonSet %s's pod there; its pods: %v", target, pressures, ds.Name, seen)
		}).WithTimeout(timeouts.Medium).WithPolling(timeouts.Poll).Should(Succeed())
		Eventually(ctx, func(g Gomega) {
			p, err := clients.Kube.CoreV1().Pods(ns).Get(ctx, ordinary.Name, metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(p.Status.Conditions).To(ContainElement(And(HaveField("Type", corev1.PodScheduled), HaveField("Status", corev1.ConditionFalse),
				HaveField("Reason", corev1.PodReasonUnschedulable), HaveField("Message", ContainSubstring("untolerated taint")))),
				"pod %s may only go to node %s, which is tainted for pressure: the scheduler should leave it unschedulable for an untolerated taint", p.Name, target)
			// The scheduler's message counts nodes, not taints: the taints of the node the
			// pod does not tolerate are read from the node, and they are the pressure taints.
			var untolerated []string
			for _, t := range getNode(ctx, target).Spec.Taints {
				if !slices.ContainsFunc(p.Spec.Tolerations, func(tol corev1.Toleration) bool { return daemonset.Tolerates(&tol, &t) }) {
					untolerated = append(untolerated, t.Key)
				}
			}
			g.Expect(untolerated).To(ConsistOf(daemonset.TaintMemoryPressure, daemonset.TaintDiskPressure, daemonset.TaintPIDPressure),
				"node %s: the taints pod %s does not tolerate should be the pressure taints alone", target, p.Name)
		}).WithTimeout(timeouts.Medium).WithPolling(timeouts.Poll).Should(Succeed())
		Consistently(ctx, func(g Gomega) {
			p, err := clients.Kube.CoreV1().Pods(ns).Get(ctx, ordinary.Name, metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(p.Spec.NodeName).To(BeEmpty(), "pod %s tolerates no pressure taint and must not be bound to node %s", p.Name, target)
		}).WithTimeout(timeouts.Hold).WithPolling(timeouts.HoldPoll).Should(Succeed())
		// What the kubelet does with the daemon pod it was given: under disk or PID
		// pressure its admission refuses every pod that is not critical.
		p, err := clients.Kube.CoreV1().Pods(ns).Get(ctx, bound.Name, metav1.GetOptions{})
		if err == nil {
			framework.Observe("a daemon pod bound to a node under memory, disk and PID pressure: phase %s, reason %q, message %q", p.Status.Phase, p.Status.Reason, p.Status.Message)
		}
	})

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
