package report

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/dsconform/dsconform/framework/leftovers"
)

// Environment is environment.json: what the report says about the cluster under test
// and the run. The suite writes it once, before the first spec.
type Environment struct {
	Mode           string           `json:"mode,omitempty"` // the named mode the run used (quick, non-disruptive, certified)
	Started        time.Time        `json:"started"`
	ServerVersion  string           `json:"serverVersion"`
	Release        string           `json:"kubernetesRelease"` // "1.37: supported until 2027-10-28"
	Runtime        string           `json:"nodeRuntime,omitempty"`
	Kubelet        string           `json:"kubeletCgroups,omitempty"`
	NodeImage      string           `json:"nodeImage,omitempty"`
	KindVersion    string           `json:"kindVersion"`
	ClusterName    string           `json:"clusterName"`
	IsKind         bool             `json:"isKind"`
	NodeAccess     string           `json:"nodeAccess"`        // how specs reached the nodes' hosts
	Product        *Product         `json:"product,omitempty"` // from E2E_PRODUCT_FILE
	ClusterCreated bool             `json:"clusterCreated"`
	SetupSeconds   float64          `json:"setupSeconds"`
	SuiteCommit    string           `json:"suiteCommit"`
	LabelFilter    string           `json:"labelFilter"`
	RandomSeed     int64            `json:"randomSeed"`
	ParallelProcs  int              `json:"parallelProcesses"`
	Nodes          []NodeSummary    `json:"nodes"`
	Swept          leftovers.Result `json:"sweep"` // what dead runs left, undone first, and what was left as found
	ClusterNote    string           `json:"clusterDecision,omitempty"`
	// Timers are the cluster timers that bound node specs, as the cluster under test sets
	// them ("component flag=value"): the node lifecycle controller's grace period, the
	// API server's default toleration seconds, the kubelet's sync and file-check periods.
	Timers []string `json:"timers,omitempty"`
}

// Row is one line of the report's environment table.
type Row struct{ Name, Value string }

// Rows is the environment as the report's table shows it (the nodes and the sweep have
// tables of their own).
func (e *Environment) Rows() []Row {
	rows := []Row{{"mode", e.Mode}, {"server version", e.ServerVersion}, {"release", e.Release},
		{"node runtime", e.Runtime}, {"kubelet", e.Kubelet}, {"node image", e.NodeImage}, {"kind (Go module)", e.KindVersion},
		{"cluster", e.ClusterName}, {"kind cluster", fmt.Sprint(e.IsKind)}, {"cluster created by this run", fmt.Sprint(e.ClusterCreated)},
		{"cluster decision", e.ClusterNote}, {"node access", e.NodeAccess}, {"suite commit", e.SuiteCommit},
		{"label filter", e.LabelFilter}, {"random seed", fmt.Sprint(e.RandomSeed)}, {"parallel processes", fmt.Sprint(e.ParallelProcs)},
		{"setup before the first spec", fmt.Sprintf("%.0fs", e.SetupSeconds)}, {"started", e.Started.Format(time.RFC3339)}}
	for _, t := range e.Timers {
		k, v, _ := strings.Cut(t, "=")
		rows = append(rows, Row{"timer: " + k, v})
	}
	if e.Product != nil {
		rows = append(rows, Row{"product", fmt.Sprintf("%s %s %s (%s)", e.Product.Vendor, e.Product.Name, e.Product.Version, e.Product.Type)})
	}
	out := rows[:0]
	for _, r := range rows {
		if r.Value != "" {
			out = append(out, r)
		}
	}
	return out
}

// NodeSummary is one node as the report shows it.
type NodeSummary struct {
	Name           string   `json:"name"`
	Roles          []string `json:"roles"`
	Taints         []string `json:"taints"`
	KubeletVersion string   `json:"kubeletVersion"`
	Ready          bool     `json:"ready"`
	OS             string   `json:"os"`
	Runtime        string   `json:"containerRuntime"`
	Crictl         string   `json:"crictl,omitempty"` // what `crictl version` answers on the node
}

// SummarizeNodes is the nodes as the report shows them: roles from the role labels,
// taints as key=value:Effect, readiness from the Ready condition.
func SummarizeNodes(nodes []corev1.Node) []NodeSummary {
	out := make([]NodeSummary, 0, len(nodes))
	for _, n := range nodes {
		info := n.Status.NodeInfo
		s := NodeSummary{Name: n.Name, KubeletVersion: info.KubeletVersion, Runtime: info.ContainerRuntimeVersion,
			OS: fmt.Sprintf("%s, kernel %s", info.OSImage, info.KernelVersion)}
		for l := range n.Labels {
			if r, ok := strings.CutPrefix(l, "node-role.kubernetes.io/"); ok {
				s.Roles = append(s.Roles, r)
			}
		}
		sort.Strings(s.Roles)
		for _, t := range n.Spec.Taints {
			s.Taints = append(s.Taints, fmt.Sprintf("%s=%s:%s", t.Key, t.Value, t.Effect))
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				s.Ready = c.Status == corev1.ConditionTrue
			}
		}
		out = append(out, s)
	}
	return out
}
