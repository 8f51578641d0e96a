package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/dsconform/dsconform/framework"
	"github.com/dsconform/dsconform/framework/daemonset"
	"github.com/dsconform/dsconform/framework/diagnostics"
	"github.com/dsconform/dsconform/framework/kindcluster"
	"github.com/dsconform/dsconform/framework/node"
	"github.com/dsconform/dsconform/framework/nodeaccess"
	"github.com/dsconform/dsconform/framework/ownnode"
	"github.com/dsconform/dsconform/framework/provenance"
	"github.com/dsconform/dsconform/framework/staticpod"
)

// Helpers bind the framework to the suite's clients, tiers and run; those that Skip say so.

// newNamespace creates a namespace for the spec (stamped), deleted when it ends.
func newNamespace(ctx context.Context, base string) string {
	GinkgoHelper()
	ns := framework.CreateNamespace(ctx, clients.Kube, base, provenance.ObjectLabels(state.RunID))
	specNamespaces = append(specNamespaces, ns.Name)
	return ns.Name
}

func listNodes(ctx context.Context) []corev1.Node {
	GinkgoHelper()
	l, err := clients.Kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	Expect(err).NotTo(HaveOccurred(), "listing the nodes")
	return l.Items
}

// eligibleNodes is needNodes(ctx, 1): it may Skip.
func eligibleNodes(ctx context.Context) []string {
	GinkgoHelper()
	return needNodes(ctx, 1)
}

// needNodes lists the nodes a plain DaemonSet runs on now (node.DisturbLast's order); it
// Skips with the reason when there are fewer than n.
func needNodes(ctx context.Context, n int) []string {
	GinkgoHelper()
	return needNodesFor(ctx, newDaemonSet("plain", "default"), n)
}

// needNodesFor is needNodes for the DaemonSet b builds.
func needNodesFor(ctx context.Context, b *daemonset.Builder, n int) []string {
	GinkgoHelper()
	nodes := listNodes(ctx)
	out := daemonset.ExpectedNodes(b.Obj(), nodes)
	if len(out) < n {
		Skip(fmt.Sprintf("needs %d nodes a DaemonSet without tolerations runs on; this cluster has %d (%s)", n, len(out), strings.Join(out, ", ")))
	}
	return node.DisturbLast(out, nodes, state.RunnerNode)
}

// controlPlaneNames lists the control-plane nodes; it Skips when there are none.
func controlPlaneNames(ctx context.Context) []string {
	GinkgoHelper()
	cps := node.ControlPlanes(listNodes(ctx))
	if len(cps) == 0 {
		Skip("the cluster has no node labelled node-role.kubernetes.io/control-plane")
	}
	return cps
}

// requireNodeChanges Skips a spec that taints, labels or cordons nodes unless the cluster
// is kind or the user opted in (E2E_ALLOW_NODE_CHANGES=true).
func requireNodeChanges() {
	if !cfg.NodeChangesAllowed(state.IsKind) {
		nodeChanges.Skip()
	}
}

// requireKind Skips a spec that joins, stops or removes nodes: only kind can.
func requireKind() {
	if !state.IsKind || cluster == nil {
		Skip("joins, stops or removes nodes, which needs a kind cluster: nodes cannot be added to or removed from this cluster")
	}
}

// requireNodeAccess Skips a spec that runs commands on nodes unless there is a way onto
// them: kind's exec on a kind cluster, or agent pods the user opted into.
func requireNodeAccess() {
	if !sess.HostsReachable() {
		Skip("needs access to the nodes' hosts: the cluster under test is not a kind cluster; set E2E_NODE_ACCESS=agent to reach them through privileged agent pods (this changes files on nodes)")
	}
}

// kindHostOf is the node's host through kind's exec, never an agent pod: a spec that
// stops the node's kubelet cannot exec through the API. Changes are stamped as hostOf's.
func kindHostOf(name string) node.Host {
	GinkgoHelper()
	requireKind()
	kn, err := cluster.Node(name)
	Expect(err).NotTo(HaveOccurred(), "kind node %s", name)
	return node.Host{Node: nodeaccess.Kind(kn), Changer: nodeChanges}
}

// hostOf is the node's host, reached the configured way; every change made through it
// is stamped on the Node first. It Skips when there is no way onto the nodes.
func hostOf(ctx context.Context, name string) node.Host {
	GinkgoHelper()
	requireNodeAccess()
	h, _, err := sess.Host(ctx, name)
	Expect(err).NotTo(HaveOccurred(), "reaching node %s", name)
	return h
}

func newDaemonSet(name, ns string) *daemonset.Builder {
	return daemonset.NewBuilder(name, ns, cfg.WorkloadImage)
}

func createDaemonSet(ctx context.Context, ds *appsv1.DaemonSet) *appsv1.DaemonSet {
	GinkgoHelper()
	return daemonset.Create(ctx, clients.Kube, ds)
}

func waitForRollout(ctx context.Context, ds *appsv1.DaemonSet) *appsv1.DaemonSet {
	GinkgoHelper()
	return daemonset.WaitForRollout(ctx, daemonset.WaitForRolloutInput{Client: clients.Kube, DaemonSet: ds, Timeout: timeouts})
}

func expectPlacement(ctx context.Context, ds *appsv1.DaemonSet, want []string) {
	GinkgoHelper()
	daemonset.WaitForPlacement(ctx, daemonset.WaitForPlacementInput{Client: clients.Kube, DaemonSet: ds, Nodes: want, Timeout: timeouts})
}

// nodesWithPods is daemonset.NodesWithPods now.
func nodesWithPods(ctx context.Context, g Gomega, ds *appsv1.DaemonSet) []string {
	cur, _, pods := daemonset.Snapshot(ctx, g, clients.Kube, ds)
	return daemonset.NodesWithPods(cur, pods)
}

// daemonPods is daemonset.RunningPods now.
func daemonPods(ctx context.Context, g Gomega, ds *appsv1.DaemonSet) map[string][]corev1.Pod {
	cur, _, pods := daemonset.Snapshot(ctx, g, clients.Kube, ds)
	return daemonset.RunningPods(cur, pods)
}

func onePodOn(ctx context.Context, ds *appsv1.DaemonSet, nodeName string) corev1.Pod {
	GinkgoHelper()
	return daemonset.WaitForOnePod(ctx, clients.Kube, ds, nodeName, timeouts)
}

// expectedFor is daemonset.ExpectedNodes now.
func expectedFor(ctx context.Context, ds *appsv1.DaemonSet) []string {
	GinkgoHelper()
	return daemonset.ExpectedNodes(ds, listNodes(ctx))
}

// onNode is the node's static pod side (staticpod.On), with the kubelet's view of its
// manifest directory added to the spec's diagnostics; it Skips without node access.
func onNode(ctx context.Context, name string) staticpod.Node {
	GinkgoHelper()
	sn, err := staticpod.On(ctx, hostOf(ctx, name))
	Expect(err).NotTo(HaveOccurred())
	extraDiagnostics = append(extraDiagnostics, func(ctx context.Context, w *diagnostics.Writer) {
		w.File("kubelet-"+name+".txt", []byte(staticpod.KubeletView(ctx, sn.Node, sn.Dir)))
	})
	return sn
}

func staticPod(name, ns string, mutate ...func(*corev1.Pod)) *corev1.Pod {
	return staticpod.Pod(name, ns, cfg.WorkloadImage, mutate...)
}

func mirrorOf(ns, name, nodeName string, replacing types.UID) staticpod.WaitForMirrorInput {
	return staticpod.WaitForMirrorInput{Client: clients.Kube, Namespace: ns, Pod: name, Node: nodeName, Replacing: replacing, Timeout: timeouts}
}

// mirrorAfterReconnect is mirrorOf for a node that has just been reconnected to the API
// server: its kubelet re-establishes its connection and puts the mirror back at its next
// sync, so the wait is the KubeletSync tier (derived from the cluster's syncFrequency).
func mirrorAfterReconnect(ns, name, nodeName string, replacing types.UID) staticpod.WaitForMirrorInput {
	in := mirrorOf(ns, name, nodeName, replacing)
	in.Within = timeouts.KubeletSync
	return in
}

// startStaticPod writes a "web" static pod manifest on the first eligible node (it may
// Skip), in a new namespace, and waits for its mirror pod to run.
func startStaticPod(ctx context.Context, nsBase string) (string, staticpod.Node, *corev1.Pod) {
	GinkgoHelper()
	return startStaticPodOn(ctx, nsBase, eligibleNodes(ctx)[0])
}

// startStaticPodOn is startStaticPod on the named node.
func startStaticPodOn(ctx context.Context, nsBase, nodeName string) (string, staticpod.Node, *corev1.Pod) {
	GinkgoHelper()
	ns := newNamespace(ctx, nsBase)
	sn := onNode(ctx, nodeName)
	written := time.Now()
	sn.Write(ctx, ns+"-web.yaml", staticPod("web", ns))
	mirror := staticpod.WaitForMirror(ctx, mirrorOf(ns, "web", sn.Name, ""))
	framework.RecordLatency("manifest written → mirror pod Running", sn.Name, time.Since(written))
	return ns, sn, mirror
}

// runPod creates a bare pod meant for node nodeName and waits until it is Running.
func runPod(ctx context.Context, pod *corev1.Pod, nodeName string) {
	GinkgoHelper()
	_, err := clients.Kube.CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred(), "creating pod %s on node %s", pod.Name, nodeName)
	Eventually(ctx, func(g Gomega) {
		p, err := clients.Kube.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(p.Status.Phase).To(Equal(corev1.PodRunning), "pod %s on node %s should be Running", pod.Name, nodeName)
	}).WithTimeout(timeouts.Medium).Should(Succeed())
}

// getNode reads the Node as it is now.
func getNode(ctx context.Context, name string) *corev1.Node {
	GinkgoHelper()
	n, err := clients.Kube.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	Expect(err).NotTo(HaveOccurred(), "reading node %s", name)
	return n
}

// ownNodes is this process's node of its own (framework/ownnode), joined on first use.
var ownNodes *ownnode.Pool

// ownNodesUsed says whether specs that change one node get a node of their own: on a kind
// cluster the suite brings up, yes; on an existing cluster they use a shared worker.
func ownNodesUsed() bool { return !cfg.UseExistingCluster }

// onOwnNode decorates a spec that stops, cuts off, joins, taints or cordons one node: with
// a node of its own it runs beside the other specs; without (an existing cluster) it
// works on a shared worker and runs alone.
func onOwnNode() any {
	if ownNodesUsed() {
		return Label("own-node")
	}
	return Serial
}

// nodeOfItsOwn is the node the spec may stop, cut off, taint or cordon: this process's own
// node (joined if it has none; removed if the spec fails, so the next spec gets a fresh
// one), or on an existing cluster the first worker a plain DaemonSet runs on. It Skips
// where nodes may not be changed.
func nodeOfItsOwn(ctx context.Context) string {
	GinkgoHelper()
	requireNodeChanges()
	if !ownNodesUsed() {
		return leaveInService(ctx, needNodes(ctx, 1)[0])
	}
	requireKind()
	if ownNodes == nil {
		ownNodes = &ownnode.Pool{Proc: GinkgoParallelProcess(), Name: newWorkerName, Join: joinWorker, Remove: deleteWorker}
	}
	name, err := ownNodes.Acquire(ctx)
	Expect(err).NotTo(HaveOccurred(), "a node of the spec's own")
	DeferCleanup(func(ctx SpecContext) {
		Expect(ownNodes.Release(ctx, !CurrentSpecReport().Failed())).To(Succeed())
	}, NodeTimeout(2*time.Minute))
	// Ready, and carrying no taint but its own: the node lifecycle controller lifts the
	// not-ready (fresh node) or unreachable (a kubelet the previous spec stopped) taints
	// a moment after the node is Ready again.
	Eventually(ctx, func(g Gomega) {
		n := getNode(ctx, name)
		g.Expect(kindcluster.NodeReady(n)).To(BeTrue(), "node %s, the spec's own, should be Ready", name)
		own := ownnode.Taint(GinkgoParallelProcess())
		g.Expect(n.Spec.Taints).To(ConsistOf(And(HaveField("Key", own.Key), HaveField("Value", own.Value), HaveField("Effect", own.Effect))),
			"node %s, the spec's own, should carry its own taint alone", name)
		g.Expect(n.Spec.Unschedulable).To(BeFalse(), "node %s, the spec's own, is cordoned", name)
	}).WithTimeout(timeouts.NodeLifecycle).Should(Succeed())
	return leaveInService(ctx, name)
}

// leaveInService restores the node the spec is about to stop, cut off or taint: it is in
// service now, so it must be again (Ready, without the not-ready or unreachable taint the
// node lifecycle controller adds) before the spec ends. Otherwise the next spec, which
// takes the first eligible worker, would run on another node, or (a node of its own)
// inherit a broken one; a node of its own that fails this is removed, since the spec
// failed. Registered before the spec's changes, it runs after their undo, pass or fail.
func leaveInService(ctx context.Context, name string) string {
	GinkgoHelper()
	Expect(kindcluster.OutOfService(getNode(ctx, name))).To(Succeed(), "node %s, a worker a plain DaemonSet runs on, should be in service before the spec changes it", name)
	DeferCleanup(func(ctx SpecContext) {
		Expect(framework.Poll(ctx, timeouts.Poll, timeouts.NodeLifecycle, func() error {
			n, err := clients.Kube.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			return kindcluster.OutOfService(n)
		})).To(Succeed(), "node %s, in service before this spec changed it, should be again once the spec's changes are undone, within %v", name, timeouts.NodeLifecycle)
	}, NodeTimeout(timeouts.NodeLifecycle+timeouts.Short))
	return name
}

// anotherNodeOfItsOwn is a second node for a spec that changes two: a worker joined for
// the spec alone and removed when it ends (after nodeOfItsOwn), or on an existing cluster
// the second worker a plain DaemonSet runs on (it may Skip).
func anotherNodeOfItsOwn(ctx context.Context) string {
	GinkgoHelper()
	if !ownNodesUsed() {
		return leaveInService(ctx, needNodes(ctx, 2)[1])
	}
	name, _ := addWorker(ctx)
	return name
}

// untilControllerSees waits until the DaemonSet controller's own view of the nodes holds
// the NoSchedule taints the spec just put on them, before the spec creates a DaemonSet
// they must exclude: a DaemonSet created earlier gets a pod there that stays Pending for
// good (daemonset.WaitForNodeView). The probe it uses tolerates what ownDaemonSet does.
func untilControllerSees(ctx context.Context, ns string, nodes ...string) {
	GinkgoHelper()
	took, waited := daemonset.WaitForNodeView(ctx, daemonset.WaitForNodeViewInput{
		Client: clients.Kube, Probe: ownDaemonSet("taint-probe", ns).Obj(), Nodes: nodes, Timeout: timeouts})
	if !waited {
		return
	}
	framework.RecordLatency("NoSchedule taint → a DaemonSet created after it is counted desired on no tainted node (probe)", strings.Join(nodes, ","), took)
}

// ownDaemonSet is newDaemonSet with the toleration of this process's own nodes, when
// specs get nodes of their own.
func ownDaemonSet(name, ns string) *daemonset.Builder {
	b := newDaemonSet(name, ns)
	if ownNodesUsed() {
		b = b.WithToleration(ownnode.Toleration(GinkgoParallelProcess()))
	}
	return b
}

// nodesWithOwn lists the nodes an ownDaemonSet runs on now, own the first (the node of
// the spec's own, from nodeOfItsOwn); it Skips with the reason when there are fewer than n.
func nodesWithOwn(ctx context.Context, own string, n int) []string {
	GinkgoHelper()
	out := needNodesFor(ctx, ownDaemonSet("plain", "default"), n)
	Expect(out).To(ContainElement(own), "node %s, the spec's own, should be one a DaemonSet tolerating it runs on", own)
	return append([]string{own}, slices.DeleteFunc(out, func(s string) bool { return s == own })...)
}

// podNames is the names of the pods, in their order: what a failure message lists.
func podNames(pods []corev1.Pod) []string {
	names := make([]string, 0, len(pods))
	for _, p := range pods {
		names = append(names, p.Name)
	}
	return names
}
