// Package e2e is the conformance suite: DaemonSet and static pod behaviour proven
// on a real kind cluster. Run it with `make e2e`; see README.md.
package e2e

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/dsconform/dsconform/framework"
	"github.com/dsconform/dsconform/framework/kindcluster"
	"github.com/dsconform/dsconform/framework/leftovers"
	"github.com/dsconform/dsconform/framework/node"
	"github.com/dsconform/dsconform/framework/nodeaccess"
	"github.com/dsconform/dsconform/framework/provenance"
	"github.com/dsconform/dsconform/framework/report"
	"github.com/dsconform/dsconform/framework/runlease"
)

var (
	cfg      = &framework.Config{}
	clients  *framework.Clients
	timeouts framework.Timeouts
	// kind is the cluster under test when it is a kind cluster the suite may change.
	kind *kindcluster.Cluster
	// agents reach nodes through privileged pods when E2E_NODE_ACCESS=agent.
	agents *nodeaccess.Agents
	// nodeChanges makes every change to a node, stamped with this run's ID.
	nodeChanges node.Changer
)

// suiteState travels from process 1 to every parallel process.
type suiteState struct {
	Kubeconfig string `json:"kubeconfig"`
	Created    bool   `json:"created"`
	IsKind     bool   `json:"isKind"`
	RunID      string `json:"runID"` // stamps everything this run creates or changes
	SetupSecs  float64
	Swept      leftovers.Result `json:"swept"` // what dead runs had left, and what was left alone
	// ClusterDecision says whether the cluster was reused, created or replaced, and why.
	ClusterDecision string `json:"clusterDecision"`
	// AgentNamespace holds the node agent pods (E2E_NODE_ACCESS=agent).
	AgentNamespace string `json:"agentNamespace,omitempty"`
	// RunnerNode is the node the suite itself runs on, when it runs in a pod: specs leave
	// it for last when they pick a node to stop, cut off or taint.
	RunnerNode string `json:"runnerNode,omitempty"`
}

var state suiteState

// stopLease ends the renewal of this run's lease (process 1 only).
var stopLease context.CancelFunc

func init() {
	if err := cfg.RegisterFlags(flag.CommandLine); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(2)
	}
}

func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	// Ginkgo runs a suite from its package directory; paths are relative to the repo root.
	if root, err := filepath.Abs("../.."); err == nil {
		cfg.ResolvePaths(root)
	}
	timeouts = cfg.Timeouts()
	SetDefaultEventuallyTimeout(timeouts.Medium)
	SetDefaultEventuallyPollingInterval(timeouts.Poll)
	SetDefaultConsistentlyDuration(timeouts.Hold)
	SetDefaultConsistentlyPollingInterval(timeouts.HoldPoll)
	// Without this, Gomega applies no default timeout to an Eventually given the spec's
	// context (which has no deadline): 58 waits without WithTimeout were unbounded, and
	// under a fault the self-test saw one poll for 8 minutes instead of failing at Medium.
	EnforceDefaultTimeoutsWhenUsingContexts()
	if err := os.MkdirAll(cfg.Artifacts, 0o755); err != nil {
		t.Fatalf("artifacts folder %s: %v", cfg.Artifacts, err)
	}
	// A named mode selects its specs here, in the suite, so that every entry point (make,
	// the suite image, Hydrophone's --focus) gets the same selection from one definition.
	suiteConfig, reporterConfig := GinkgoConfiguration()
	mode, ok, err := framework.LookupMode(cfg.Mode)
	if err != nil {
		t.Fatal(err)
	}
	if ok {
		suiteConfig.LabelFilter = framework.CombineLabelFilters(suiteConfig.LabelFilter, mode.LabelFilter)
	}
	RunSpecs(t, "DaemonSet and static pod conformance", suiteConfig, reporterConfig)
}

var _ = SynchronizedBeforeSuite(func(ctx SpecContext) []byte {
	if cfg.DryRun {
		return mustJSON(suiteState{})
	}
	Expect(cfg.Validate()).To(Succeed())
	if cfg.ProductFile != "" { // bad input is refused before anything is built
		data, err := os.ReadFile(cfg.ProductFile)
		Expect(err).NotTo(HaveOccurred(), "E2E_PRODUCT_FILE")
		_, err = report.ParseProduct(data)
		Expect(err).NotTo(HaveOccurred(), "E2E_PRODUCT_FILE=%s", cfg.ProductFile)
	}
	start := time.Now()
	s := suiteState{Kubeconfig: cfg.KubeconfigPath(), RunID: fmt.Sprintf("%d", start.Unix())}
	if !cfg.UseExistingCluster {
		kind = kindcluster.New(cfg.ClusterName, nil)
		created, err := kind.Up(ctx, kindcluster.UpInput{ConfigPath: cfg.KindConfig, NodeImage: cfg.NodeImage,
			KubeconfigPath: s.Kubeconfig, WaitForReady: 3 * time.Minute})
		Expect(err).NotTo(HaveOccurred())
		Expect(kind.LoadImage(cfg.WorkloadImage)).To(Succeed())
		s.Created = created
		s.ClusterDecision = kind.Decision
	}
	c, err := framework.NewClients(s.Kubeconfig)
	Expect(err).NotTo(HaveOccurred())
	// A kind cluster the suite made (or reused) from its own config stays one whatever Node
	// objects someone else added; an existing cluster counts as kind only if every node is.
	s.IsKind = (kind != nil || clusterIsKind(ctx, c)) && !cfg.NotKind
	s.RunnerNode = runnerNode(ctx, c)
	leaseCtx, cancel := context.WithCancel(context.Background())
	stopLease = cancel
	Expect(runlease.Hold(leaseCtx, c.Kube, s.RunID, GinkgoWriter)).To(Succeed())
	var sweepAgents *nodeaccess.Agents
	if cfg.NodeAccess == "agent" {
		s.AgentNamespace = createAgentNamespace(ctx, c, s.RunID)
		sweepAgents = agentsIn(c, s.AgentNamespace)
	}
	// The lease is ours: every other run whose stamps are here is dead.
	s.Swept = sweepStamps(ctx, c, s.IsKind, sweepAgents, func(run string) bool { return provenance.Dead(run, s.RunID) })
	recordSweep(s.Swept)
	s.SetupSecs = time.Since(start).Seconds()
	Expect(writeEnvironment(ctx, c, s)).To(Succeed())
	return mustJSON(s)
}, func(ctx SpecContext, data []byte) {
	Expect(json.Unmarshal(data, &state)).To(Succeed())
	if cfg.DryRun {
		return
	}
	var err error
	clients, err = framework.NewClients(state.Kubeconfig)
	Expect(err).NotTo(HaveOccurred())
	if state.IsKind && kind == nil {
		kind = kindcluster.New(clusterNameOf(ctx, clients), nil)
	}
	if state.AgentNamespace != "" {
		agents = agentsIn(clients, state.AgentNamespace)
	}
	nodeChanges = node.Changer{Client: clients.Kube, Run: state.RunID, Allowed: cfg.NodeChangesAllowed(state.IsKind)}
	if cfg.Mode != "" {
		nodeChanges.Refusal = fmt.Sprintf("changes a node, which the %s mode does not do", cfg.Mode)
	}
}, NodeTimeout(15*time.Minute))

var _ = SynchronizedAfterSuite(func() {}, func(ctx SpecContext) {
	if cfg.DryRun || clients == nil {
		return
	}
	if stopLease != nil {
		defer func() { stopLease(); runlease.Release(context.Background(), clients.Kube) }()
	}
	checkNothingLeaked(ctx)
	if kind != nil && !cfg.UseExistingCluster {
		dir := filepath.Join(cfg.Artifacts, "kind-logs")
		if err := kind.ExportLogs(dir); err != nil {
			fmt.Fprintf(GinkgoWriter, "kind export logs: %v\n", err)
		}
		if state.Created && !cfg.KeepCluster {
			Expect(kind.Delete("")).To(Succeed())
		}
	}
}, NodeTimeout(10*time.Minute))

func mustJSON(v any) []byte {
	data, err := json.Marshal(v)
	Expect(err).NotTo(HaveOccurred())
	return data
}

// clusterIsKind: every node's providerID says kind, and kind knows the cluster.
func clusterIsKind(ctx context.Context, c *framework.Clients) bool {
	nodes, err := listNodes(ctx, c)
	if err != nil || len(nodes) == 0 {
		return false
	}
	for i := range nodes {
		if !kindcluster.IsKind(&nodes[i]) {
			return false
		}
	}
	return true
}

// createAgentNamespace makes the namespace of this run's node agent pods. It carries
// the run's label (a dead run's is swept by the next) and allows privileged pods
// where Pod Security admission is enforced.
func createAgentNamespace(ctx context.Context, c *framework.Clients, runID string) string {
	GinkgoHelper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "dsconform-agents-" + runID, Labels: map[string]string{
		provenance.RunLabel: runID, nodeaccess.AgentLabel: "true",
		"pod-security.kubernetes.io/enforce": "privileged", "pod-security.kubernetes.io/warn": "privileged"}}}
	_, err := c.Kube.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred(), "creating the node agents' namespace")
	return ns.Name
}

// agentsIn reaches nodes through agent pods in the run's agents namespace.
func agentsIn(c *framework.Clients, namespace string) *nodeaccess.Agents {
	return &nodeaccess.Agents{Client: c.Kube, Rest: c.Rest, Namespace: namespace, Image: cfg.WorkloadImage, Timeout: timeouts.Medium}
}

// removeAgents deletes the agent pods' namespace and waits until it is gone, so the
// leak check that follows sees nothing of them.
func removeAgents(ctx context.Context) {
	if state.AgentNamespace == "" {
		return
	}
	err := clients.Kube.CoreV1().Namespaces().Delete(ctx, state.AgentNamespace, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		Fail(fmt.Sprintf("deleting the node agents' namespace %s: %v", state.AgentNamespace, err))
	}
	Eventually(ctx, func() bool {
		_, err := clients.Kube.CoreV1().Namespaces().Get(ctx, state.AgentNamespace, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}).WithTimeout(timeouts.Long).Should(BeTrue(), "the node agents' namespace %s should be gone", state.AgentNamespace)
}

// runnerNode is the node of the pod the suite runs in ("" outside a pod): the pod is named
// by HOSTNAME, its namespace by the service account's mount.
func runnerNode(ctx context.Context, c *framework.Clients) string {
	ns, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
	if err != nil || os.Getenv("KUBERNETES_SERVICE_HOST") == "" {
		return ""
	}
	p, err := c.Kube.CoreV1().Pods(strings.TrimSpace(string(ns))).Get(ctx, os.Getenv("HOSTNAME"), metav1.GetOptions{})
	if err != nil {
		return ""
	}
	return p.Spec.NodeName
}
