package e2e

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/dsconform/dsconform/framework"
	"github.com/dsconform/dsconform/framework/daemonset"
	"github.com/dsconform/dsconform/framework/kindcluster"
	"github.com/dsconform/dsconform/framework/ownnode"
)

var addedNodes atomic.Int32

// newWorkerName names a node this process joins; names are never reused.
func newWorkerName() string {
	return fmt.Sprintf("%s-e2e-%d-%d", cluster.Name, GinkgoParallelProcess(), addedNodes.Add(1))
}

// addWorker joins a new kind worker of the spec's own (with nodes of their own, it
// registers with the process's own-node taint besides the taints given) and waits until
// it is Ready. Its removal (Node object and container) is registered first, so a failed
// join or spec still leaves the topology as it was found.
func addWorker(ctx context.Context, taints ...string) (string, time.Time) {
	GinkgoHelper()
	name := newWorkerName()
	DeferCleanup(func(ctx SpecContext) { removeWorker(ctx, name) }, NodeTimeout(2*time.Minute))
	if ownNodesUsed() {
		taints = append([]string{ownnode.TaintArg(GinkgoParallelProcess())}, taints...)
	}
	joined := time.Now()
	Expect(joinWorker(ctx, name, taints)).To(Succeed())
	framework.RecordLatency("kind node join → node Ready", name, time.Since(joined))
	return name, time.Now()
}

// joinWorker joins a kind worker with exactly the taints given, loads the workload image
// and returns once the node is Ready, without its not-ready taints, and has its Lease.
func joinWorker(ctx context.Context, name string, taints []string) error {
	if err := cluster.AddWorker(ctx, kindcluster.AddWorkerInput{Name: name, Run: state.RunID, Taints: taints}); err != nil {
		return fmt.Errorf("joining node %s: %w", name, err)
	}
	if err := cluster.LoadImageOn(cfg.WorkloadImage, name); err != nil {
		return err
	}
	return framework.Poll(ctx, timeouts.Poll, timeouts.NodeLifecycle, func() error {
		n, err := clients.Kube.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("node %s has not registered: %w", name, err)
		}
		if err := kindcluster.OutOfService(n); err != nil {
			return err
		}
		// the kubelet creates its node Lease a moment after it registers
		if _, err := clients.Kube.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, name, metav1.GetOptions{}); err != nil {
			return fmt.Errorf("node %s has no Lease yet: %w", name, err)
		}
		return nil
	})
}

// expectStaysForGood checks the pod tolerates every NoExecute taint its node carries now
// without tolerationSeconds: the taint manager will never evict it for them.
func expectStaysForGood(ctx context.Context, ns, pod, nodeName string) {
	GinkgoHelper()
	p, err := clients.Kube.CoreV1().Pods(ns).Get(ctx, pod, metav1.GetOptions{})
	Expect(err).NotTo(HaveOccurred())
	n, err := clients.Kube.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{})
	Expect(err).NotTo(HaveOccurred())
	Expect(daemonset.UnboundedNoExecute(p, n.Spec.Taints)).To(Succeed(), "node %s carries %v", nodeName, n.Spec.Taints)
}

// expectedWithJoined is where the DaemonSet must run once node name joined, from the
// nodes as they registered; the joined node must be among them (it joins with only the
// taints the spec asks for, none copied from the worker whose configuration it reuses).
func expectedWithJoined(ctx context.Context, ds *appsv1.DaemonSet, name string) []string {
	GinkgoHelper()
	cur, err := clients.Kube.AppsV1().DaemonSets(ds.Namespace).Get(ctx, ds.Name, metav1.GetOptions{})
	Expect(err).NotTo(HaveOccurred())
	want := expectedFor(ctx, cur)
	n, err := clients.Kube.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	Expect(err).NotTo(HaveOccurred())
	Expect(want).To(ContainElement(name), "joined node %s should be eligible for %s/%s; it registered with taints %v and labels %v",
		name, ds.Namespace, ds.Name, n.Spec.Taints, n.Labels)
	return want
}

// removeWorker deletes the Node object (no drain) and the node container.
func removeWorker(ctx context.Context, name string) {
	GinkgoHelper()
	Expect(deleteWorker(ctx, name)).To(Succeed())
}

// deleteWorker removes a joined node: its machine first, so that no kubelet is left to
// register the Node again (one restarted a moment before, as SP-EVICT-01's cleanup does,
// is still registering), then its Node object.
func deleteWorker(ctx context.Context, name string) error {
	if err := cluster.RemoveNode(ctx, name); err != nil {
		return fmt.Errorf("removing node container %s: %w", name, err)
	}
	err := clients.Kube.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting Node %s: %w", name, err)
	}
	return nil
}

var _ = Describe("[sig-apps] DaemonSet as nodes join and leave", Label("daemonset", "node-lifecycle", "disruptive", "node-access"), func() {
	BeforeEach(func() {
		requireKind()
		requireNodeChanges()
	})

	It("adds a daemon pod to a node that joins and garbage-collects it when the node is removed", Label("DS-NODE-01"), onOwnNode(), longestFirst, func(ctx SpecContext) {
		ns := newNamespace(ctx, "ds-nodeadd")
		ds := waitForRollout(ctx, createDaemonSet(ctx, ownDaemonSet("monitoring-daemon", ns).Obj()))
		workers := expectedFor(ctx, ds)

		name, ready := addWorker(ctx)
		expectPlacement(ctx, ds, expectedWithJoined(ctx, ds, name))
		framework.RecordLatency("node Ready → daemon pod Running", name, time.Since(ready))
		podOnNew := onePodOn(ctx, ds, name)

		removed := time.Now()
		removeWorker(ctx, name)
		expectGarbageCollected(ctx, podOnNew, removed)
		expectPlacement(ctx, ds, workers)
	})

	It("keeps the daemon pod of a node whose machine stops until the Node is deleted, then garbage-collects it", Label("DS-NODE-04"), onOwnNode(), longestFirst, func(ctx SpecContext) {
		ns := newNamespace(ctx, "ds-nodestop")
		ds := waitForRollout(ctx, createDaemonSet(ctx, ownDaemonSet("monitoring-daemon", ns).Obj()))
		workers := expectedFor(ctx, ds)
		name, _ := addWorker(ctx)
		expectPlacement(ctx, ds, expectedWithJoined(ctx, ds, name))
		podOnNew := onePodOn(ctx, ds, name)

		By("a control pod on " + name + " that tolerates not-ready and unreachable for 1 s only")
		control := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "control", Namespace: ns},
			Spec: *newDaemonSet("control", ns).Obj().Spec.Template.Spec.DeepCopy()}
		control.Spec.NodeName = name
		one := int64(1)
		for _, key := range []string{corev1.TaintNodeNotReady, corev1.TaintNodeUnreachable} {
			control.Spec.Tolerations = append(control.Spec.Tolerations, corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &one})
		}
		runPod(ctx, control, name)

		By("stopping node container " + name)
		Expect(cluster.StopNode(ctx, name)).To(Succeed())
		Eventually(ctx, func(g Gomega) {
			n, err := clients.Kube.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(kindcluster.NodeReady(n)).To(BeFalse(), "node %s should go NotReady once its container stops, within %v (the cluster's node-monitor-grace-period, two monitor periods and a margin)", name, timeouts.NodeNotReady)
		}).WithTimeout(timeouts.NodeNotReady).Should(Succeed())
		By("the control pod is evicted: the node's NoExecute taint is in force")
		Eventually(ctx, func(g Gomega) {
			p, err := clients.Kube.CoreV1().Pods(ns).Get(ctx, control.Name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(p.DeletionTimestamp).NotTo(BeNil(), "control pod on stopped node %s (tolerating not-ready and unreachable for 1 s) should be evicted", name)
		}).WithTimeout(timeouts.Long).Should(Succeed())
		By("throughout a window after that eviction, the daemon pod stays")
		Consistently(ctx, func(g Gomega) {
			p, err := clients.Kube.CoreV1().Pods(ns).Get(ctx, podOnNew.Name, metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred(), "the daemon pod of NotReady node %s should still exist", name)
			g.Expect(p.DeletionTimestamp).To(BeNil(), "daemon pod %s tolerates not-ready/unreachable and must not be evicted from node %s (tolerations: %v)", p.Name, name, p.Spec.Tolerations)
		}).WithTimeout(timeouts.Hold).WithPolling(timeouts.HoldPoll).Should(Succeed())
		// The window cannot outlast a bounded toleration (300 s would pass it): that it
		// stays for good follows from its tolerating every NoExecute taint on the node
		// without tolerationSeconds, checked against the taints the node really carries.
		expectStaysForGood(ctx, ns, podOnNew.Name, name)

		By("deleting the Node object " + name)
		deleted := time.Now()
		Expect(clients.Kube.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{})).To(Succeed())
		expectGarbageCollected(ctx, podOnNew, deleted)
		expectPlacement(ctx, ds, workers)
	})

	It("gives a node that joins tainted no daemon pod until the DaemonSet tolerates the taint", Label("DS-NODE-02"), onOwnNode(), func(ctx SpecContext) {
		ns := newNamespace(ctx, "ds-nodetaint")
		ds := waitForRollout(ctx, createDaemonSet(ctx, ownDaemonSet("monitoring-daemon", ns).Obj()))
		workers := expectedFor(ctx, ds)
		name, _ := addWorker(ctx, "dsconform.e2e/new=yes:NoSchedule")
		Expect(expectedFor(ctx, ds)).NotTo(ContainElement(name), "node %s joined tainted dsconform.e2e/new=yes:NoSchedule: DaemonSet %s, tolerating only %v, must not count it eligible (or the node registered without its taint)",
			name, ds.Name, ds.Spec.Template.Spec.Tolerations)
		expectPlacement(ctx, ds, workers)
		Consistently(ctx, func(g Gomega) {
			g.Expect(daemonPods(ctx, g, ds)).NotTo(HaveKey(name), "node %s joined tainted dsconform.e2e/new=yes:NoSchedule", name)
		}).WithTimeout(timeouts.Hold).WithPolling(timeouts.HoldPoll).Should(Succeed())

		tolerate(ctx, ds, corev1.Toleration{Key: "dsconform.e2e/new", Operator: corev1.TolerationOpEqual, Value: "yes", Effect: corev1.TaintEffectNoSchedule})
		expectPlacement(ctx, ds, expectedWithJoined(ctx, ds, name))
	})

	It("keeps the daemon pod on an unreachable node while a pod with a short tolerationSeconds is evicted, and recovers", Label("DS-NODE-03"), onOwnNode(), longestFirst, func(ctx SpecContext) {
		target := nodeOfItsOwn(ctx)
		ns := newNamespace(ctx, "ds-nodefail")
		ds := waitForRollout(ctx, createDaemonSet(ctx, ownDaemonSet("monitoring-daemon", ns).Obj()))
		dsPod := onePodOn(ctx, ds, target)
		short := int64(5)
		plain := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "plain", Namespace: ns}, Spec: corev1.PodSpec{NodeName: target,
			Containers: []corev1.Container{{Name: "c", Image: cfg.WorkloadImage, Args: []string{"sleep"}}},
			Tolerations: []corev1.Toleration{{Key: daemonset.TaintUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &short},
				{Key: daemonset.TaintNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &short}}}}
		runPod(ctx, plain, target)

		By("stopping the kubelet on " + target + ": the node stops reporting")
		h := kindHostOf(target)
		stopped := time.Now()
		h.StopService(ctx, "kubelet")

		Eventually(ctx, func(g Gomega) {
			node, err := clients.Kube.CoreV1().Nodes().Get(ctx, target, metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(node.Spec.Taints).To(ContainElement(And(HaveField("Key", daemonset.TaintUnreachable), HaveField("Effect", corev1.TaintEffectNoExecute))),
				"node %s should be tainted unreachable:NoExecute once its kubelet stops reporting, within %v (the cluster's node-monitor-grace-period, two monitor periods and a margin)", target, timeouts.NodeNotReady)
		}).WithTimeout(timeouts.NodeNotReady).Should(Succeed())
		framework.RecordLatency("kubelet stopped → unreachable:NoExecute taint", target, time.Since(stopped))

		Eventually(ctx, func(g Gomega) {
			p, err := clients.Kube.CoreV1().Pods(ns).Get(ctx, plain.Name, metav1.GetOptions{})
			if err == nil {
				g.Expect(p.DeletionTimestamp).NotTo(BeNil(), "plain pod on unreachable node %s tolerates unreachable for only %ds: it should be evicted", target, short)
			}
		}).WithTimeout(timeouts.Medium).Should(Succeed())
		p, err := clients.Kube.CoreV1().Pods(ns).Get(ctx, dsPod.Name, metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred(), "the daemon pod on unreachable node %s must not be evicted", target)
		Expect(p.DeletionTimestamp).To(BeNil(), "daemon pod %s on unreachable node %s tolerates unreachable:NoExecute by default and must stay", p.Name, target)
		expectStaysForGood(ctx, ns, dsPod.Name, target)

		// Upstream's integration test (TestNotReadyNodeDaemonDoesLaunchPod) runs no node
		// lifecycle controller; on a real cluster the unreachable node also carries
		// unreachable:NoSchedule, which the controller's own tolerations do not cover.
		By("creating a second DaemonSet while " + target + " is unreachable: it starts no pod there")
		late := waitForRollout(ctx, createDaemonSet(ctx, ownDaemonSet("late-daemon", ns).Obj()))
		Expect(expectedFor(ctx, late)).NotTo(ContainElement(target), "node %s is unreachable and tainted unreachable:NoSchedule, which a daemon pod does not tolerate by default", target)
		Consistently(ctx, func(g Gomega) {
			g.Expect(daemonPods(ctx, g, late)).NotTo(HaveKey(target), "a new DaemonSet must start no pod on unreachable node %s", target)
		}).WithTimeout(timeouts.Hold).WithPolling(timeouts.HoldPoll).Should(Succeed())
		framework.Observe("a DaemonSet created while node %s was unreachable started no pod there until it returned (upstream's integration test, without a node lifecycle controller, expects one on a NotReady node)", target)

		By("starting the kubelet again")
		h.StartService(ctx, "kubelet")
		Eventually(ctx, func(g Gomega) {
			node, err := clients.Kube.CoreV1().Nodes().Get(ctx, target, metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(kindcluster.NodeReady(node)).To(BeTrue(), "node %s should be Ready again", target)
		}).WithTimeout(timeouts.Long).Should(Succeed())
		waitForRollout(ctx, ds)
		after := onePodOn(ctx, ds, target)
		Expect(after.UID).To(Equal(dsPod.UID), "the daemon pod on %s should have ridden out the outage", target)
		Expect(after.Status.ContainerStatuses).To(HaveLen(1))
		Expect(after.Status.ContainerStatuses[0].ContainerID).To(Equal(dsPod.Status.ContainerStatuses[0].ContainerID), "the kubelet's restart on %s must not restart the daemon pod's container", target)
		Expect(after.Status.ContainerStatuses[0].RestartCount).To(BeZero(), "restartCount of the daemon pod's container on %s after the kubelet's restart", target)
		By("the second DaemonSet gets its pod on " + target + " once the node is reachable again")
		expectPlacement(ctx, late, expectedFor(ctx, late))
		Expect(expectedFor(ctx, late)).To(ContainElement(target), "node %s is Ready and untainted again", target)
	})
})

// expectGarbageCollected waits until the pod of a removed node is gone and records
// how long that took since the node was removed.
func expectGarbageCollected(ctx context.Context, pod corev1.Pod, removed time.Time) {
	GinkgoHelper()
	Eventually(ctx, func(g Gomega) {
		_, err := clients.Kube.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "pod %s of removed node %s should be garbage-collected (get: %v)", pod.Name, pod.Spec.NodeName, err)
	}).WithTimeout(timeouts.Long).Should(Succeed())
	framework.RecordLatency("node removed → daemon pod garbage-collected", pod.Spec.NodeName, time.Since(removed))
}

// tolerate adds a toleration to the DaemonSet's template, keeping the ones it has (a
// patch of the list would replace it: tolerations have no merge key).
func tolerate(ctx context.Context, ds *appsv1.DaemonSet, t corev1.Toleration) {
	GinkgoHelper()
	setTolerations(ctx, ds, func(ts []corev1.Toleration) []corev1.Toleration { return append(ts, t) })
}

// setTolerations rewrites the DaemonSet's template tolerations, retrying on a conflict.
func setTolerations(ctx context.Context, ds *appsv1.DaemonSet, edit func([]corev1.Toleration) []corev1.Toleration) {
	GinkgoHelper()
	Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := clients.Kube.AppsV1().DaemonSets(ds.Namespace).Get(ctx, ds.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		cur.Spec.Template.Spec.Tolerations = edit(cur.Spec.Template.Spec.Tolerations)
		_, err = clients.Kube.AppsV1().DaemonSets(ds.Namespace).Update(ctx, cur, metav1.UpdateOptions{})
		return err
	})).To(Succeed(), "updating the tolerations of DaemonSet %s", ds.Name)
}
