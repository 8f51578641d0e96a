package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/dsconform/dsconform/framework/daemonset"
)

func newDaemonSet(name, ns string) *daemonset.Builder {
	return daemonset.NewBuilder(name, ns, cfg.WorkloadImage)
}

func createDaemonSet(ctx context.Context, ds *appsv1.DaemonSet) *appsv1.DaemonSet {
	GinkgoHelper()
	created, err := clients.Kube.AppsV1().DaemonSets(ds.Namespace).Create(ctx, ds, metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred(), "creating DaemonSet %s/%s", ds.Namespace, ds.Name)
	return created
}

func waitForRollout(ctx context.Context, ds *appsv1.DaemonSet) *appsv1.DaemonSet {
	GinkgoHelper()
	return daemonset.WaitForRollout(ctx, daemonset.WaitForRolloutInput{Client: clients.Kube, DaemonSet: ds, Timeout: timeouts})
}

// daemonPods returns the running, non-terminating pods the DaemonSet owns, by node.
func daemonPods(ctx context.Context, g Gomega, ds *appsv1.DaemonSet) map[string][]corev1.Pod {
	cur, _, pods := daemonset.Snapshot(ctx, g, clients.Kube, ds)
	out := map[string][]corev1.Pod{}
	for _, p := range pods {
		if daemonset.OwnedBy(&p, cur.UID) && p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning {
			out[p.Spec.NodeName] = append(out[p.Spec.NodeName], p)
		}
	}
	return out
}

// onePodOn returns the single running daemon pod on a node, failing with what was found.
func onePodOn(ctx context.Context, ds *appsv1.DaemonSet, nodeName string) corev1.Pod {
	GinkgoHelper()
	var pod corev1.Pod
	Eventually(ctx, func(g Gomega) {
		pods := daemonPods(ctx, g, ds)[nodeName]
		g.Expect(pods).To(HaveLen(1), "running daemon pods of %s on node %s", ds.Name, nodeName)
		pod = pods[0]
	}).WithTimeout(timeouts.Medium).Should(Succeed())
	return pod
}

// nodesWithPods lists, sorted, the nodes that run a daemon pod of ds.
func nodesWithPods(ctx context.Context, g Gomega, ds *appsv1.DaemonSet) []string {
	out := []string{} // none is an empty list, so it equals an expected empty list
	for n := range daemonPods(ctx, g, ds) {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// expectPlacement waits until the DaemonSet is rolled out with pods on exactly want
// (which may be empty: one tainted worker out of one).
func expectPlacement(ctx context.Context, ds *appsv1.DaemonSet, want []string) {
	GinkgoHelper()
	want = append([]string{}, want...) // sorted here, never in the caller's slice
	sort.Strings(want)
	Eventually(ctx, func(g Gomega) {
		cur, nodes, pods := daemonset.Snapshot(ctx, g, clients.Kube, ds)
		g.Expect(daemonset.CheckRollout(cur, nodes, pods)).To(Succeed())
		g.Expect(nodesWithPods(ctx, g, ds)).To(Equal(want), "nodes running a daemon pod of %s", ds.Name)
	}).WithTimeout(timeouts.Medium).Should(Succeed())
}

// expectedFor is the nodes the DaemonSet should run on now, by the eligibility
// predicate over the live nodes (control planes and tainted nodes included).
func expectedFor(ctx context.Context, ds *appsv1.DaemonSet) []string {
	GinkgoHelper()
	nodes, err := listNodes(ctx, clients)
	Expect(err).NotTo(HaveOccurred())
	return daemonset.ExpectedNodes(ds, nodes)
}

// kubectlColumns reads the DaemonSet as `kubectl get daemonset` does: the
// server-side Table, column name -> cell.
func kubectlColumns(ctx context.Context, ds *appsv1.DaemonSet) map[string]string {
	GinkgoHelper()
	raw, err := clients.Kube.AppsV1().RESTClient().Get().Namespace(ds.Namespace).Resource("daemonsets").Name(ds.Name).
		SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").Do(ctx).Raw()
	Expect(err).NotTo(HaveOccurred(), "reading DaemonSet %s as a table", ds.Name)
	var table metav1.Table
	Expect(json.Unmarshal(raw, &table)).To(Succeed())
	Expect(table.Rows).To(HaveLen(1))
	cols := map[string]string{}
	for i, c := range table.ColumnDefinitions {
		cols[c.Name] = fmt.Sprint(table.Rows[0].Cells[i])
	}
	return cols
}
