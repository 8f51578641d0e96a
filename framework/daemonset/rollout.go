package daemonset

import (
	"context"
	"fmt"
	"sort"
	"strings"

	. "github.com/onsi/ginkgo/v2" //nolint:revive
	. "github.com/onsi/gomega"    //nolint:revive
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/dsconform/dsconform/framework"
)

// Placement is what the rollout check found, node by node.
type Placement struct {
	Expected []string            // nodes that must run exactly one daemon pod
	Pods     map[string][]string // node -> running, non-terminating daemon pods on it
}

// ExpectedNodes applies the eligibility predicate to every node and returns, sorted,
// the nodes the controller wants a daemon pod on (its desiredNumberScheduled).
func ExpectedNodes(ds *appsv1.DaemonSet, nodes []corev1.Node) []string {
	var out []string
	for i := range nodes {
		if Eligible(&nodes[i], &ds.Spec.Template).ShouldRun {
			out = append(out, nodes[i].Name)
		}
	}
	sort.Strings(out)
	return out
}

// KeptNodes returns, sorted, the nodes that would get no new daemon pod but keep the
// one they run (a NoSchedule taint added after the pod started): the controller
// leaves those pods alone, does not count them as desired, and reports them in
// status.numberMisscheduled.
func KeptNodes(ds *appsv1.DaemonSet, nodes []corev1.Node, podsByNode map[string][]string) []string {
	var out []string
	for i := range nodes {
		d := Eligible(&nodes[i], &ds.Spec.Template)
		if !d.ShouldRun && d.ShouldContinueRunning && len(podsByNode[nodes[i].Name]) > 0 {
			out = append(out, nodes[i].Name)
		}
	}
	sort.Strings(out)
	return out
}

// RequiredTerms is the pod's required node affinity terms (none when it has none).
func RequiredTerms(spec *corev1.PodSpec) []corev1.NodeSelectorTerm {
	a := spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return nil
	}
	return a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
}

// PreferredTerms is the pod's preferred node affinity terms (none when it has none).
func PreferredTerms(spec *corev1.PodSpec) []corev1.PreferredSchedulingTerm {
	if a := spec.Affinity; a != nil && a.NodeAffinity != nil {
		return a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution
	}
	return nil
}

// PinnedNode is the node a daemon pod is pinned to by the controller's required node
// affinity (matchFields metadata.name In [node]), or "" when it carries no such pin.
func PinnedNode(pod *corev1.Pod) string {
	for _, t := range RequiredTerms(&pod.Spec) {
		for _, f := range t.MatchFields {
			if f.Key == "metadata.name" && f.Operator == corev1.NodeSelectorOpIn && len(f.Values) == 1 {
				return f.Values[0]
			}
		}
	}
	return ""
}

// OwnedBy reports whether the DaemonSet with uid is the pod's controller.
func OwnedBy(pod *corev1.Pod, uid types.UID) bool {
	ref := metav1.GetControllerOf(pod)
	return ref != nil && ref.UID == uid
}

// CheckRollout is the one definition of "rolled out" every spec shares. It returns
// nil, or an error naming each node that misses a pod or has one too many and each
// status field that disagrees.
func CheckRollout(ds *appsv1.DaemonSet, nodes []corev1.Node, pods []corev1.Pod) error {
	byNode := RunningPodsByNode(ds, pods)
	expected := ExpectedNodes(ds, nodes)
	kept := KeptNodes(ds, nodes, byNode)
	want := map[string]bool{}
	for _, n := range append(append([]string{}, expected...), kept...) {
		want[n] = true
	}
	var problems []string
	var missing, extra, doubled []string
	for _, n := range expected {
		switch c := len(byNode[n]); {
		case c == 0:
			missing = append(missing, n)
		case c > 1:
			doubled = append(doubled, fmt.Sprintf("%s (%s)", n, strings.Join(byNode[n], ", ")))
		}
	}
	for n, p := range byNode {
		if !want[n] {
			extra = append(extra, fmt.Sprintf("%s (%s: %s)", n, strings.Join(p, ", "), whyNot(n, nodes, ds)))
		}
	}
	sort.Strings(extra)
	// A pod waiting for a node the DaemonSet should not run on: the controller chose the
	// node from a view that lacked a NoSchedule taint (or a fault made it ignore one), and
	// it keeps such a pod for good; status.numberMisscheduled counts it.
	var waiting []string
	for i := range pods {
		p := &pods[i]
		if !OwnedBy(p, ds.UID) || p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodRunning {
			continue
		}
		if n := TargetNode(p); n != "" && !want[n] {
			waiting = append(waiting, fmt.Sprintf("%s (%s, %s: %s)", n, p.Name, p.Status.Phase, whyNot(n, nodes, ds)))
		}
	}
	sort.Strings(waiting)
	if len(missing) > 0 {
		problems = append(problems, "nodes missing a running daemon pod: "+strings.Join(missing, ", "))
	}
	if len(doubled) > 0 {
		problems = append(problems, "nodes with more than one daemon pod: "+strings.Join(doubled, ", "))
	}
	if len(extra) > 0 {
		problems = append(problems, "nodes with a daemon pod that should have none: "+strings.Join(extra, ", "))
	}
	if len(waiting) > 0 {
		problems = append(problems, "nodes that should have no daemon pod, with one waiting for them: "+strings.Join(waiting, ", "))
	}
	s := ds.Status
	if s.ObservedGeneration < ds.Generation {
		problems = append(problems, fmt.Sprintf("status.observedGeneration %d < generation %d", s.ObservedGeneration, ds.Generation))
	}
	if int(s.DesiredNumberScheduled) != len(expected) {
		problems = append(problems, fmt.Sprintf("status.desiredNumberScheduled %d, but %d nodes are eligible (%s)", s.DesiredNumberScheduled, len(expected), strings.Join(expected, ", ")))
	}
	for _, f := range []struct {
		name string
		v    int32
	}{{"currentNumberScheduled", s.CurrentNumberScheduled}, {"updatedNumberScheduled", s.UpdatedNumberScheduled},
		{"numberAvailable", s.NumberAvailable}, {"numberReady", s.NumberReady}} {
		if f.v != s.DesiredNumberScheduled {
			problems = append(problems, fmt.Sprintf("status.%s %d != desiredNumberScheduled %d", f.name, f.v, s.DesiredNumberScheduled))
		}
	}
	if int(s.NumberMisscheduled) != len(kept) {
		problems = append(problems, fmt.Sprintf("status.numberMisscheduled %d, want %d (nodes that keep a pod they would not get now: %s)",
			s.NumberMisscheduled, len(kept), orNone(kept)))
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("DaemonSet %s/%s is not rolled out:\n  - %s", ds.Namespace, ds.Name, strings.Join(problems, "\n  - "))
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func whyNot(nodeName string, nodes []corev1.Node, ds *appsv1.DaemonSet) string {
	for i := range nodes {
		if nodes[i].Name == nodeName {
			return Eligible(&nodes[i], &ds.Spec.Template).Reason
		}
	}
	return "node no longer exists"
}

// WaitForRolloutInput names what WaitForRollout needs.
type WaitForRolloutInput struct {
	Client    kubernetes.Interface
	DaemonSet *appsv1.DaemonSet
	Timeout   framework.Timeouts
}

// WaitForRollout polls until CheckRollout passes, and fails the spec with the last
// CheckRollout error (naming nodes) when the Medium tier runs out.
func WaitForRollout(ctx context.Context, in WaitForRolloutInput) *appsv1.DaemonSet {
	GinkgoHelper()
	Expect(in.Client).NotTo(BeNil(), "WaitForRollout: Client is required")
	Expect(in.DaemonSet).NotTo(BeNil(), "WaitForRollout: DaemonSet is required")
	var current *appsv1.DaemonSet
	Eventually(ctx, func(g Gomega) {
		ds, nodes, pods := Snapshot(ctx, g, in.Client, in.DaemonSet)
		current = ds
		g.Expect(CheckRollout(ds, nodes, pods)).To(Succeed())
	}).WithTimeout(in.Timeout.Medium).WithPolling(in.Timeout.Poll).Should(Succeed())
	return current
}

// Snapshot reads the DaemonSet, every node, and the pods of its namespace.
func Snapshot(ctx context.Context, g Gomega, c kubernetes.Interface, ref *appsv1.DaemonSet) (*appsv1.DaemonSet, []corev1.Node, []corev1.Pod) {
	ds, err := c.AppsV1().DaemonSets(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	nodes, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	pods, err := c.CoreV1().Pods(ref.Namespace).List(ctx, metav1.ListOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	return ds, nodes.Items, pods.Items
}
