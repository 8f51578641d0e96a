package daemonset

import (
	"context"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/dsconform/dsconform/framework"
)

// The DaemonSet controller decides where a new DaemonSet's pods go from its informer's
// copy of the nodes, not from the nodes as stored. A DaemonSet created while that copy
// still lacks a NoSchedule taint just put on a node gets a pod for the node; the
// scheduler never binds it, and the controller keeps it Pending for good, because it
// removes a pod from a node it no longer chooses only when a NoExecute taint or the
// node's labels say the pod may not stay (the rule DS-TAINT-04 checks for a running
// pod). A spec that taints a node and then creates a DaemonSet the taint excludes
// therefore waits for the controller to see the taint first (WaitForNodeView), so it
// tests the controller's rule, not its informer's lag.

// WaitForNodeViewInput names the nodes just tainted and the DaemonSet to probe with.
type WaitForNodeViewInput struct {
	Client kubernetes.Interface
	// Probe is a DaemonSet none of Nodes admits now (it tolerates none of their new
	// taints); WaitForNodeView pins it to them, creates it and deletes it again.
	Probe   *appsv1.DaemonSet
	Nodes   []string
	Timeout framework.Timeouts
}

// PinnedTo returns a copy of ds whose pods may go to the named nodes only: a required
// node affinity term per node on metadata.name (the field the controller itself pins
// pods with; the API takes one value per such term, and terms are ORed).
func PinnedTo(ds *appsv1.DaemonSet, nodes []string) *appsv1.DaemonSet {
	terms := make([]corev1.NodeSelectorTerm, 0, len(nodes))
	for _, n := range nodes {
		terms = append(terms, corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{
			{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{n}}}})
	}
	return (&Builder{ds: *ds.DeepCopy()}).WithRequiredNodeAffinity(terms...).Obj()
}

// CheckExcludedEverywhere returns nil once the controller has synced the probe (its
// status observes the probe's generation) and counts none of its nodes desired.
func CheckExcludedEverywhere(probe *appsv1.DaemonSet, nodes []string) error {
	s := probe.Status
	switch {
	case s.ObservedGeneration < probe.Generation:
		return fmt.Errorf("probe DaemonSet %s/%s not synced yet: status.observedGeneration %d < generation %d",
			probe.Namespace, probe.Name, s.ObservedGeneration, probe.Generation)
	case s.DesiredNumberScheduled != 0:
		return fmt.Errorf("the DaemonSet controller still counts %d of nodes %s desired for probe DaemonSet %s/%s (status.desiredNumberScheduled %d, numberMisscheduled %d): its view of the nodes lacks the taints just added",
			s.DesiredNumberScheduled, strings.Join(nodes, ", "), probe.Namespace, probe.Name, s.DesiredNumberScheduled, s.NumberMisscheduled)
	}
	return nil
}

// WaitForNodeView waits (Medium) until the DaemonSet controller's view of in.Nodes
// excludes in.Probe from every one of them, then deletes the probe. It returns how
// long the controller took from the probe's creation, and false instead when the
// probe as the API stored it is admitted by one of the nodes by the rules
// (ExpectedNodes: an admission policy gave it a toleration, say): the new taints then
// exclude no DaemonSet like it, so there is no stale view to wait out, and the spec's
// own checks judge what the cluster does.
func WaitForNodeView(ctx context.Context, in WaitForNodeViewInput) (time.Duration, bool) {
	GinkgoHelper()
	Expect(in.Client).NotTo(BeNil(), "WaitForNodeView: Client is required")
	Expect(in.Probe).NotTo(BeNil(), "WaitForNodeView: Probe is required")
	Expect(in.Nodes).NotTo(BeEmpty(), "WaitForNodeView: Nodes is required")
	start := time.Now()
	probe := Create(ctx, in.Client, PinnedTo(in.Probe, in.Nodes))
	defer func() {
		// best effort: the probe lives in the spec's namespace, whose cleanup removes it
		// if this delete fails or the wait above failed the spec
		bg := metav1.DeletePropagationBackground
		_ = in.Client.AppsV1().DaemonSets(probe.Namespace).Delete(ctx, probe.Name, metav1.DeleteOptions{PropagationPolicy: &bg})
	}()
	nodes, err := in.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	Expect(err).NotTo(HaveOccurred(), "listing nodes")
	if admitted := ExpectedNodes(probe, nodes.Items); len(admitted) > 0 {
		By(fmt.Sprintf("probe DaemonSet %s/%s as stored is admitted by %s (tolerations %v): no stale view to wait out",
			probe.Namespace, probe.Name, strings.Join(admitted, ", "), probe.Spec.Template.Spec.Tolerations))
		return 0, false
	}
	Eventually(ctx, func(g Gomega) {
		cur, err := in.Client.AppsV1().DaemonSets(probe.Namespace).Get(ctx, probe.Name, metav1.GetOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(CheckExcludedEverywhere(cur, in.Nodes)).To(Succeed())
	}).WithTimeout(in.Timeout.Medium).WithPolling(in.Timeout.Poll).Should(Succeed())
	return time.Since(start), true
}
