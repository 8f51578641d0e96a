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
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/dsconform/dsconform/framework"
	"github.com/dsconform/dsconform/framework/diagnostics"
	"github.com/dsconform/dsconform/framework/kindcluster"
	"github.com/dsconform/dsconform/framework/node"
	"github.com/dsconform/dsconform/framework/nodeaccess"
	"github.com/dsconform/dsconform/framework/releases"
	"github.com/dsconform/dsconform/framework/report"
	"github.com/dsconform/dsconform/framework/staticpod"
)

// specNamespaces are the namespaces the running spec created (one spec at a time per process).
var specNamespaces []string

// newNamespace creates a namespace for the spec, deleted when it ends.
func newNamespace(ctx context.Context, base string) string {
	GinkgoHelper()
	ns := framework.CreateNamespace(ctx, clients.Kube, base, state.RunID)
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

// Live progress: one line per finished spec, "[done/total] STATE text (duration)",
// appended to $ARTIFACTS/progress.log, which `make e2e` streams to the console
// (Ginkgo holds back parallel processes' output until a spec fails).
var _ = ReportBeforeSuite(func(r Report) {
	if fi, err := os.Stat(progressFile()); err == nil && fi.Size() > 0 {
		_ = os.Truncate(progressFile(), 0) // a run without make: start counting afresh
	}
	_ = os.WriteFile(progressFile()+"-total", []byte(fmt.Sprint(r.PreRunStats.SpecsThatWillRun)), 0o644)
})

var _ = ReportAfterEach(func(r SpecReport) {
	if cfg.DryRun || r.State == types.SpecStateSkipped {
		return
	}
	data, _ := os.ReadFile(progressFile())
	total, _ := os.ReadFile(progressFile() + "-total")
	line := fmt.Sprintf("[%d/%s] %s %s (%.1fs)\n", strings.Count(string(data), "\n")+1, total, strings.ToUpper(r.State.String()), r.FullText(), r.RunTime.Seconds())
	// O_APPEND writes of one short line are atomic across the parallel processes.
	if f, err := os.OpenFile(progressFile(), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
		_, _ = f.WriteString(line)
		f.Close()
	}
})

func progressFile() string { return filepath.Join(cfg.Artifacts, "progress.log") }

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
	if !state.IsKind && !cfg.AllowNodeChanges {
		Skip("changes nodes: the cluster under test is not a kind cluster; pass --e2e.allow-node-changes (E2E_ALLOW_NODE_CHANGES=true) to allow it")
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

// filesChangedMarked holds the nodes this process has marked node.FilesChangedBySuite.
var filesChangedMarked sync.Map

// hostOf is the node's host, reached the configured way (kind's exec or its agent pod).
func hostOf(ctx context.Context, name string) nodeaccess.Node {
	GinkgoHelper()
	requireNodeAccess()
	if agents != nil {
		n, err := agents.Node(ctx, name)
		Expect(err).NotTo(HaveOccurred())
		if _, marked := filesChangedMarked.LoadOrStore(name, true); !marked {
			// before anything changes there: a run killed mid-spec leaves the mark for the next run's sweep
			Expect(node.MarkFilesChanged(ctx, clients.Kube, name)).To(Succeed(), "marking node %s (annotation %s)", name, node.FilesChangedBySuite)
		}
		return n
	}
	n, err := kind.Node(name)
	Expect(err).NotTo(HaveOccurred(), "kind node %s", name)
	return nodeaccess.Kind(n)
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

// environment is what the report says about the cluster under test.
type environment struct {
	Started        time.Time       `json:"started"`
	ServerVersion  string          `json:"serverVersion"`
	Release        string          `json:"kubernetesRelease"` // "1.37: supported until 2027-10-28"
	Runtime        string          `json:"nodeRuntime,omitempty"`
	Kubelet        string          `json:"kubeletCgroups,omitempty"`
	NodeImage      string          `json:"nodeImage,omitempty"`
	KindVersion    string          `json:"kindVersion"`
	ClusterName    string          `json:"clusterName"`
	IsKind         bool            `json:"isKind"`
	NodeAccess     string          `json:"nodeAccess"`        // how specs reached the nodes' hosts
	Product        *report.Product `json:"product,omitempty"` // from E2E_PRODUCT_FILE
	ClusterCreated bool            `json:"clusterCreated"`
	SetupSeconds   float64         `json:"setupSeconds"`
	SuiteCommit    string          `json:"suiteCommit"`
	LabelFilter    string          `json:"labelFilter"`
	RandomSeed     int64           `json:"randomSeed"`
	ParallelProcs  int             `json:"parallelProcesses"`
	Nodes          []nodeSummary   `json:"nodes"`
	Swept          []string        `json:"sweptBeforeRun,omitempty"` // leftovers of dead runs removed first
	ClusterNote    string          `json:"clusterDecision,omitempty"`
}

type nodeSummary struct {
	Name           string   `json:"name"`
	Roles          []string `json:"roles"`
	Taints         []string `json:"taints"`
	KubeletVersion string   `json:"kubeletVersion"`
	Ready          bool     `json:"ready"`
	OS             string   `json:"os"`
	Runtime        string   `json:"containerRuntime"`
	Crictl         string   `json:"crictl,omitempty"` // what `crictl version` answers on the node
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
	env := environment{Started: time.Now().UTC(), ServerVersion: v.GitVersion, NodeImage: cfg.NodeImage, KindVersion: kindModuleVersion(),
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
	for _, n := range nodes {
		info := n.Status.NodeInfo
		ns := nodeSummary{Name: n.Name, KubeletVersion: info.KubeletVersion, Runtime: info.ContainerRuntimeVersion,
			OS: fmt.Sprintf("%s, kernel %s", info.OSImage, info.KernelVersion)}
		for l := range n.Labels {
			if r, ok := strings.CutPrefix(l, "node-role.kubernetes.io/"); ok {
				ns.Roles = append(ns.Roles, r)
			}
		}
		for _, t := range n.Spec.Taints {
			ns.Taints = append(ns.Taints, fmt.Sprintf("%s=%s:%s", t.Key, t.Value, t.Effect))
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady {
				ns.Ready = cond.Status == corev1.ConditionTrue
			}
		}
		env.Nodes = append(env.Nodes, ns)
	}
	if r, err := releases.Lookup(v.GitVersion); err == nil {
		env.Release = r.Minor + ": " + r.Status(time.Now())
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

// checkNothingLeaked fails loudly when a spec left a namespace or node change behind.
func checkNothingLeaked(ctx context.Context, leftOnNodes []string) {
	var leaks []string
	Eventually(ctx, func(g Gomega) {
		leaks = nil
		for _, l := range leftOnNodes {
			leaks = append(leaks, "left behind and undone after the run: "+l)
		}
		nss, err := clients.Kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: framework.RunLabel + "=" + state.RunID})
		g.Expect(err).NotTo(HaveOccurred())
		for _, ns := range nss.Items {
			leaks = append(leaks, "namespace "+ns.Name+" ("+string(ns.Status.Phase)+")")
		}
		nodes, err := listNodes(ctx, clients)
		g.Expect(err).NotTo(HaveOccurred())
		for _, n := range nodes {
			for _, t := range n.Spec.Taints {
				if strings.HasPrefix(t.Key, "dsconform.e2e/") || t.Key == "VIPOnly" {
					leaks = append(leaks, fmt.Sprintf("taint %s on node %s", t.Key, n.Name))
				}
			}
			for l := range n.Labels {
				if strings.HasPrefix(l, "dsconform.e2e/") {
					leaks = append(leaks, fmt.Sprintf("label %s on node %s", l, n.Name))
				}
			}
			if strings.Contains(n.Name, "-e2e-") {
				leaks = append(leaks, "node "+n.Name+" added by a spec")
			}
			if n.Spec.Unschedulable {
				leaks = append(leaks, "node "+n.Name+" is cordoned")
			}
		}
		agentPods, err := clients.Kube.CoreV1().Pods("").List(ctx, metav1.ListOptions{LabelSelector: nodeaccess.AgentLabel})
		g.Expect(err).NotTo(HaveOccurred())
		for _, p := range agentPods.Items {
			leaks = append(leaks, fmt.Sprintf("node agent pod %s/%s on node %s", p.Namespace, p.Name, p.Spec.NodeName))
		}
		leaks = append(leaks, leakedOnNodes(ctx)...)
		g.Expect(leaks).To(BeEmpty(), "the suite left these behind")
	}).WithTimeout(timeouts.Long).Should(Succeed())
}

// leakedOnNodes finds what specs leave on kind nodes: added node containers,
// static pod manifests (named after their spec's namespace, "sp-..."), and a
// control-plane manifest moved aside.
func leakedOnNodes(ctx context.Context) []string {
	if kind == nil {
		return nil
	}
	all, err := kind.Nodes()
	if err != nil {
		return []string{"listing kind nodes: " + err.Error()}
	}
	var leaks []string
	for _, n := range all {
		if strings.Contains(n.String(), "-e2e-") {
			leaks = append(leaks, "node container "+n.String())
			continue
		}
		dir, err := staticpod.ManifestDir(nodeaccess.Kind(n))
		if err != nil {
			continue
		}
		out, _ := kindcluster.Run(n, nil, "sh", "-c", "ls "+dir+"; ls /etc/kubernetes")
		for _, f := range strings.Fields(out) {
			if strings.HasPrefix(f, "sp-") || strings.HasSuffix(f, ".dsconform-moved") {
				leaks = append(leaks, fmt.Sprintf("file %s on node %s", f, n))
			}
		}
	}
	return leaks
}

// describeKindNodes adds what only the node itself can tell: the runtime's versions,
// whether crictl answers, and how the kubelet runs on the host's cgroups.
func describeKindNodes(env *environment) {
	k := kindcluster.New(env.ClusterName, nil)
	var cgroups []string
	for i := range env.Nodes {
		n, err := k.Node(env.Nodes[i].Name)
		if err != nil {
			continue
		}
		if out, err := kindcluster.Run(n, nil, "crictl", "version"); err == nil {
			env.Nodes[i].Crictl = strings.Join(strings.Fields(out), " ")
		} else {
			env.Nodes[i].Crictl = "crictl does not answer: " + strings.SplitN(err.Error(), "\n", 2)[0]
		}
		if out, err := kindcluster.Run(n, nil, "cat", "/kind/runtime-versions"); err == nil && env.Runtime == "" {
			env.Runtime = strings.Join(strings.Split(strings.TrimSpace(out), "\n"), ", ")
		}
		fs, _ := kindcluster.Run(n, nil, "stat", "-fc", "%T", "/sys/fs/cgroup")
		fail, _ := kindcluster.Run(n, nil, "sh", "-c", "grep -h '^failCgroupV1:' /var/lib/kubelet/config.yaml || echo 'failCgroupV1: (unset)'")
		version := "cgroup v1"
		if strings.TrimSpace(fs) == "cgroup2fs" {
			version = "cgroup v2"
		}
		cgroups = append(cgroups, fmt.Sprintf("kubelet running on %s with %s", version, strings.ReplaceAll(strings.TrimSpace(fail), ": ", "=")))
	}
	slices.Sort(cgroups)
	env.Kubelet = strings.Join(slices.Compact(cgroups), "; ")
}
