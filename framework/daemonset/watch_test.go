package daemonset

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// A maxSurge rollout over nodes a and b, as the watch sees it, moment by moment.
func TestObserverKeepsTheWorstMoments(t *testing.T) {
	var none time.Time
	later := t0.Add(10 * time.Second)
	o := &Observer{Expected: []string{"a", "b"}, MinReady: 5 * time.Second}
	for _, moment := range [][]*corev1.Pod{
		{updatePod("a1", "a", "v1", t0, none), updatePod("b1", "b", "v1", t0, none)},
		{updatePod("a1", "a", "v1", t0, none), updatePod("a2", "a", "v2", none, none), updatePod("b1", "b", "v1", t0, none)},
		// a's old pod goes 2 s after its successor became ready: before minReadySeconds.
		{updatePod("a1", "a", "v1", t0, later), updatePod("a2", "a", "v2", later.Add(-2*time.Second), none), updatePod("b1", "b", "v1", t0, none),
			updatePod("b2", "b", "v2", none, none)},
		{updatePod("a2", "a", "v2", t0, none), updatePod("b1", "b", "v1", t0, t0)}, // b has no ready pod
	} {
		o.Observe(moment)
	}
	x := o.Extremes
	// A terminating old pod no longer makes its node surge: one node at a time here.
	if x.MaxPerNode != 2 || x.MaxSurging != 1 || x.MaxSameRevisionPerNode != 1 {
		t.Errorf("per node %d, surging %d, same revision %d; want 2, 1, 1 (%+v)", x.MaxPerNode, x.MaxSurging, x.MaxSameRevisionPerNode, x)
	}
	if x.MaxUnavailable != 1 || x.Worst != "unavailable nodes [b], pods per node map[a:1]" {
		t.Errorf("unavailable %d at %q; want 1 at b's moment", x.MaxUnavailable, x.Worst)
	}
	if len(x.EarlyDeletions) != 2 { // a1 before minReadySeconds, b1 with no successor ready
		t.Errorf("early deletions %v, want a1's and b1's", x.EarlyDeletions)
	}
	if x.MaxRevisions != 2 || x.MaxDeletingPerNode != 1 {
		t.Errorf("revisions %d, terminating per node %d; want 2, 1", x.MaxRevisions, x.MaxDeletingPerNode)
	}
	o.Observe([]*corev1.Pod{updatePod("b2", "b", "v2", t0, none), updatePod("b3", "b", "v2", t0, none)})
	if o.MaxSameRevisionPerNode != 2 {
		t.Errorf("two v2 pods on b: same revision per node %d, want 2", o.MaxSameRevisionPerNode)
	}
	o.Observe([]*corev1.Pod{updatePod("a1", "a", "v1", t0, t0), updatePod("a2", "a", "v2", t0, t0), updatePod("a3", "a", "v3", t0, none),
		updatePod("b1", "b", "v1", t0, none), updatePod("b2", "b", "v2", t0, none)})
	if o.MaxRevisions != 3 || o.MaxDeletingPerNode != 2 || o.WorstDeleting != "node a: 2 pods terminating at once, live pods per node map[a:1 b:2]" {
		t.Errorf("three revisions live and two pods terminating on a: got %d revisions, %d terminating (%q)", o.MaxRevisions, o.MaxDeletingPerNode, o.WorstDeleting)
	}
}

func TestObserverTimesOverlaps(t *testing.T) {
	var none time.Time
	clock := t0
	o := &Observer{Expected: []string{"a", "b"}, Now: func() time.Time { return clock }}
	step := func(d time.Duration, pods ...*corev1.Pod) { clock = clock.Add(d); o.Observe(pods) }
	step(0, updatePod("a1", "a", "v1", t0, none), updatePod("b1", "b", "v1", t0, none))
	step(time.Second, updatePod("a1", "a", "v1", t0, none), updatePod("a2", "a", "v2", none, none), updatePod("b1", "b", "v1", t0, none))
	step(4*time.Second, updatePod("a2", "a", "v2", t0, none), updatePod("b1", "b", "v1", t0, none), updatePod("b2", "b", "v2", none, none))
	step(2*time.Second, updatePod("a2", "a", "v2", t0, none), updatePod("b2", "b", "v2", t0, none))
	if o.MaxOverlap != 4*time.Second || !strings.Contains(o.WorstOverlap, "node a") {
		t.Errorf("overlap %s (%s); want 4s on a (b overlapped 2s)", o.MaxOverlap, o.WorstOverlap)
	}
}

func TestRolloutWatchSaysWhenItEndedEarly(t *testing.T) {
	ds := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "ds", Namespace: "ns"},
		Spec: appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "ds"}}}}
	for _, tc := range []struct {
		name   string
		closed bool
	}{{"stopped by Stop", false}, {"closed by the server", true}} {
		c := fake.NewClientset(ds)
		fw := watch.NewFake()
		c.PrependWatchReactor("pods", k8stesting.DefaultWatchReactor(fw, nil))
		rw, err := WatchRollout(context.Background(), c, ds, 0)
		if err != nil {
			t.Fatal(err)
		}
		fw.Add(updatePod("a", "n1", "v1", t0, time.Time{}))
		if tc.closed {
			fw.Stop()
			<-rw.done // the watch has seen it close before anyone calls Stop
		}
		x := rw.Stop()
		if got := x.Ended != ""; got != tc.closed {
			t.Errorf("%s: Ended = %q", tc.name, x.Ended)
		}
	}
}
