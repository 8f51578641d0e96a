package daemonset

import (
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestPinnedToKeepsTheProbeToItsNodes(t *testing.T) {
	node := func(name string, taints ...corev1.Taint) corev1.Node {
		return corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.NodeSpec{Taints: taints}}
	}
	tainted := corev1.Taint{Key: "dsconform.e2e/nosched", Value: "x", Effect: corev1.TaintEffectNoSchedule}
	nodes := []corev1.Node{node("a"), node("b", tainted), node("c")}
	base := NewBuilder("probe", "ns", "img").Obj()

	if got := ExpectedNodes(PinnedTo(base, []string{"a", "b"}), nodes); !slices.Equal(got, []string{"a"}) {
		t.Errorf("pinned to a and b, b tainted: expected on %v, want [a]", got)
	}
	if got := ExpectedNodes(PinnedTo(base, []string{"b"}), nodes); len(got) != 0 {
		t.Errorf("pinned to tainted b: expected on %v, want none", got)
	}
	for _, term := range RequiredTerms(&PinnedTo(base, []string{"a", "b"}).Spec.Template.Spec) {
		for _, f := range term.MatchFields {
			if len(f.Values) != 1 {
				t.Errorf("matchFields %v: the API takes exactly one value for In on a node field", f)
			}
		}
	}
	if base.Spec.Template.Spec.Affinity != nil {
		t.Error("PinnedTo changed the DaemonSet it was given")
	}
}

func TestCheckExcludedEverywhere(t *testing.T) {
	probe := func(gen, observed int64, desired, mis int32) *appsv1.DaemonSet {
		return &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: "ns", Generation: gen},
			Status: appsv1.DaemonSetStatus{ObservedGeneration: observed, DesiredNumberScheduled: desired, NumberMisscheduled: mis}}
	}
	nodes := []string{"w1", "w2"}
	for _, tc := range []struct {
		name string
		ds   *appsv1.DaemonSet
		want string // "" for nil, else a part of the error
	}{
		{"not synced: a fresh status reads zero desired but proves nothing", probe(1, 0, 0, 0), "not synced yet"},
		{"synced from a stale view: a node still desired", probe(1, 1, 1, 0), "still counts 1 of nodes w1, w2 desired"},
		{"synced after the taint: none desired, the stale pod misscheduled", probe(1, 1, 0, 1), ""},
		{"synced after the taint from the start", probe(1, 1, 0, 0), ""},
	} {
		err := CheckExcludedEverywhere(tc.ds, nodes)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v, want nil", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
}
