// Package ownnode gives a spec that stops, cuts off, joins, taints or cordons a node a
// node of its own, so that it can run beside every other spec instead of alone.
//
// Each Ginkgo process has at most one such node at a time: a kind worker joined for it
// when one of its specs first asks, and reused by its later specs, since a process runs
// one spec at a time. The node registers with the NoSchedule taint
// provenance.OwnNodeTaintKey=<process> (Taint), from the moment it exists: no pod of
// another spec tolerates it, so no other spec's DaemonSet counts the node or runs
// there, and only the owning spec's DaemonSets carry the matching toleration
// (Toleration). A spec that failed leaves its node in a state nobody checked: the node
// is removed then and the next spec gets a fresh one.
//
// The node is joined and removed through the functions the caller gives (the suite
// binds them to kind); a node a dead run left behind carries the run's joined-node
// stamp and is swept like any other.
package ownnode

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/dsconform/dsconform/framework/provenance"
)

// Taint is the taint a node of process proc's own registers with.
func Taint(proc int) corev1.Taint {
	return corev1.Taint{Key: provenance.OwnNodeTaintKey, Value: fmt.Sprintf("p%d", proc), Effect: corev1.TaintEffectNoSchedule}
}

// TaintArg is Taint in kubeadm's key=value:Effect form.
func TaintArg(proc int) string {
	t := Taint(proc)
	return fmt.Sprintf("%s=%s:%s", t.Key, t.Value, t.Effect)
}

// Toleration lets a pod of process proc's specs run on the process's own nodes and on
// no other process's.
func Toleration(proc int) corev1.Toleration {
	t := Taint(proc)
	return corev1.Toleration{Key: t.Key, Operator: corev1.TolerationOpEqual, Value: t.Value, Effect: t.Effect}
}

// OthersNodes names the nodes of their own that processes other than proc hold now
// (their own-node taint says whose they are).
func OthersNodes(nodes []corev1.Node, proc int) []string {
	mine := Taint(proc).Value
	var out []string
	for _, n := range nodes {
		for _, t := range n.Spec.Taints {
			if t.Key == provenance.OwnNodeTaintKey && t.Value != mine {
				out = append(out, n.Name)
				break
			}
		}
	}
	return out
}

// Pool is one process's node of its own.
type Pool struct {
	// Name names the next node the process joins: names are never reused, so a removed
	// node's Node object cannot be mistaken for its successor.
	Name func() string
	// Join joins a node with the given taints and returns once it is Ready.
	Join func(ctx context.Context, name string, taints []string) error
	// Remove deletes the node (its Node object and its machine).
	Remove func(ctx context.Context, name string) error
	// Proc is the Ginkgo process the pool belongs to.
	Proc int

	current string
}

// Acquire returns the process's node, joining one if it has none.
func (p *Pool) Acquire(ctx context.Context) (string, error) {
	if p.current != "" {
		return p.current, nil
	}
	name := p.Name()
	if err := p.Join(ctx, name, []string{TaintArg(p.Proc)}); err != nil {
		// a node that did not join is removed at once: nothing half-built stays
		if rerr := p.Remove(ctx, name); rerr != nil {
			return "", fmt.Errorf("joining node %s: %w (and removing it: %v)", name, err, rerr)
		}
		return "", fmt.Errorf("joining node %s: %w", name, err)
	}
	p.current = name
	return name, nil
}

// Release ends a spec's use of the node. A node whose spec failed (healthy false) is
// removed, so the next spec starts on a fresh one.
func (p *Pool) Release(ctx context.Context, healthy bool) error {
	if p.current == "" || healthy {
		return nil
	}
	return p.Close(ctx)
}

// Close removes the node, if the process has one.
func (p *Pool) Close(ctx context.Context) error {
	if p.current == "" {
		return nil
	}
	name := p.current
	p.current = ""
	if err := p.Remove(ctx, name); err != nil {
		return fmt.Errorf("removing node %s: %w", name, err)
	}
	return nil
}
