// Package session is one run of the suite against one cluster, around its specs: the
// first process brings the cluster up (or takes the existing one), holds the run's
// Lease, sweeps what dead runs left, and records the environment the report shows
// (Start); every process then reaches the cluster the same way (Join); and the first
// process ends the run by undoing and checking for anything of this run still there,
// then exporting logs and deleting a cluster it created (Finish).
//
// It returns errors rather than failing a spec: suites/e2e wires it into Ginkgo.
package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/dsconform/dsconform/framework"
	"github.com/dsconform/dsconform/framework/kindcluster"
	"github.com/dsconform/dsconform/framework/leftovers"
	"github.com/dsconform/dsconform/framework/node"
	"github.com/dsconform/dsconform/framework/nodeaccess"
	"github.com/dsconform/dsconform/framework/provenance"
	"github.com/dsconform/dsconform/framework/report"
	"github.com/dsconform/dsconform/framework/runlease"
)

// State travels from the first process to every parallel process.
type State struct {
	Kubeconfig  string  `json:"kubeconfig"`
	ClusterName string  `json:"clusterName"` // the kind cluster's name, when it is one
	Created     bool    `json:"created"`
	IsKind      bool    `json:"isKind"`
	RunID       string  `json:"runID"` // stamps everything this run creates or changes
	SetupSecs   float64 `json:"setupSeconds"`
	// AgentNamespace holds the node agent pods (E2E_NODE_ACCESS=agent).
	AgentNamespace string `json:"agentNamespace,omitempty"`
	// RunnerNode is the node the suite itself runs on, when it runs in a pod: specs leave
	// it for last when they pick a node to stop, cut off or taint.
	RunnerNode string `json:"runnerNode,omitempty"`
	// Timers are the cluster's own timers, as read at setup: the tiers that wait on them
	// derive from these (framework.Timeouts.For).
	Timers framework.ClusterTimers `json:"timers"`
}

// Session is what every process uses to reach the cluster.
type Session struct {
	State
	Config   *framework.Config
	Timeouts framework.Timeouts
	Clients  *framework.Clients
	// Kind is the cluster under test when it is a kind cluster.
	Kind *kindcluster.Cluster
	// Agents reach nodes through privileged pods when E2E_NODE_ACCESS=agent.
	Agents *nodeaccess.Agents
	// NodeChanges makes every change to a node, stamped with this run's ID.
	NodeChanges node.Changer

	stopLease context.CancelFunc // the first process's
}

// RunInfo is what the report says about how the run was asked for.
type RunInfo struct {
	LabelFilter string
	RandomSeed  int64
	Procs       int
}

// Start is the first process's setup; the returned Session holds the run's Lease until
// Finish. Log gets what the setup found (the sweep, the cluster decision).
func Start(ctx context.Context, cfg *framework.Config, t framework.Timeouts, run RunInfo, log io.Writer) (*Session, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	product, err := readProduct(cfg.ProductFile) // bad input is refused before anything is built
	if err != nil {
		return nil, err
	}
	start := time.Now()
	s := &Session{Config: cfg, Timeouts: t, State: State{Kubeconfig: cfg.KubeconfigPath(), RunID: fmt.Sprintf("%d", start.Unix()),
		ClusterName: cfg.ClusterName}}
	decision := ""
	if !cfg.UseExistingCluster {
		s.Kind = kindcluster.New(cfg.ClusterName, nil)
		s.Created, err = s.Kind.Up(ctx, kindcluster.UpInput{ConfigPath: cfg.KindConfig, NodeImage: cfg.NodeImage,
			KubeconfigPath: s.Kubeconfig, WaitForReady: t.ClusterReady})
		if err != nil {
			return nil, err
		}
		if err := s.Kind.LoadImage(cfg.WorkloadImage); err != nil {
			return nil, err
		}
		decision = s.Kind.Decision
	}
	if s.Clients, err = framework.NewClients(s.Kubeconfig); err != nil {
		return nil, err
	}
	nodes, err := s.Clients.Kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing the nodes: %w", err)
	}
	// A kind cluster the suite made (or reused) from its own config stays one whatever
	// Node objects someone else added; an existing cluster counts as kind only if every
	// node is.
	if name, ok := kindcluster.NameOf(nodes.Items); s.Kind == nil && ok {
		s.ClusterName = name
		s.IsKind = true
	}
	s.IsKind = (s.IsKind || s.Kind != nil) && !cfg.NotKind
	s.RunnerNode = runnerNode(ctx, s.Clients)
	leaseCtx, cancel := context.WithCancel(context.Background())
	if err := runlease.Hold(leaseCtx, s.Clients.Kube, s.RunID, log); err != nil {
		cancel()
		return nil, err
	}
	s.stopLease = cancel
	if cfg.NodeAccess == "agent" {
		if s.AgentNamespace, err = createAgentNamespace(ctx, s.Clients, s.RunID); err != nil {
			return s, err
		}
	}
	s.join()
	// The lease is ours: every other run whose stamps are here is dead.
	swept, err := s.sweep(ctx, func(run string) bool { return provenance.Dead(run, s.RunID) })
	if err != nil {
		return s, fmt.Errorf("looking for what earlier runs of the suite left behind: %w", err)
	}
	if lines := swept.Lines(); len(lines) > 0 {
		fmt.Fprintf(log, "before the run, what earlier runs left:\n  %s\n", strings.Join(lines, "\n  "))
	}
	s.SetupSecs = time.Since(start).Seconds()
	env := s.environment(ctx, nodes.Items, run, swept, decision, product)
	return s, report.WriteEnvironment(filepath.Join(cfg.Artifacts, report.EnvironmentFile), env)
}

// Join is every other process's: the cluster as the first process set it up.
func Join(cfg *framework.Config, t framework.Timeouts, st State) (*Session, error) {
	s := &Session{Config: cfg, Timeouts: t, State: st}
	var err error
	if s.Clients, err = framework.NewClients(st.Kubeconfig); err != nil {
		return nil, err
	}
	s.join()
	return s, nil
}

func (s *Session) join() {
	if s.IsKind && s.Kind == nil {
		s.Kind = kindcluster.New(s.ClusterName, nil)
	}
	if s.AgentNamespace != "" {
		s.Agents = &nodeaccess.Agents{Client: s.Clients.Kube, Rest: s.Clients.Rest, Namespace: s.AgentNamespace,
			Image: s.Config.WorkloadImage, Timeout: s.Timeouts.Medium}
	}
	s.NodeChanges = node.Changer{Client: s.Clients.Kube, Run: s.RunID, Allowed: s.Config.NodeChangesAllowed(s.IsKind)}
	if s.Config.Mode != "" {
		s.NodeChanges.Refusal = fmt.Sprintf("changes a node, which the %s mode does not do", s.Config.Mode)
	}
}

// HostsReachable reports whether there is a way onto the nodes' hosts: kind's exec on
// a kind cluster, or agent pods.
func (s *Session) HostsReachable() bool { return s.Agents != nil || (s.IsKind && s.Kind != nil) }

// Host is a node's host, reached the configured way (kind's exec or its agent pod);
// every change made through it is stamped on the Node first. False when there is no
// way onto the nodes.
func (s *Session) Host(ctx context.Context, name string) (node.Host, bool, error) {
	switch {
	case s.Agents != nil:
		n, err := s.Agents.Node(ctx, name)
		return node.Host{Node: n, Changer: s.NodeChanges}, true, err
	case s.IsKind && s.Kind != nil:
		n, err := s.Kind.Node(name)
		if err != nil {
			return node.Host{}, true, fmt.Errorf("kind node %s: %w", name, err)
		}
		return node.Host{Node: nodeaccess.Kind(n), Changer: s.NodeChanges}, true, nil
	}
	return node.Host{}, false, nil
}

// Finish ends the run (first process only): it undoes and deletes whatever is still
// stamped with this run's ID, waits for the run's namespaces to go, removes the node
// agents, exports kind's logs and deletes a cluster the run created (unless kept), and
// releases the Lease. The error names what the run left behind (undone now).
func (s *Session) Finish(ctx context.Context) error {
	if s.stopLease != nil {
		defer func() { s.stopLease(); runlease.Release(context.Background(), s.Clients.Kube) }()
	}
	leaked, err := s.sweep(ctx, func(run string) bool { return run == s.RunID }, s.AgentNamespace)
	if err != nil {
		return fmt.Errorf("looking for what this run left behind: %w", err)
	}
	var left []string
	err = wait.PollUntilContextTimeout(ctx, s.Timeouts.Poll, s.Timeouts.Long, true, func(ctx context.Context) (bool, error) {
		nss, err := s.Clients.Kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: provenance.RunLabel + "=" + s.RunID})
		if err != nil {
			return false, nil
		}
		left = nil
		for _, ns := range nss.Items {
			if ns.Name != s.AgentNamespace {
				left = append(left, ns.Name+" ("+string(ns.Status.Phase)+")")
			}
		}
		return len(left) == 0, nil
	})
	var problems []error
	if err != nil {
		problems = append(problems, fmt.Errorf("namespaces of this run still there after %v: %s", s.Timeouts.Long, strings.Join(left, ", ")))
	}
	problems = append(problems, s.removeAgents(ctx))
	var leaks []string
	for _, l := range [][]string{leaked.Undone, leaked.Pending, leaked.Errors, leaked.Unreadable} {
		leaks = append(leaks, l...)
	}
	if len(leaks) > 0 {
		problems = append(problems, fmt.Errorf("the suite left these behind (stamped with this run, %s; what could be undone has been undone now):\n  %s", s.RunID, strings.Join(leaks, "\n  ")))
	}
	if s.Kind != nil && !s.Config.UseExistingCluster {
		if err := s.Kind.ExportLogs(filepath.Join(s.Config.Artifacts, "kind-logs")); err != nil {
			fmt.Fprintf(os.Stderr, "kind export logs: %v\n", err)
		}
		if s.Created && !s.Config.KeepCluster {
			problems = append(problems, s.Kind.Delete(""))
		}
	}
	return errors.Join(problems...)
}

// sweep undoes what the selected runs stamped (framework/leftovers): through kind's
// docker exec on a kind cluster, through agents where there are, and changing nodes only
// on kind or with E2E_ALLOW_NODE_CHANGES=true. The spared namespaces stay.
func (s *Session) sweep(ctx context.Context, runs func(string) bool, spare ...string) (leftovers.Result, error) {
	in := leftovers.Input{Client: s.Clients.Kube, NodeChanges: s.Config.NodeChangesAllowed(s.IsKind), Runs: runs, SpareNamespaces: spare}
	if s.IsKind && s.Kind != nil {
		in.Containers = s.Kind
	}
	if s.Agents != nil || in.Containers != nil {
		in.Host = func(ctx context.Context, name string) (nodeaccess.Node, error) {
			h, _, err := s.Host(ctx, name)
			return h.Node, err
		}
	}
	return leftovers.Run(ctx, in)
}

// createAgentNamespace makes the namespace of this run's node agent pods. It carries the
// run's label (a dead run's is swept by the next) and allows privileged pods where Pod
// Security admission is enforced.
func createAgentNamespace(ctx context.Context, c *framework.Clients, runID string) (string, error) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "dsconform-agents-" + runID, Labels: map[string]string{
		provenance.RunLabel: runID, nodeaccess.AgentLabel: "true",
		"pod-security.kubernetes.io/enforce": "privileged", "pod-security.kubernetes.io/warn": "privileged"}}}
	if _, err := c.Kube.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		return "", fmt.Errorf("creating the node agents' namespace: %w", err)
	}
	return ns.Name, nil
}

// removeAgents deletes the agent pods' namespace and waits until it is gone, so the leak
// check sees nothing of them.
func (s *Session) removeAgents(ctx context.Context) error {
	if s.AgentNamespace == "" {
		return nil
	}
	err := s.Clients.Kube.CoreV1().Namespaces().Delete(ctx, s.AgentNamespace, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting the node agents' namespace %s: %w", s.AgentNamespace, err)
	}
	err = wait.PollUntilContextTimeout(ctx, s.Timeouts.Poll, s.Timeouts.Long, true, func(ctx context.Context) (bool, error) {
		_, err := s.Clients.Kube.CoreV1().Namespaces().Get(ctx, s.AgentNamespace, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		return fmt.Errorf("the node agents' namespace %s is still there after %v", s.AgentNamespace, s.Timeouts.Long)
	}
	return nil
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
