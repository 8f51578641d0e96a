package daemonset

import (
	"fmt"
	"slices"
	"sort"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// Moment is what a rolling update looks like at one instant, from the DaemonSet's pods as
// a watch last saw them. A terminating pod no longer counts: the controller may start its
// replacement while it terminates.
type Moment struct {
	Unavailable       []string       // expected nodes without a ready daemon pod
	PerNode           map[string]int // live daemon pods per node
	Surging           []string       // nodes running more than one live daemon pod
	SameRevisionTwice []string       // nodes running two live pods of one revision
	Revisions         []string       // the revisions (template hashes) of the live pods
	DeletingPerNode   map[string]int // terminating daemon pods per node
}

// UpdateMoment computes the Moment of pods (those of one DaemonSet) against the nodes
// that must run a daemon pod.
func UpdateMoment(pods []*corev1.Pod, expected []string) Moment {
	m := Moment{PerNode: map[string]int{}, DeletingPerNode: map[string]int{}}
	type nodeRevision struct{ node, revision string }
	perRevision := map[nodeRevision]int{}
	ready := map[string]bool{}
	for _, p := range pods {
		node := TargetNode(p)
		if p.DeletionTimestamp != nil {
			m.DeletingPerNode[node]++
			continue
		}
		m.PerNode[node]++
		rev := p.Labels[appsv1.DefaultDaemonSetUniqueLabelKey]
		perRevision[nodeRevision{node, rev}]++
		if !slices.Contains(m.Revisions, rev) {
			m.Revisions = append(m.Revisions, rev)
		}
		if _, ok := readySince(p); ok {
			ready[node] = true
		}
	}
	for _, n := range expected {
		if !ready[n] {
			m.Unavailable = append(m.Unavailable, n)
		}
	}
	for n, c := range m.PerNode {
		if c > 1 {
			m.Surging = append(m.Surging, n)
		}
	}
	for key, c := range perRevision {
		if c > 1 {
			m.SameRevisionTwice = append(m.SameRevisionTwice, key.node)
		}
	}
	sort.Strings(m.Surging)
	sort.Strings(m.SameRevisionTwice)
	sort.Strings(m.Revisions)
	return m
}

// EarlyDeletions checks the surge rule of an update with minReadySeconds: an old pod is
// deleted only once a pod of another revision on its node has been ready for minReady.
// It returns one line per pod of pods (one DaemonSet's, as last seen) that is being
// deleted too early. Timestamps have one-second resolution, so one second is allowed.
func EarlyDeletions(pods []*corev1.Pod, minReady time.Duration) []string {
	var out []string
	for _, old := range pods {
		if old.DeletionTimestamp == nil {
			continue
		}
		deleted := old.DeletionTimestamp.Time
		rev := old.Labels[appsv1.DefaultDaemonSetUniqueLabelKey]
		var best time.Time // the longest-ready successor on the node
		found := false
		for _, p := range pods {
			if p == old || TargetNode(p) != TargetNode(old) || p.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] == rev {
				continue
			}
			if since, ok := readySince(p); ok && (!found || since.Before(best)) {
				best, found = since, true
			}
		}
		switch {
		case !found:
			out = append(out, fmt.Sprintf("node %s: pod %s (revision %s) deleted at %s while no pod of another revision was ready there",
				TargetNode(old), old.Name, rev, deleted.Format(time.RFC3339)))
		case deleted.Sub(best)+time.Second < minReady:
			out = append(out, fmt.Sprintf("node %s: pod %s (revision %s) deleted at %s, its successor ready only since %s (%s < minReadySeconds %s)",
				TargetNode(old), old.Name, rev, deleted.Format(time.RFC3339), best.Format(time.RFC3339), deleted.Sub(best), minReady))
		}
	}
	sort.Strings(out)
	return out
}

// TargetNode is the node a daemon pod is for: where it is bound, or, while it waits for
// the scheduler, the node the controller pinned it to.
func TargetNode(p *corev1.Pod) string {
	if p.Spec.NodeName != "" {
		return p.Spec.NodeName
	}
	return PinnedNode(p)
}

// readySince is when the pod last became Ready, if it is Ready.
func readySince(p *corev1.Pod) (time.Time, bool) {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return c.LastTransitionTime.Time, true
		}
	}
	return time.Time{}, false
}

// Ready reports whether the pod's Ready condition is true.
func Ready(p *corev1.Pod) bool {
	_, ok := readySince(p)
	return ok
}
