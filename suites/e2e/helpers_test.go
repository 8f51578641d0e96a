package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/dsconform/dsconform/framework"
	"github.com/dsconform/dsconform/framework/diagnostics"
	"github.com/dsconform/dsconform/framework/kindcluster"
	"github.com/dsconform/dsconform/framework/leftovers"
	"github.com/dsconform/dsconform/framework/node"
	"github.com/dsconform/dsconform/framework/nodeaccess"
	"github.com/dsconform/dsconform/framework/provenance"
	"github.com/dsconform/dsconform/framework/releases"
	"github.com/dsconform/dsconform/framework/report"
)

// specNamespaces are the namespaces the running spec created (one spec at a time per process).
var specNamespaces []string

// newNamespace creates a namespace for the spec, deleted when it ends.
func newNamespace(ctx context.Context, base string) string {
	GinkgoHelper()
	ns := framework.CreateNamespace(ctx, clients.Kube, base, provenance.ObjectLabels(state.RunID))
	specNamespaces = append(specNamespaces, ns.Name)
	return ns.Name
}

var _ = BeforeEach(func() {
	specNamespaces, extraDiagnostics = nil, nil
	if cfg.DryRun {
		Skip("dry run: listed, not run")
	}
})

// Diagnostics are collected before any DeferCleanup of the spec runs, so they show
// the cluster as the failure left it.
var _ = AfterEach(func(ctx SpecContext) {
	r := CurrentSpecReport()
	if !r.Failed() || clients == nil {
		return
	}
	dir, err := framework.SpecDir(cfg.Artifacts, r.FullText())
	if err != nil {
		return
	}
	w := &diagnostics.Writer{Dir: dir}
	defer w.Close()
	for _, ns := range specNamespaces {
		w.Namespace(ctx, clients.Kube, ns)
	}
	w.Nodes(ctx, clients.Kube)
	for _, dump := range extraDiagnostics {
		dump(ctx, w)
	}
	AddReportEntry("diagnostics", dir, ReportEntryVisibilityNever)
}, NodeTimeout(2*time.Minute))

// extraDiagnostics lets spec families add what only they know how to collect
// (the kubelet's view for static pods, for instance).
var extraDiagnostics []func(context.Context, *diagnostics.Writer)

// Live progress: one line per finished spec (report.AddProgress).
var _ = ReportBeforeSuite(func(r Report) {
	_ = report.StartProgress(cfg.Artifacts, r.PreRunStats.SpecsThatWillRun)
})

var _ = ReportAfterEach(func(r SpecReport) {
	if !cfg.DryRun && r.State != types.SpecStateSkipped {
		_ = report.AddProgress(cfg.Artifacts, r.State.String(), r.FullText(), r.RunTime.Seconds())
	}
})

// listNodes returns every node.
func listNodes(ctx context.Context, c *framework.Clients) ([]corev1.Node, error) {
	l, err := c.Kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	return l.Items, nil
}

// eligibleNodes lists, sorted, the nodes a plain DaemonSet (no tolerations, no node
// selection) runs a pod on, from the eligibility predicate over the live nodes: never
// "all workers". A cluster with none cannot run these specs: the spec is skipped, saying so.
func eligibleNodes(ctx context.Context) []string {
	GinkgoHelper()
	return needNodes(ctx, 1)
}

// needNodes is eligibleNodes for a spec that needs at least n of them to prove its
// claim (one to change and one to compare with, say); it skips with the reason otherwise.
func needNodes(ctx context.Context, n int) []string {
	GinkgoHelper()
	out := expectedFor(ctx, newDaemonSet("plain", "default").Obj())
	if len(out) < n {
		Skip(fmt.Sprintf("needs %d nodes a DaemonSet without tolerations runs on; this cluster has %d (%s)", n, len(out), strings.Join(out, ", ")))
	}
	// Workers first: a spec changes, stops or cuts off the first nodes it is given, and an
	// untainted control plane is eligible too, but not a node to disturb; nor is the node
	// the suite itself runs on (in a pod), which goes last with the control planes.
	nodes, err := listNodes(ctx, clients)
	Expect(err).NotTo(HaveOccurred())
	cp := map[string]bool{}
	for i := range nodes {
		cp[nodes[i].Name] = node.IsControlPlane(&nodes[i]) || nodes[i].Name == state.RunnerNode
	}
	slices.SortStableFunc(out, func(a, b string) int {
		switch {
		case cp[a] == cp[b]:
			return 0
		case cp[b]:
			return -1
		}
		return 1
	})
	return out
}

// controlPlaneNames lists the control-plane nodes (several in an HA cluster); a cluster
// with none cannot run the spec: it is skipped, saying so.
func controlPlaneNames(ctx context.Context) []string {
	GinkgoHelper()
	nodes, err := listNodes(ctx, clients)
	Expect(err).NotTo(HaveOccurred())
	var cps []string
	for i := range nodes {
		if node.IsControlPlane(&nodes[i]) {
			cps = append(cps, nodes[i].Name)
		}
	}
	if len(cps) == 0 {
		Skip("the cluster has no node labelled node-role.kubernetes.io/control-plane")
	}
	return cps
}

// controlPlaneName returns the first control-plane node's name.
func controlPlaneName(ctx context.Context) string {
	GinkgoHelper()
	return controlPlaneNames(ctx)[0]
}

// requireNodeChanges skips a spec that taints, labels or cordons nodes unless the
// cluster is a kind cluster or the user opted in. The suite never changes nodes of
// a cluster it was not told it may change.
func requireNodeChanges() {
	if !cfg.NodeChangesAllowed(state.IsKind) {
		nodeChanges.Skip()
	}
}

// requireNodeAccess skips a spec that runs commands on nodes unless there is a way
// onto them: kind's exec on a kind cluster, or agent pods the user opted into.
func requireNodeAccess() {
	if agents == nil && (!state.IsKind || kind == nil) {
		Skip("needs access to the nodes' hosts: the cluster under test is not a kind cluster; set E2E_NODE_ACCESS=agent to reach them through privileged agent pods (this changes files on nodes)")
	}
}

// requireKind skips a spec that joins, stops or removes nodes: only kind can.
func requireKind() {
	if !state.IsKind || kind == nil {
		Skip("joins, stops or removes nodes, which needs a kind cluster: nodes cannot be added to or removed from this cluster")
	}
}

// hostOf is the node's host, reached the configured way (kind's exec or its agent pod);
// every change made through it is stamped on the Node first.
func hostOf(ctx context.Context, name string) node.Host {
	GinkgoHelper()
	requireNodeAccess()
	if agents != nil {
		n, err := agents.Node(ctx, name)
		Expect(err).NotTo(HaveOccurred())
		return node.Host{Node: n, Changer: nodeChanges}
	}
	n, err := kind.Node(name)
	Expect(err).NotTo(HaveOccurred(), "kind node %s", name)
	return node.Host{Node: nodeaccess.Kind(n), Changer: nodeChanges}
}

func clusterNameOf(ctx context.Context, c *framework.Clients) string {
	if !cfg.UseExistingCluster {
		return cfg.ClusterName
	}
	nodes, err := listNodes(ctx, c)
	if err == nil && len(nodes) > 0 {
		// kind://docker/<cluster>/<node>
		if parts := strings.Split(nodes[0].Spec.ProviderID, "/"); len(parts) >= 5 {
			return parts[3]
		}
	}
	return cfg.ClusterName
}

func writeEnvironment(ctx context.Context, c *framework.Clients, s suiteState) error {
	v, err := c.Kube.Discovery().ServerVersion()
	if err != nil {
		return err
	}
	nodes, err := listNodes(ctx, c)
	if err != nil {
		return err
	}
	suite, _ := GinkgoConfiguration()
	env := report.Environment{Mode: cfg.Mode, Started: time.Now().UTC(), ServerVersion: v.GitVersion, NodeImage: cfg.NodeImage, KindVersion: kindModuleVersion(),
		ClusterName: cfg.ClusterName, IsKind: s.IsKind, ClusterCreated: s.Created, SetupSeconds: s.SetupSecs, SuiteCommit: gitCommit(),
		LabelFilter: suite.LabelFilter, RandomSeed: suite.RandomSeed, ParallelProcs: suite.ParallelTotal, Swept: s.Swept, ClusterNote: s.ClusterDecision}
	if cfg.ProductFile != "" {
		data, err := os.ReadFile(cfg.ProductFile)
		if err != nil {
			return err
		}
		p, err := report.ParseProduct(data)
		if err != nil {
			return fmt.Errorf("%s: %w", cfg.ProductFile, err)
		}
		env.Product = &p
	}
	switch {
	case s.AgentNamespace != "":
		env.NodeAccess = "agent pods (privileged, host PID and network) in namespace " + s.AgentNamespace + ", through the API server's exec"
	case s.IsKind:
		env.NodeAccess = "kind (docker exec into the node containers)"
	default:
		env.NodeAccess = "none: specs that need a node's host are skipped (E2E_NODE_ACCESS=agent enables them)"
	}
	env.Nodes = report.SummarizeNodes(nodes)
	if r, err := releases.Lookup(v.GitVersion); err == nil {
		env.Release = r.Minor + ": " + r.Standing(time.Now(), releases.All())
	} else {
		env.Release = err.Error()
	}
	if s.IsKind {
		describeKindNodes(&env)
	}
	data, err := json.MarshalIndent(env, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(cfg.Artifacts, "environment.json"), data, 0o644)
}

func gitCommit() string {
	if c := os.Getenv("E2E_SUITE_COMMIT"); c != "" { // the suite image records it at build time
		return c
	}
	out, err := exec.Command("git", "-C", "../..", "describe", "--always", "--dirty").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

func kindModuleVersion() string {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "sigs.k8s.io/kind").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

// checkNothingLeaked fails the run when anything stamped with this run's ID is still
// there: a namespace not deleted, a change to a node not undone, a joined node or its
// container. What it finds it undoes (and names), so the cluster is left as found even
// then. Namespaces the specs deleted may still be terminating: those it waits for.
func checkNothingLeaked(ctx context.Context) {
	leaked := sweepStamps(ctx, clients, state.IsKind, agents, func(run string) bool { return run == state.RunID }, state.AgentNamespace)
	Eventually(ctx, func(g Gomega) {
		nss, err := clients.Kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: provenance.RunLabel + "=" + state.RunID})
		g.Expect(err).NotTo(HaveOccurred())
		var left []string
		for _, ns := range nss.Items {
			if ns.Name != state.AgentNamespace {
				left = append(left, ns.Name+" ("+string(ns.Status.Phase)+")")
			}
		}
		g.Expect(left).To(BeEmpty(), "namespaces of this run still there")
	}).WithTimeout(timeouts.Long).Should(Succeed())
	removeAgents(ctx)
	var leaks []string
	for _, l := range [][]string{leaked.Undone, leaked.Pending, leaked.Errors, leaked.Unreadable} {
		leaks = append(leaks, l...)
	}
	Expect(leaks).To(BeEmpty(), "the suite left these behind (stamped with this run, %s; what could be undone has been undone now)", state.RunID)
}

// sweepStamps undoes what the selected runs stamped (framework/leftovers): through kind's
// docker exec on a kind cluster, through agents where there are, and changing nodes only
// on kind or with E2E_ALLOW_NODE_CHANGES=true. The spared namespaces stay.
func sweepStamps(ctx context.Context, c *framework.Clients, isKind bool, a *nodeaccess.Agents, runs func(string) bool, spare ...string) leftovers.Result {
	GinkgoHelper()
	in := leftovers.Input{Client: c.Kube, NodeChanges: cfg.NodeChangesAllowed(isKind),
		Runs: runs, SpareNamespaces: spare}
	switch {
	case a != nil:
		in.Host = a.Node
	case isKind:
		k := kindcluster.New(clusterNameOf(ctx, c), nil)
		in.Containers = k
		in.Host = func(_ context.Context, name string) (nodeaccess.Node, error) {
			n, err := k.Node(name)
			if err != nil {
				return nil, err
			}
			return nodeaccess.Kind(n), nil
		}
	}
	if isKind && in.Containers == nil {
		in.Containers = kindcluster.New(clusterNameOf(ctx, c), nil)
	}
	r, err := leftovers.Run(ctx, in)
	Expect(err).NotTo(HaveOccurred(), "looking for what runs of the suite left behind")
	return r
}

// recordSweep writes what the sweep did and left alone into the artifacts, for the report.
func recordSweep(r leftovers.Result) {
	lines := r.Lines()
	if len(lines) == 0 {
		return
	}
	fmt.Fprintf(GinkgoWriter, "before the run, what earlier runs left:\n  %s\n", strings.Join(lines, "\n  "))
	_ = os.WriteFile(filepath.Join(cfg.Artifacts, "swept.txt"), []byte(strings.Join(lines, "\n")+"\n"), 0o644)
}

// describeKindNodes adds what only the node itself can tell: the runtime's versions,
// whether crictl answers, and how the kubelet runs on the host's cgroups.
func describeKindNodes(env *report.Environment) {
	var names []string
	for _, n := range env.Nodes {
		names = append(names, n.Name)
	}
	facts := kindcluster.New(env.ClusterName, nil).Describe(context.Background(), names)
	for i := range env.Nodes {
		env.Nodes[i].Crictl = facts[env.Nodes[i].Name].Crictl
	}
	env.Runtime = kindcluster.Summary(facts, func(f kindcluster.NodeFacts) string { return f.Runtime })
	env.Kubelet = kindcluster.Summary(facts, func(f kindcluster.NodeFacts) string { return f.KubeletCgroups })
}
