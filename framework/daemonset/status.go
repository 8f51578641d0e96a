package daemonset

import (
	"context"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// StatusWatch notes when a DaemonSet's status first met a condition, from a watch
// started before the change that should bring it about. It measures how stale the
// status is without touching the DaemonSet (an update to it would make the controller
// sync and hide the staleness).
type StatusWatch struct {
	mu     sync.Mutex
	metAt  time.Time
	ended  string
	cancel context.CancelFunc
	done   chan struct{}
}

// WatchStatus starts watching ds; met is called with every status the API server sends,
// the current one first.
func WatchStatus(ctx context.Context, c kubernetes.Interface, ds *appsv1.DaemonSet, met func(appsv1.DaemonSetStatus) bool) (*StatusWatch, error) {
	sel := fields.OneTermEqualSelector("metadata.name", ds.Name).String()
	list, err := c.AppsV1().DaemonSets(ds.Namespace).List(ctx, metav1.ListOptions{FieldSelector: sel})
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithCancel(ctx)
	sw := &StatusWatch{cancel: cancel, done: make(chan struct{})}
	if len(list.Items) == 1 && met(list.Items[0].Status) {
		sw.metAt = time.Now()
		close(sw.done)
		return sw, nil
	}
	w, err := c.AppsV1().DaemonSets(ds.Namespace).Watch(wctx, metav1.ListOptions{FieldSelector: sel, ResourceVersion: list.ResourceVersion})
	if err != nil {
		cancel()
		return nil, err
	}
	go func() {
		defer close(sw.done)
		ended := follow(wctx, w, func(ev watch.Event) bool {
			cur, ok := ev.Object.(*appsv1.DaemonSet)
			if !ok || !met(cur.Status) {
				return false
			}
			sw.mu.Lock()
			sw.metAt = time.Now()
			sw.mu.Unlock()
			return true
		})
		if ended != "" {
			sw.end(ended)
		}
	}()
	return sw, nil
}

func (sw *StatusWatch) end(why string) {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	sw.ended = why
}

// Stop ends the watch and says when the condition was first met (zero if it was not)
// and, if the watch stopped early, why: a zero time then means "not seen", not "not met".
func (sw *StatusWatch) Stop() (metAt time.Time, ended string) {
	sw.cancel()
	<-sw.done
	sw.mu.Lock()
	defer sw.mu.Unlock()
	return sw.metAt, sw.ended
}
