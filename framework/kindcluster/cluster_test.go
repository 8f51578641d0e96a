package kindcluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestParseConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, f := range []string{"../../kind-configs/default.yaml", "../../kind-configs/small.yaml"} {
		if _, err := ParseConfig(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	cfg, err := ParseConfig("../../kind-configs/default.yaml")
	if err != nil || len(cfg.Nodes) != 4 {
		t.Fatalf("default topology: %v nodes, err %v; want 1 control plane + 3 workers", len(cfg.Nodes), err)
	}
	cases := map[string]string{
		write("typo.yaml", "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodez: []\n"):  "does not parse",
		write("kind.yaml", "kind: Pod\napiVersion: v1\n"):                                     "want kind: Cluster",
		write("broken.yaml", "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes: [\n"): "does not parse",
		filepath.Join(dir, "missing.yaml"):                                                    "cannot be read",
	}
	for path, want := range cases {
		if _, err := ParseConfig(path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want one containing %q", filepath.Base(path), err, want)
		}
	}
}

// A Node someone added (no kubelet, never Ready) must not make the cluster look broken:
// only the cluster's own nodes are checked for system daemons.
func TestDaemonsReadyOnOwnNodesOnly(t *testing.T) {
	yes := true
	pod := func(ds, node string, ready bool) corev1.Pod {
		st := corev1.ConditionFalse
		if ready {
			st = corev1.ConditionTrue
		}
		return corev1.Pod{ObjectMeta: metav1.ObjectMeta{OwnerReferences: []metav1.OwnerReference{{Kind: "DaemonSet", Name: ds, Controller: &yes}}},
			Spec: corev1.PodSpec{NodeName: node}, Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}}}
	}
	pods := []corev1.Pod{pod("kube-proxy", "cp", true), pod("kube-proxy", "w1", true), pod("kube-proxy", "prod-e2e-pool-1", false)}
	if err := daemonsReadyOn([]string{"kube-proxy"}, pods, []string{"cp", "w1"}); err != nil {
		t.Errorf("a foreign node's pending daemon pod made the cluster unusable: %v", err)
	}
	pods[1] = pod("kube-proxy", "w1", false)
	if err := daemonsReadyOn([]string{"kube-proxy"}, pods, []string{"cp", "w1"}); err == nil || !strings.Contains(err.Error(), "node w1") {
		t.Errorf("an own node without a ready daemon pod should be reported: %v", err)
	}
}

func TestKubeletCgroupsAndSummary(t *testing.T) {
	if got := KubeletCgroups("tmpfs\n", "failCgroupV1: false\n"); got != "kubelet running on cgroup v1 with failCgroupV1=false" {
		t.Errorf("KubeletCgroups = %q", got)
	}
	facts := map[string]NodeFacts{"a": {Runtime: "containerd 2.3.7"}, "b": {Runtime: "containerd 2.3.7"}, "c": {}}
	if got := Summary(facts, func(f NodeFacts) string { return f.Runtime }); got != "containerd 2.3.7" {
		t.Errorf("Summary = %q", got)
	}
}

func TestNameOf(t *testing.T) {
	node := func(pid string) corev1.Node { return corev1.Node{Spec: corev1.NodeSpec{ProviderID: pid}} }
	for _, tc := range []struct {
		name  string
		nodes []corev1.Node
		want  string
		ok    bool
	}{
		{"one kind cluster", []corev1.Node{node(ProviderID("dsconform", "dsconform-control-plane")), node(ProviderID("dsconform", "dsconform-worker"))}, "dsconform", true},
		{"no nodes", nil, "", false},
		{"a foreign node", []corev1.Node{node(ProviderID("dsconform", "a")), node("aws:///eu-west-1a/i-0abc")}, "", false},
		{"two kind clusters", []corev1.Node{node(ProviderID("a", "a-worker")), node(ProviderID("b", "b-worker"))}, "", false},
		{"a node without a providerID", []corev1.Node{node("")}, "", false},
	} {
		got, ok := NameOf(tc.nodes)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: NameOf = %q, %v; want %q, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func TestOutOfService(t *testing.T) {
	ready := corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionTrue}
	notReady := corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionUnknown}
	node := func(c corev1.NodeCondition, taints ...corev1.Taint) *corev1.Node {
		n := &corev1.Node{Spec: corev1.NodeSpec{Taints: taints}, Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{c}}}
		n.Name = "w"
		return n
	}
	for _, tc := range []struct {
		n    *corev1.Node
		want string
	}{
		{node(ready), ""},
		{node(ready, corev1.Taint{Key: "own", Effect: corev1.TaintEffectNoSchedule}), ""},
		{node(notReady), "node w is not Ready"},
		{node(ready, corev1.Taint{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute}), "node w is Ready but still carries the taint node.kubernetes.io/unreachable:NoExecute"},
		{node(ready, corev1.Taint{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoSchedule}), "node w is Ready but still carries the taint node.kubernetes.io/not-ready:NoSchedule"},
	} {
		got := ""
		if err := OutOfService(tc.n); err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("OutOfService: got %q, want %q", got, tc.want)
		}
	}
}
