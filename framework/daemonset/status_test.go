package daemonset

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestStatusWatchNotesWhenTheStatusCaughtUp(t *testing.T) {
	misscheduled := func(st appsv1.DaemonSetStatus) bool { return st.NumberMisscheduled == 1 }
	ds := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "first", Namespace: "ns"}}

	t.Run("not met while the status stays stale", func(t *testing.T) {
		c := fake.NewClientset(ds.DeepCopy())
		sw, err := WatchStatus(context.Background(), c, ds, misscheduled)
		if err != nil {
			t.Fatal(err)
		}
		if at, ended := sw.Stop(); !at.IsZero() || ended != "" {
			t.Fatalf("Stop() = %v, %q; want zero time, no early end", at, ended)
		}
	})

	t.Run("met when an update brings it", func(t *testing.T) {
		c := fake.NewClientset(ds.DeepCopy())
		sw, err := WatchStatus(context.Background(), c, ds, misscheduled)
		if err != nil {
			t.Fatal(err)
		}
		cur := ds.DeepCopy()
		cur.Status.NumberMisscheduled = 1
		if _, err := c.AppsV1().DaemonSets("ns").UpdateStatus(context.Background(), cur, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			sw.mu.Lock()
			at := sw.metAt
			sw.mu.Unlock()
			if !at.IsZero() || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if at, _ := sw.Stop(); at.IsZero() {
			t.Fatal("the status update was not noted")
		}
	})

	t.Run("met at once when the status already is", func(t *testing.T) {
		already := ds.DeepCopy()
		already.Status.NumberMisscheduled = 1
		sw, err := WatchStatus(context.Background(), fake.NewClientset(already), ds, misscheduled)
		if err != nil {
			t.Fatal(err)
		}
		if at, _ := sw.Stop(); at.IsZero() {
			t.Fatal("the current status was not checked")
		}
	})
}
