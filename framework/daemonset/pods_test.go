package daemonset

import (
	"reflect"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func TestNodesWithPodsCountsRunningOwnedPodsOnly(t *testing.T) {
	ds := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "ds", UID: "ds-uid"}}
	pod := func(name, node string, owner types.UID, phase corev1.PodPhase, deleting bool) corev1.Pod {
		yes := true
		p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, OwnerReferences: []metav1.OwnerReference{{UID: owner, Controller: &yes}}},
			Spec: corev1.PodSpec{NodeName: node}, Status: corev1.PodStatus{Phase: phase}}
		if deleting {
			now := metav1.Now()
			p.DeletionTimestamp = &now
		}
		return p
	}
	pods := []corev1.Pod{pod("a", "n2", "ds-uid", corev1.PodRunning, false), pod("b", "n1", "ds-uid", corev1.PodRunning, false),
		pod("c", "n3", "ds-uid", corev1.PodPending, false), pod("d", "n4", "ds-uid", corev1.PodRunning, true),
		pod("e", "n5", "other", corev1.PodRunning, false), pod("f", "n1", "ds-uid", corev1.PodRunning, false)}
	if got, want := NodesWithPods(ds, pods), []string{"n1", "n2"}; !reflect.DeepEqual(got, want) {
		t.Errorf("NodesWithPods = %v, want %v", got, want)
	}
	if got := RunningPodsByNode(ds, pods)["n1"]; !reflect.DeepEqual(got, []string{"b", "f"}) {
		t.Errorf("pods on n1 = %v, want [b f]", got)
	}
	if got := NodesWithPods(ds, nil); got == nil || len(got) != 0 {
		t.Errorf("no pods: %#v, want an empty list", got)
	}
}

func TestColumns(t *testing.T) {
	raw := []byte(`{"kind":"Table","apiVersion":"meta.k8s.io/v1","columnDefinitions":[{"name":"Name"},{"name":"Desired"},{"name":"Node Selector"}],
		"rows":[{"cells":["ds",3,"<none>"]}]}`)
	cols, err := columns(raw)
	if err != nil || cols["Desired"] != "3" || cols["Node Selector"] != "<none>" {
		t.Errorf("columns = %v, %v", cols, err)
	}
	if _, err := columns([]byte(`{"rows":[]}`)); err == nil {
		t.Error("a table without the row should be an error")
	}
}

func TestAffinityTermsOfAPodWithoutAffinity(t *testing.T) {
	var spec corev1.PodSpec
	if RequiredTerms(&spec) != nil || PreferredTerms(&spec) != nil || PinnedNode(&corev1.Pod{}) != "" {
		t.Error("a pod without affinity has no terms and no pin")
	}
	spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
		NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"n1"}}}}}}}}
	if got := PinnedNode(&corev1.Pod{Spec: spec}); got != "n1" || len(RequiredTerms(&spec)) != 1 {
		t.Errorf("pinned to %q, %d terms", got, len(RequiredTerms(&spec)))
	}
}

func TestPlacementDiff(t *testing.T) {
	for _, c := range []struct {
		want, got []string
		says      string
	}{
		{[]string{"w2", "w3"}, []string{"w1", "w2", "w3"}, "a pod on w1, where none should run"},
		{[]string{"w1", "w2"}, []string{"w2"}, "no pod on w1, where one should run"},
		{[]string{"w1"}, []string{"w2"}, "a pod on w2, where none should run; no pod on w1, where one should run"},
		{[]string{"w1"}, []string{"w1"}, "as wanted"},
	} {
		if got := PlacementDiff(c.want, c.got); got != c.says {
			t.Errorf("PlacementDiff(%v, %v) = %q, want %q", c.want, c.got, got, c.says)
		}
	}
}
