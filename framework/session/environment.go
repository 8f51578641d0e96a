package session

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	kindversion "sigs.k8s.io/kind/pkg/cmd/kind/version"

	"github.com/dsconform/dsconform/framework/kindcluster"
	"github.com/dsconform/dsconform/framework/leftovers"
	"github.com/dsconform/dsconform/framework/node"
	"github.com/dsconform/dsconform/framework/releases"
	"github.com/dsconform/dsconform/framework/report"
)

// environment is what the report says about the cluster under test and the run.
func (s *Session) environment(ctx context.Context, nodes []corev1.Node, run RunInfo, swept leftovers.Result, decision string, product *report.Product) report.Environment {
	env := report.Environment{Mode: s.Config.Mode, Started: time.Now().UTC(), NodeImage: s.Config.NodeImage, KindVersion: "v" + kindversion.Version(),
		ClusterName: s.ClusterName, IsKind: s.IsKind, ClusterCreated: s.Created, SetupSeconds: s.SetupSecs, SuiteCommit: suiteCommit(),
		LabelFilter: run.LabelFilter, RandomSeed: run.RandomSeed, ParallelProcs: run.Procs, Swept: swept, ClusterNote: decision,
		Product: product, NodeAccess: s.nodeAccess(), Nodes: report.SummarizeNodes(nodes)}
	if v, err := s.Clients.Kube.Discovery().ServerVersion(); err == nil {
		env.ServerVersion = v.GitVersion
		if r, err := releases.Lookup(v.GitVersion); err == nil {
			env.Release = r.Minor + ": " + r.Standing(time.Now(), releases.All())
		} else {
			env.Release = err.Error()
		}
	}
	kubelet := "" // whose configz to read: a Ready worker, else a Ready control plane
	for _, n := range nodes {
		if kindcluster.NodeReady(&n) && (kubelet == "" || !node.IsControlPlane(&n)) {
			kubelet = n.Name
		}
	}
	env.Timers, s.Timers = clusterTimers(ctx, s.Clients.Kube, kubelet)
	if s.IsKind && s.Kind != nil {
		// What only the node itself can tell: the runtime's versions, whether crictl
		// answers, and how the kubelet runs on the host's cgroups.
		var names []string
		for _, n := range env.Nodes {
			names = append(names, n.Name)
		}
		facts := s.Kind.Describe(ctx, names)
		for i := range env.Nodes {
			env.Nodes[i].Crictl = facts[env.Nodes[i].Name].Crictl
		}
		env.Runtime = kindcluster.Summary(facts, func(f kindcluster.NodeFacts) string { return f.Runtime })
		env.Kubelet = kindcluster.Summary(facts, func(f kindcluster.NodeFacts) string { return f.KubeletCgroups })
	}
	return env
}

func (s *Session) nodeAccess() string {
	switch {
	case s.AgentNamespace != "":
		return "agent pods (privileged, host PID and network) in namespace " + s.AgentNamespace + ", through the API server's exec"
	case s.IsKind:
		return "kind (docker exec into the node containers)"
	}
	return "none: specs that need a node's host are skipped (E2E_NODE_ACCESS=agent enables them)"
}

// readProduct reads and checks E2E_PRODUCT_FILE (nil without one).
func readProduct(path string) (*report.Product, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("E2E_PRODUCT_FILE: %w", err)
	}
	p, err := report.ParseProduct(data)
	if err != nil {
		return nil, fmt.Errorf("E2E_PRODUCT_FILE=%s: %w", path, err)
	}
	return &p, nil
}

// suiteCommit is the suite's commit: recorded in the suite image at build time, else
// asked of git in the checkout.
func suiteCommit() string {
	if c := os.Getenv("E2E_SUITE_COMMIT"); c != "" {
		return c
	}
	out, err := exec.Command("git", "describe", "--always", "--dirty").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}
