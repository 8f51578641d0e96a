package e2e

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"

	"github.com/dsconform/dsconform/framework"
	"github.com/dsconform/dsconform/framework/daemonset"
	"github.com/dsconform/dsconform/framework/staticpod"
)

var _ = Describe("[sig-apps] DaemonSet placement", Label("daemonset", "placement"), func() {
	It("runs exactly one daemon pod on every eligible worker, as kubectl reports", Label("DS-PLACE-01", "quick"), func(ctx SpecContext) {
		ns := newNamespace(ctx, "ds-place")
		ds := waitForRollout(ctx, createDaemonSet(ctx, newDaemonSet("monitoring-daemon", ns).Obj()))
		workers := eligibleNodes(ctx)
		Eventually(ctx, func(g Gomega) {
			g.Expect(nodesWithPods(ctx, g, ds)).To(ConsistOf(workers), "nodes running a daemon pod of monitoring-daemon, against the eligible nodes (the control plane's taint keeps it out)")
		}).Should(Succeed())

		n := strconv.Itoa(len(workers))
		cols, err := daemonset.TableColumns(ctx, clients.Kube, ds)
		Expect(err).NotTo(HaveOccurred())
		Expect(cols).To(HaveKeyWithValue("Desired", n))
		Expect(cols).To(HaveKeyWithValue("Current", n))
		Expect(cols).To(HaveKeyWithValue("Ready", n))
		Expect(cols).To(HaveKeyWithValue("Up-to-date", n))
		Expect(cols).To(HaveKeyWithValue("Available", n))
		Expect(cols).To(HaveKeyWithValue("Node Selector", "<none>"))
	})

	It("replaces a deleted daemon pod on the same node", Label("DS-PLACE-02"), func(ctx SpecContext) {
		ns := newNamespace(ctx, "ds-replace")
		ds := waitForRollout(ctx, createDaemonSet(ctx, newDaemonSet("monitoring-daemon", ns).Obj()))
		target := eligibleNodes(ctx)[0]
		old := onePodOn(ctx, ds, target)
		Expect(clients.Kube.CoreV1().Pods(ns).Delete(ctx, old.Name, metav1.DeleteOptions{})).To(Succeed())
		Eventually(ctx, func(g Gomega) {
			pods := daemonPods(ctx, g, ds)[target]
			g.Expect(pods).To(HaveLen(1), "running daemon pods on node %s after deleting %s", target, old.Name)
			g.Expect(pods[0].UID).NotTo(Equal(old.UID), "the pod on node %s is still the deleted one", target)
		}).Should(Succeed())
		waitForRollout(ctx, ds)
	})

	It("replaces a daemon pod that failed", Label("DS-PLACE-03"), func(ctx SpecContext) {
		expectReplacedAfterPhase(ctx, "ds-failed", corev1.PodFailed, false)
	})

	It("replaces a daemon pod that succeeded, also while a finalizer holds the finished pod", Label("DS-PLACE-04"), func(ctx SpecContext) {
		expectReplacedAfterPhase(ctx, "ds-succeeded", corev1.PodSucceeded, false)
		By("again with a finalizer on the pod: the controller deletes it, the finalizer keeps it, and a replacement runs beside it")
		expectReplacedAfterPhase(ctx, "ds-succeeded-held", corev1.PodSucceeded, true)
	})

	It("has the kubelet restart a daemon pod's crashed container in place: the same pod, no new one from the controller", Label("DS-PLACE-05", "node-access"), func(ctx SpecContext) {
		ns := newNamespace(ctx, "ds-crash")
		ds := waitForRollout(ctx, createDaemonSet(ctx, newDaemonSet("monitoring-daemon", ns).Obj()))
		target := eligibleNodes(ctx)[0]
		h := hostOf(ctx, target)
		pod := onePodOn(ctx, ds, target)
		old := pod.Status.ContainerStatuses[0]
		killed := time.Now()
		Expect(staticpod.KillContainer(ctx, h.Node, old.ContainerID)).To(Succeed(), "killing daemon pod %s's container", pod.Name)
		Eventually(ctx, func(g Gomega) {
			p, err := clients.Kube.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred(), "daemon pod %s on node %s: a crashed container is restarted in place, the pod stays", pod.Name, target)
			g.Expect(p.DeletionTimestamp).To(BeNil(), "daemon pod %s on node %s must not be deleted for a crash", pod.Name, target)
			c := p.Status.ContainerStatuses[0]
			g.Expect(c.RestartCount).To(Equal(old.RestartCount+1), "daemon pod %s on node %s: restartCount after one kill", pod.Name, target)
			g.Expect(c.ContainerID).NotTo(Equal(old.ContainerID), "daemon pod %s on node %s should run in a new container", pod.Name, target)
			g.Expect(c.LastTerminationState.Terminated).NotTo(BeNil(), "daemon pod %s on node %s: the killed container's termination", pod.Name, target)
			g.Expect(c.LastTerminationState.Terminated.ExitCode).To(BeEquivalentTo(137), "daemon pod %s on node %s was killed with SIGKILL", pod.Name, target)
			g.Expect(c.Ready).To(BeTrue(), "daemon pod %s on node %s should be ready again", pod.Name, target)
		}).WithTimeout(timeouts.Medium).Should(Succeed())
		framework.RecordLatency("daemon pod's process killed → container restarted and ready", target, time.Since(killed))
		Expect(onePodOn(ctx, ds, target).UID).To(Equal(pod.UID), "node %s: the DaemonSet keeps its pod; only the kubelet acted", target)
		waitForRollout(ctx, ds)
	})

	It("runs its pod only on the node its template names (spec.nodeName), and nowhere when that node does not exist", Label("DS-SEL-07"), func(ctx SpecContext) {
		workers := needNodes(ctx, 2) // one named, one that must stay without a pod
		ns := newNamespace(ctx, "ds-nodename")
		named := newDaemonSet("monitoring-daemon", ns).Obj()
		named.Spec.Template.Spec.NodeName = workers[0]
		ds := createDaemonSet(ctx, named)
		expectPlacement(ctx, ds, []string{workers[0]})

		missing := newDaemonSet("nowhere-daemon", ns).Obj()
		missing.Spec.Template.Spec.NodeName = "dsconform-no-such-node"
		nowhere := createDaemonSet(ctx, missing)
		waitForObservedGeneration(ctx, nowhere)
		Consistently(ctx, func(g Gomega) {
			cur, _, _ := daemonset.Snapshot(ctx, g, clients.Kube, nowhere)
			g.Expect(cur.Status.DesiredNumberScheduled).To(BeZero(), "DaemonSet %s names node %s, which does not exist: no node should be desired", cur.Name, missing.Spec.Template.Spec.NodeName)
			g.Expect(ownedPods(ctx, g, ns, cur.UID)).To(BeEmpty(), "DaemonSet %s names a node that does not exist: it should create no pod", cur.Name)
			g.Expect(nodesWithPods(ctx, g, ds)).To(Equal([]string{workers[0]}), "DaemonSet %s names node %s: nodes running its pods", ds.Name, workers[0])
		}).WithTimeout(timeouts.Hold).WithPolling(timeouts.HoldPoll).Should(Succeed())
	})
})

var _ = Describe("[sig-apps] DaemonSet and the control plane", Label("daemonset", "control-plane"), func() {
	It("runs no daemon pod on the control-plane node without a toleration", Label("DS-CP-01"), func(ctx SpecContext) {
		cp := controlPlaneNames(ctx)[0]
		ns := newNamespace(ctx, "ds-cp-none")
		ds := waitForRollout(ctx, createDaemonSet(ctx, newDaemonSet("monitoring-daemon", ns).Obj()))
		skipIfControlPlaneUntainted(ctx, cp, ds)
		Consistently(ctx, func(g Gomega) {
			g.Expect(daemonPods(ctx, g, ds)[cp]).To(BeEmpty(), "daemon pods on control-plane node %s", cp)
		}).WithTimeout(timeouts.Hold).WithPolling(timeouts.HoldPoll).Should(Succeed())
	})

	It("runs a daemon pod on the control-plane node when the DaemonSet tolerates its taint", Label("DS-CP-02"), func(ctx SpecContext) {
		ns := newNamespace(ctx, "ds-cp-tol")
		obj := newDaemonSet("monitoring-daemon", ns).WithToleration(corev1.Toleration{
			Key: daemonset.TaintControlPlane, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}).Obj()
		want := expectedFor(ctx, obj)
		var cps []string // every control-plane node the toleration makes eligible (several in an HA cluster)
		for _, cp := range controlPlaneNames(ctx) {
			if slices.Contains(want, cp) {
				cps = append(cps, cp)
			}
		}
		if len(cps) == 0 {
			Skip("no control-plane node becomes eligible with the control-plane toleration alone (they carry other taints or labels): nothing to prove here")
		}
		ds := waitForRollout(ctx, createDaemonSet(ctx, obj))
		expectPlacement(ctx, ds, want)
		Expect(nodesWithPods(ctx, Default, ds)).To(ContainElements(cps), "every control-plane node tolerated this way runs a daemon pod")
		for _, cp := range cps {
			skipIfControlPlaneUntainted(ctx, cp, ds)
		}
	})

	It("does not reach a modern control plane with a toleration for the legacy master taint alone", Label("DS-CP-03"), func(ctx SpecContext) {
		cp := controlPlaneNames(ctx)[0]
		n, err := clients.Kube.CoreV1().Nodes().Get(ctx, cp, metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred())
		Expect(n.Spec.Taints).NotTo(ContainElement(HaveField("Key", daemonset.TaintLegacyMaster)),
			"control-plane node %s must no longer carry the legacy %s taint (removed in v1.25)", cp, daemonset.TaintLegacyMaster)
		ns := newNamespace(ctx, "ds-cp-legacy")
		ds := waitForRollout(ctx, createDaemonSet(ctx, newDaemonSet("monitoring-daemon", ns).WithToleration(corev1.Toleration{
			Key: daemonset.TaintLegacyMaster, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}).Obj()))
		skipIfControlPlaneUntainted(ctx, cp, ds)
		Consistently(ctx, func(g Gomega) {
			g.Expect(daemonPods(ctx, g, ds)[cp]).To(BeEmpty(),
				"control-plane node %s is tainted %s, not %s: a DaemonSet tolerating only the legacy key must not run there; update old manifests to tolerate %s",
				cp, daemonset.TaintControlPlane, daemonset.TaintLegacyMaster, daemonset.TaintControlPlane)
		}).WithTimeout(timeouts.Hold).WithPolling(timeouts.HoldPoll).Should(Succeed())
	})

	It("runs the cluster's own DaemonSets (kube-proxy, the pod network) on every node", Label("DS-CP-04", "quick"), Serial, func(ctx SpecContext) {
		nodes := listNodes(ctx)
		dss, err := clients.Kube.AppsV1().DaemonSets("kube-system").List(ctx, metav1.ListOptions{})
		Expect(err).NotTo(HaveOccurred())
		var names, network []string
		for i := range dss.Items {
			names = append(names, dss.Items[i].Name)
			if isPodNetworkAgent(&dss.Items[i].Spec.Template.Spec) {
				network = append(network, dss.Items[i].Name)
			}
		}
		Expect(names).To(ContainElement("kube-proxy"), "DaemonSets in kube-system")
		Expect(network).NotTo(BeEmpty(), "kube-system should run a pod network DaemonSet (host network, CNI directories mounted from the host); its DaemonSets are %v", names)
		By(fmt.Sprintf("pod network DaemonSet(s): %v", network))
		for i := range dss.Items {
			ds := &dss.Items[i]
			By(fmt.Sprintf("checking %s covers all %d nodes", ds.Name, len(nodes)))
			Eventually(ctx, func(g Gomega) {
				cur, nodes, pods := daemonset.Snapshot(ctx, g, clients.Kube, ds)
				g.Expect(daemonset.CheckRollout(cur, nodes, pods)).To(Succeed())
				g.Expect(cur.Status.DesiredNumberScheduled).To(BeEquivalentTo(len(nodes)), "DaemonSet kube-system/%s should cover every node", ds.Name)
				// The NODE SELECTOR and SELECTOR columns of `kubectl get daemonset -o wide`:
				// every node satisfies the first, and the second finds exactly the pods the
				// DaemonSet owns, one per node.
				for _, n := range nodes {
					g.Expect(labels.SelectorFromSet(cur.Spec.Template.Spec.NodeSelector).Matches(labels.Set(n.Labels))).To(BeTrue(),
						"node %s runs a pod of kube-system/%s, so it should carry its NODE SELECTOR %v", n.Name, ds.Name, cur.Spec.Template.Spec.NodeSelector)
				}
				sel, err := metav1.LabelSelectorAsSelector(cur.Spec.Selector)
				g.Expect(err).NotTo(HaveOccurred())
				var selected, owned []string
				for _, p := range pods {
					if p.DeletionTimestamp == nil && sel.Matches(labels.Set(p.Labels)) {
						selected = append(selected, p.Name)
					}
					if daemonset.OwnedBy(&p, cur.UID) && p.DeletionTimestamp == nil {
						owned = append(owned, p.Name)
					}
				}
				g.Expect(selected).To(ConsistOf(owned), "the SELECTOR %s of kube-system/%s should find exactly the pods it owns", sel, ds.Name)
				g.Expect(owned).To(HaveLen(len(nodes)), "kube-system/%s should own one pod per node", ds.Name)
			}).Should(Succeed())
			framework.Observe("kube-system/%s: NODE SELECTOR %s, SELECTOR %s", ds.Name, orNone(labels.Set(ds.Spec.Template.Spec.NodeSelector).String()), metav1.FormatLabelSelector(ds.Spec.Selector))
		}
	})
})

// isPodNetworkAgent: a pod network plugin's agent runs in the host's network and
// mounts the host's CNI configuration or plugin directory.
func isPodNetworkAgent(spec *corev1.PodSpec) bool {
	if !spec.HostNetwork {
		return false
	}
	for _, v := range spec.Volumes {
		if v.HostPath != nil && (strings.HasPrefix(v.HostPath.Path, "/etc/cni") || strings.HasPrefix(v.HostPath.Path, "/opt/cni")) {
			return true
		}
	}
	return false
}

// skipIfControlPlaneUntainted is the precondition of the control-plane taint specs. A
// control plane without the taint is a legitimate cluster, not a broken one: what still
// holds there (the rolled-out DaemonSet placed exactly as the live nodes say, which
// CheckRollout has proven, and a pod on that control plane when it is eligible) is
// asserted, then the spec is skipped, saying what it could not prove.
func skipIfControlPlaneUntainted(ctx SpecContext, cp string, ds *appsv1.DaemonSet) {
	GinkgoHelper()
	n, err := clients.Kube.CoreV1().Nodes().Get(ctx, cp, metav1.GetOptions{})
	Expect(err).NotTo(HaveOccurred())
	if slices.ContainsFunc(n.Spec.Taints, func(t corev1.Taint) bool {
		return t.Key == daemonset.TaintControlPlane && t.Effect == corev1.TaintEffectNoSchedule
	}) {
		return
	}
	if slices.Contains(expectedFor(ctx, ds), cp) {
		Expect(nodesWithPods(ctx, Default, ds)).To(ContainElement(cp), "control-plane node %s has no %s taint, so it is eligible and must run a daemon pod", cp, daemonset.TaintControlPlane)
	}
	Skip(fmt.Sprintf("control-plane node %s carries no %s:NoSchedule taint (taints: %v): what an untainted control plane implies was asserted; what the taint does is not proven on this cluster",
		cp, daemonset.TaintControlPlane, n.Spec.Taints))
}

// expectReplacedAfterPhase puts one daemon pod into a terminal phase through the status
// subresource and expects the controller to delete it and run a new pod on its node.
func expectReplacedAfterPhase(ctx SpecContext, nsBase string, phase corev1.PodPhase, held bool) {
	GinkgoHelper()
	ns := newNamespace(ctx, nsBase)
	ds := waitForRollout(ctx, createDaemonSet(ctx, newDaemonSet("monitoring-daemon", ns).Obj()))
	target := eligibleNodes(ctx)[0]
	pod := onePodOn(ctx, ds, target)
	const finalizer = "dsconform.e2e/hold"
	if held {
		patch := fmt.Sprintf(`{"metadata":{"finalizers":[%q]}}`, finalizer)
		_, err := clients.Kube.CoreV1().Pods(ns).Patch(ctx, pod.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
		Expect(err).NotTo(HaveOccurred(), "adding finalizer %s to pod %s", finalizer, pod.Name)
		DeferCleanup(func(ctx context.Context) {
			_, err := clients.Kube.CoreV1().Pods(ns).Patch(ctx, pod.Name, types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
			if err != nil && !apierrors.IsNotFound(err) {
				Expect(err).NotTo(HaveOccurred(), "removing finalizer %s from pod %s", finalizer, pod.Name)
			}
		})
	}
	// the kubelet writes this status too: a conflict is retried on a fresh copy
	Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := clients.Kube.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		cur.Status.Phase = phase
		_, err = clients.Kube.CoreV1().Pods(ns).UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		return err
	})).To(Succeed(), "setting pod %s to %s", pod.Name, phase)
	Eventually(ctx, func(g Gomega) {
		cur, err := clients.Kube.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{})
		if held {
			g.Expect(err).NotTo(HaveOccurred(), "pod %s carries finalizer %s: it must stay until the finalizer goes", pod.Name, finalizer)
			g.Expect(cur.DeletionTimestamp).NotTo(BeNil(), "the %s pod %s on node %s should be deleted by the controller (the finalizer keeps the object)", phase, pod.Name, target)
		} else {
			g.Expect(err).To(MatchError(ContainSubstring("not found")), "the %s pod %s on node %s should be deleted", phase, pod.Name, target)
		}
		pods := daemonPods(ctx, g, ds)[target]
		g.Expect(pods).To(HaveLen(1), "running daemon pods on node %s after pod %s turned %s", target, pod.Name, phase)
		g.Expect(pods[0].UID).NotTo(Equal(pod.UID), "node %s: the running daemon pod must be the replacement of %s", target, pod.Name)
	}).WithTimeout(timeouts.Medium).Should(Succeed())
	waitForRollout(ctx, ds)
}

// orNone is how kubectl shows an empty column.
func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}
