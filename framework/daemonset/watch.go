package daemonset

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// Extremes are the worst moments of a rollout, as a watch of the DaemonSet's pods saw
// them (UpdateMoment on every change).
type Extremes struct {
	MaxUnavailable         int    // nodes without an available pod at once
	Worst                  string // the moment of MaxUnavailable
	MaxPerNode             int    // pods on one node at once
	MaxSameRevisionPerNode int    // pods of one revision on one node at once
	WorstPerNode           string
	MaxSurging             int // nodes running an old and a new pod side by side at once
	WorstSurge             string
	MaxRevisions           int // revisions among the live pods at once
	WorstRevisions         string
	MaxDeletingPerNode     int // terminating pods on one node at once
	WorstDeleting          string
	// MaxOverlap is the longest a node ran two live daemon pods side by side (an old
	// and a new one), from the moment the watch saw the second until it saw one left.
	MaxOverlap   time.Duration
	WorstOverlap string
	// EarlyDeletions: old pods deleted before their successor had been ready for
	// minReadySeconds (checked only when the watch was given one).
	EarlyDeletions []string
	// Ended says why the watch stopped before Stop was called ("" when it did not): the
	// extremes then cover a shorter window than the rollout.
	Ended string
}

// Observer folds moments into Extremes; it is the watch's pure half.
type Observer struct {
	Expected []string         // the nodes the DaemonSet should run on
	MinReady time.Duration    // turns on the check for early deletions
	Now      func() time.Time // the clock (time.Now when nil)
	Extremes
	overlapSince map[string]time.Time // node -> when it began running two pods
}

// Observe takes the pods as they are at one moment.
func (o *Observer) Observe(pods []*corev1.Pod) {
	m := UpdateMoment(pods, o.Expected)
	moment := fmt.Sprintf("unavailable nodes %v, pods per node %v", m.Unavailable, m.PerNode)
	if len(m.Unavailable) > o.MaxUnavailable {
		o.MaxUnavailable, o.Worst = len(m.Unavailable), moment
	}
	for _, c := range m.PerNode {
		if c > o.MaxPerNode {
			o.MaxPerNode, o.WorstPerNode = c, moment
		}
	}
	if len(m.SameRevisionTwice) > 0 {
		o.MaxSameRevisionPerNode, o.WorstPerNode = 2, moment
	} else if o.MaxSameRevisionPerNode == 0 && len(m.PerNode) > 0 {
		o.MaxSameRevisionPerNode = 1
	}
	if len(m.Surging) > o.MaxSurging {
		o.MaxSurging, o.WorstSurge = len(m.Surging), fmt.Sprintf("surging nodes %v, pods per node %v", m.Surging, m.PerNode)
	}
	o.overlaps(m.Surging)
	if len(m.Revisions) > o.MaxRevisions {
		o.MaxRevisions, o.WorstRevisions = len(m.Revisions), fmt.Sprintf("revisions %v, pods per node %v", m.Revisions, m.PerNode)
	}
	for n, c := range m.DeletingPerNode {
		if c > o.MaxDeletingPerNode {
			o.MaxDeletingPerNode, o.WorstDeleting = c, fmt.Sprintf("node %s: %d pods terminating at once, live pods per node %v", n, c, m.PerNode)
		}
	}
	if o.MinReady > 0 {
		for _, e := range EarlyDeletions(pods, o.MinReady) {
			if !slices.Contains(o.EarlyDeletions, e) {
				o.EarlyDeletions = append(o.EarlyDeletions, e)
			}
		}
	}
}

// overlaps times how long each node runs two pods side by side.
func (o *Observer) overlaps(surging []string) {
	now := time.Now()
	if o.Now != nil {
		now = o.Now()
	}
	if o.overlapSince == nil {
		o.overlapSince = map[string]time.Time{}
	}
	for _, n := range surging {
		if _, ok := o.overlapSince[n]; !ok {
			o.overlapSince[n] = now
		}
	}
	for n, since := range o.overlapSince {
		if slices.Contains(surging, n) {
			continue
		}
		if d := now.Sub(since); d > o.MaxOverlap {
			o.MaxOverlap, o.WorstOverlap = d, fmt.Sprintf("node %s ran two daemon pods from %s to %s", n, since.Format("15:04:05.000"), now.Format("15:04:05.000"))
		}
		delete(o.overlapSince, n)
	}
}

// RolloutWatch follows a DaemonSet's pods through a watch until Stop.
type RolloutWatch struct {
	mu     sync.Mutex
	obs    Observer
	cancel context.CancelFunc
	done   chan struct{}
}

// WatchRollout starts watching the DaemonSet's pods (start it before the update), from
// a full list so that the watch's first events do not look like missing pods. minReady
// > 0 checks that old pods go only once their successor has been ready that long.
func WatchRollout(ctx context.Context, c kubernetes.Interface, ds *appsv1.DaemonSet, minReady time.Duration) (*RolloutWatch, error) {
	cur, err := c.AppsV1().DaemonSets(ds.Namespace).Get(ctx, ds.Name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	nodes, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	sel := labels.SelectorFromSet(ds.Spec.Selector.MatchLabels).String()
	list, err := c.CoreV1().Pods(ds.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, err
	}
	pods := map[types.UID]*corev1.Pod{}
	for i := range list.Items {
		pods[list.Items[i].UID] = &list.Items[i]
	}
	wctx, cancel := context.WithCancel(ctx)
	w, err := c.CoreV1().Pods(ds.Namespace).Watch(wctx, metav1.ListOptions{LabelSelector: sel, ResourceVersion: list.ResourceVersion})
	if err != nil {
		cancel()
		return nil, err
	}
	rw := &RolloutWatch{obs: Observer{Expected: ExpectedNodes(cur, nodes.Items), MinReady: minReady}, cancel: cancel, done: make(chan struct{})}
	rw.observe(pods)
	go func() {
		defer close(rw.done)
		ended := follow(wctx, w, func(ev watch.Event) bool {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				return false
			}
			if ev.Type == watch.Deleted {
				delete(pods, p.UID)
			} else {
				pods[p.UID] = p
			}
			rw.observe(pods)
			return false
		})
		if ended != "" {
			rw.ended(ended)
		}
	}()
	return rw, nil
}

func (rw *RolloutWatch) observe(pods map[types.UID]*corev1.Pod) {
	all := make([]*corev1.Pod, 0, len(pods))
	for _, p := range pods {
		all = append(all, p)
	}
	rw.mu.Lock()
	defer rw.mu.Unlock()
	rw.obs.Observe(all)
}

func (rw *RolloutWatch) ended(why string) {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	rw.obs.Ended = why
}

// Stop ends the watch and returns what it saw.
func (rw *RolloutWatch) Stop() Extremes {
	rw.cancel()
	<-rw.done
	rw.mu.Lock()
	defer rw.mu.Unlock()
	return rw.obs.Extremes
}

// follow hands each event of w to handle until handle returns true or ctx ends (both:
// ""), or the API server closes or fails the watch (then it says so). It stops w.
func follow(ctx context.Context, w watch.Interface, handle func(watch.Event) (done bool)) (ended string) {
	defer w.Stop()
	events := 0
	for {
		var ev watch.Event
		var open bool
		select {
		case <-ctx.Done(): // the caller's Stop
			return ""
		case ev, open = <-w.ResultChan():
		}
		switch {
		case ctx.Err() != nil: // Stop (client-go may say so with an error event first)
			return ""
		case !open:
			return fmt.Sprintf("the API server closed the watch after %d events", events)
		case ev.Type == watch.Error:
			return fmt.Sprintf("the watch failed after %d events: %v", events, ev.Object)
		}
		events++
		if handle(ev) {
			return ""
		}
	}
}
