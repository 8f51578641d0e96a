package ownnode

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/dsconform/dsconform/framework/daemonset"
)

type fake struct {
	joined, removed []string
	taints          [][]string
	failJoin        bool
}

func (f *fake) pool() *Pool {
	return &Pool{Proc: 2,
		Name: func() string { return fmt.Sprintf("kind-e2e-2-%d", len(f.joined)+1) },
		Join: func(_ context.Context, name string, taints []string) error {
			f.joined, f.taints = append(f.joined, name), append(f.taints, taints)
			if f.failJoin {
				return errors.New("kubeadm join failed")
			}
			return nil
		},
		Remove: func(_ context.Context, name string) error { f.removed = append(f.removed, name); return nil },
	}
}

func TestReusedUntilAFailure(t *testing.T) {
	f := &fake{}
	p := f.pool()
	ctx := context.Background()
	first, err := p.Acquire(ctx)
	if err != nil || first != "kind-e2e-2-1" {
		t.Fatalf("first Acquire = %q, %v", first, err)
	}
	if !slices.Equal(f.taints[0], []string{"dsconform.e2e/own-node=p2:NoSchedule"}) {
		t.Errorf("joined with taints %v", f.taints[0])
	}
	if err := p.Release(ctx, true); err != nil {
		t.Fatal(err)
	}
	again, _ := p.Acquire(ctx)
	if again != first || len(f.joined) != 1 {
		t.Errorf("a healthy node is reused: got %q after joins %v", again, f.joined)
	}
	if err := p.Release(ctx, false); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.removed, []string{first}) {
		t.Errorf("a failed spec's node is removed: removed %v", f.removed)
	}
	fresh, _ := p.Acquire(ctx)
	if fresh != "kind-e2e-2-2" {
		t.Errorf("the next node gets a new name, got %q", fresh)
	}
	if err := p.Close(ctx); err != nil || !slices.Equal(f.removed, []string{first, fresh}) {
		t.Errorf("Close removes the node: removed %v, %v", f.removed, err)
	}
	if err := p.Close(ctx); err != nil || len(f.removed) != 2 {
		t.Errorf("a second Close removes nothing: %v, %v", f.removed, err)
	}
}

func TestFailedJoinLeavesNothing(t *testing.T) {
	f := &fake{failJoin: true}
	p := f.pool()
	if _, err := p.Acquire(context.Background()); err == nil {
		t.Fatal("a failed join must fail Acquire")
	}
	if !slices.Equal(f.removed, []string{"kind-e2e-2-1"}) {
		t.Errorf("a node that failed to join is removed at once: removed %v", f.removed)
	}
	f.failJoin = false
	if next, err := p.Acquire(context.Background()); err != nil || next != "kind-e2e-2-2" {
		t.Errorf("after a failed join the next Acquire joins a fresh node: got %q, %v", next, err)
	}
}

// The taint keeps every other process's pods off the node, the default tolerations
// included, and the process's own toleration lets its pods on.
func TestTaintSeparatesProcesses(t *testing.T) {
	n := &corev1.Node{Spec: corev1.NodeSpec{Taints: []corev1.Taint{Taint(2)}}}
	tmpl := func(tols ...corev1.Toleration) *corev1.PodTemplateSpec {
		return &corev1.PodTemplateSpec{Spec: corev1.PodSpec{Tolerations: tols, HostNetwork: true}}
	}
	if daemonset.Eligible(n, tmpl()).ShouldRun {
		t.Error("a DaemonSet without the toleration must not run on another process's node")
	}
	if daemonset.Eligible(n, tmpl(Toleration(3))).ShouldRun {
		t.Error("process 3's toleration must not match process 2's node")
	}
	if !daemonset.Eligible(n, tmpl(Toleration(2))).ShouldRun {
		t.Error("process 2's toleration must match its own node")
	}
}

func TestOthersNodes(t *testing.T) {
	node := func(name string, taints ...corev1.Taint) corev1.Node {
		n := corev1.Node{}
		n.Name, n.Spec.Taints = name, taints
		return n
	}
	nodes := []corev1.Node{node("worker"), node("mine", Taint(1)), node("theirs", Taint(3)),
		node("tainted", corev1.Taint{Key: "other", Value: "p3", Effect: corev1.TaintEffectNoSchedule})}
	if got := OthersNodes(nodes, 1); len(got) != 1 || got[0] != "theirs" {
		t.Errorf("OthersNodes(…, 1) = %v, want [theirs]", got)
	}
	if got := OthersNodes(nodes, 3); len(got) != 1 || got[0] != "mine" {
		t.Errorf("OthersNodes(…, 3) = %v, want [mine]", got)
	}
}
