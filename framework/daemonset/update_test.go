package daemonset

import (
	"reflect"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var t0 = time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)

// updatePod is a daemon pod of revision rev on node; readyAt zero means not ready,
// deletedAt zero means not being deleted.
func updatePod(name, node, rev string, readyAt, deletedAt time.Time) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{appsv1.DefaultDaemonSetUniqueLabelKey: rev}},
		Spec: corev1.PodSpec{NodeName: node}}
	if !readyAt.IsZero() {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(readyAt)}}
	}
	if !deletedAt.IsZero() {
		d := metav1.NewTime(deletedAt)
		p.DeletionTimestamp = &d
	}
	return p
}

// pinned gives a pod the controller's node pin (it is not bound yet).
func pinned(p *corev1.Pod, node string) *corev1.Pod {
	p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
		NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{node}}}}}}}}
	return p
}

func TestUpdateMoment(t *testing.T) {
	var none time.Time
	pods := []*corev1.Pod{
		updatePod("a-old", "a", "v1", t0, none),
		updatePod("a-new", "a", "v2", none, none), // surging, not ready yet
		updatePod("b-old", "b", "v1", t0, t0),     // terminating: no longer counts
		updatePod("b-new", "b", "v2", none, none),
		updatePod("c-1", "c", "v2", t0, none),
		updatePod("c-2", "c", "v2", t0, none),                 // two of one revision
		pinned(updatePod("d-new", "", "v2", none, none), "d"), // not yet bound: counts for its pinned node
		pinned(updatePod("e-new", "", "v2", none, none), "e"),
	}
	m := UpdateMoment(pods, []string{"a", "b", "c", "d"})
	if want := []string{"b", "d"}; !reflect.DeepEqual(m.Unavailable, want) {
		t.Errorf("unavailable %v, want %v (b's only ready pod terminates, d has none)", m.Unavailable, want)
	}
	if m.PerNode["d"] != 1 || m.PerNode[""] != 0 {
		t.Errorf("pending pods pinned to d and e: per node %v, want d:1 and nothing under \"\"", m.PerNode)
	}
	if want := []string{"a", "c"}; !reflect.DeepEqual(m.Surging, want) {
		t.Errorf("surging %v, want %v", m.Surging, want)
	}
	if want := []string{"c"}; !reflect.DeepEqual(m.SameRevisionTwice, want) {
		t.Errorf("same revision twice %v, want %v", m.SameRevisionTwice, want)
	}
	if m.PerNode["b"] != 1 {
		t.Errorf("node b: %d live pods, want 1", m.PerNode["b"])
	}
	if want := []string{"v1", "v2"}; !reflect.DeepEqual(m.Revisions, want) {
		t.Errorf("revisions %v, want %v", m.Revisions, want)
	}
	if want := map[string]int{"b": 1}; !reflect.DeepEqual(m.DeletingPerNode, want) {
		t.Errorf("terminating per node %v, want %v", m.DeletingPerNode, want)
	}
}

func TestEarlyDeletions(t *testing.T) {
	var none time.Time
	const minReady = 5 * time.Second
	for name, c := range map[string]struct {
		pods []*corev1.Pod
		want string // substring of the one finding; "" for none
	}{
		"successor ready long enough": {pods: []*corev1.Pod{
			updatePod("old", "a", "v1", t0, t0.Add(6*time.Second)), updatePod("new", "a", "v2", t0, none)}},
		"within the second of slack": {pods: []*corev1.Pod{
			updatePod("old", "a", "v1", t0, t0.Add(4*time.Second)), updatePod("new", "a", "v2", t0, none)}},
		"successor ready too briefly": {pods: []*corev1.Pod{
			updatePod("old", "a", "v1", t0, t0.Add(2*time.Second)), updatePod("new", "a", "v2", t0, none)},
			want: "its successor ready only since"},
		"successor not ready": {pods: []*corev1.Pod{
			updatePod("old", "a", "v1", t0, t0.Add(10*time.Second)), updatePod("new", "a", "v2", none, none)},
			want: "while no pod of another revision was ready there"},
		"a ready pod of the same revision is no successor": {pods: []*corev1.Pod{
			updatePod("old", "a", "v1", t0, t0.Add(10*time.Second)), updatePod("twin", "a", "v1", t0, none)},
			want: "no pod of another revision"},
		"a successor on another node does not count": {pods: []*corev1.Pod{
			updatePod("old", "a", "v1", t0, t0.Add(10*time.Second)), updatePod("new", "b", "v2", t0, none)},
			want: "node a: pod old"},
	} {
		got := EarlyDeletions(c.pods, minReady)
		switch {
		case c.want == "" && len(got) > 0:
			t.Errorf("%s: unexpected %v", name, got)
		case c.want != "" && (len(got) != 1 || !strings.Contains(got[0], c.want)):
			t.Errorf("%s: got %v, want one finding containing %q", name, got, c.want)
		}
	}
}
