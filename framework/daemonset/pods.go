package daemonset

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/dsconform/dsconform/framework"
)

// RunningPods groups the running, non-terminating pods the DaemonSet owns by node: the
// one answer to "a DaemonSet's pods".
func RunningPods(ds *appsv1.DaemonSet, pods []corev1.Pod) map[string][]corev1.Pod {
	out := map[string][]corev1.Pod{}
	for _, p := range pods {
		if OwnedBy(&p, ds.UID) && p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning {
			out[p.Spec.NodeName] = append(out[p.Spec.NodeName], p)
		}
	}
	return out
}

// RunningPodsByNode is RunningPods by pod name.
func RunningPodsByNode(ds *appsv1.DaemonSet, pods []corev1.Pod) map[string][]string {
	out := map[string][]string{}
	for n, ps := range RunningPods(ds, pods) {
		for _, p := range ps {
			out[n] = append(out[n], p.Name)
		}
	}
	return out
}

// NodesWithPods lists, sorted, the nodes that run a pod of the DaemonSet; none is an
// empty list (so it equals an expected empty list).
func NodesWithPods(ds *appsv1.DaemonSet, pods []corev1.Pod) []string {
	out := []string{}
	for n := range RunningPods(ds, pods) {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// WaitForPlacementInput names what WaitForPlacement needs.
type WaitForPlacementInput struct {
	Client    kubernetes.Interface
	DaemonSet *appsv1.DaemonSet
	// Nodes is exactly where the DaemonSet should run a pod (empty: nowhere).
	Nodes   []string
	Timeout framework.Timeouts
}

// WaitForPlacement polls until the DaemonSet is rolled out (CheckRollout) with running
// pods on exactly in.Nodes, and fails the spec with the last difference when the Medium
// tier runs out.
func WaitForPlacement(ctx context.Context, in WaitForPlacementInput) {
	GinkgoHelper()
	Expect(in.Client).NotTo(BeNil(), "WaitForPlacement: Client is required")
	Expect(in.DaemonSet).NotTo(BeNil(), "WaitForPlacement: DaemonSet is required")
	want := append([]string{}, in.Nodes...) // sorted here, never in the caller's slice
	sort.Strings(want)
	Eventually(ctx, func(g Gomega) {
		cur, nodes, pods := Snapshot(ctx, g, in.Client, in.DaemonSet)
		g.Expect(CheckRollout(cur, nodes, pods)).To(Succeed())
		got := NodesWithPods(cur, pods)
		g.Expect(got).To(Equal(want), "nodes running a daemon pod of %s: %s", cur.Name, PlacementDiff(want, got))
	}).WithTimeout(in.Timeout.Medium).WithPolling(in.Timeout.Poll).Should(Succeed())
}

// TableColumns reads the DaemonSet as `kubectl get daemonset` shows it: the server-side
// Table, column name -> cell.
func TableColumns(ctx context.Context, c kubernetes.Interface, ds *appsv1.DaemonSet) (map[string]string, error) {
	raw, err := c.AppsV1().RESTClient().Get().Namespace(ds.Namespace).Resource("daemonsets").Name(ds.Name).
		SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").Do(ctx).Raw()
	if err != nil {
		return nil, fmt.Errorf("reading DaemonSet %s as a table: %w", ds.Name, err)
	}
	return columns(raw)
}

func columns(raw []byte) (map[string]string, error) {
	var table metav1.Table
	if err := json.Unmarshal(raw, &table); err != nil {
		return nil, err
	}
	if len(table.Rows) != 1 {
		return nil, fmt.Errorf("the table has %d rows, want 1", len(table.Rows))
	}
	cols := map[string]string{}
	for i, c := range table.ColumnDefinitions {
		if i < len(table.Rows[0].Cells) {
			cols[c.Name] = fmt.Sprint(table.Rows[0].Cells[i])
		}
	}
	return cols, nil
}

// Create creates the DaemonSet and returns it as stored, failing the spec otherwise.
func Create(ctx context.Context, c kubernetes.Interface, ds *appsv1.DaemonSet) *appsv1.DaemonSet {
	GinkgoHelper()
	created, err := c.AppsV1().DaemonSets(ds.Namespace).Create(ctx, ds, metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred(), "creating DaemonSet %s/%s", ds.Namespace, ds.Name)
	return created
}

// WaitForOnePod waits (Medium) until the node runs exactly one pod of the DaemonSet
// (RunningPods) and returns it; the spec fails naming what the node runs.
func WaitForOnePod(ctx context.Context, c kubernetes.Interface, ds *appsv1.DaemonSet, node string, t framework.Timeouts) corev1.Pod {
	GinkgoHelper()
	var pod corev1.Pod
	Eventually(ctx, func(g Gomega) {
		cur, _, pods := Snapshot(ctx, g, c, ds)
		on := RunningPods(cur, pods)[node]
		g.Expect(on).To(HaveLen(1), "running daemon pods of %s on node %s", ds.Name, node)
		pod = on[0]
	}).WithTimeout(t.Medium).WithPolling(t.Poll).Should(Succeed())
	return pod
}

// PlacementDiff says how the nodes running a daemon pod (got) differ from where the
// spec wants them (want): the nodes with a pod where none should run, and the nodes
// without one where one should.
func PlacementDiff(want, got []string) string {
	var extra, missing []string
	for _, n := range got {
		if !slices.Contains(want, n) {
			extra = append(extra, n)
		}
	}
	for _, n := range want {
		if !slices.Contains(got, n) {
			missing = append(missing, n)
		}
	}
	var parts []string
	if len(extra) > 0 {
		parts = append(parts, "a pod on "+strings.Join(extra, ", ")+", where none should run")
	}
	if len(missing) > 0 {
		parts = append(parts, "no pod on "+strings.Join(missing, ", ")+", where one should run")
	}
	if len(parts) == 0 {
		return "as wanted"
	}
	return strings.Join(parts, "; ")
}
