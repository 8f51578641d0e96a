package node

import (
	"context"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/dsconform/dsconform/framework/provenance"
)

// The stamp and the change are one write: whatever reads the Node sees both or neither.
func TestStampWritesTheChangeAndItsStampTogetherAndUnstampIsIdempotent(t *testing.T) {
	ctx := context.Background()
	user := corev1.Taint{Key: "VIPOnly", Value: "true", Effect: corev1.TaintEffectNoSchedule}
	c := fake.NewClientset(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "w1"}, Spec: corev1.NodeSpec{Taints: []corev1.Taint{user}}})
	ours := corev1.Taint{Key: "VIPOnly", Value: "suite", Effect: corev1.TaintEffectNoSchedule}
	done, err := Stamp(ctx, c, "w1", provenance.Change{ID: "1.1", Run: "r", Kind: provenance.Taint, Taint: &ours})
	if err != nil || done.PrevTaint == nil || done.PrevTaint.Value != "true" {
		t.Fatalf("Stamp = %+v, %v", done, err)
	}
	n, _ := c.CoreV1().Nodes().Get(ctx, "w1", metav1.GetOptions{})
	if cs, _ := provenance.Stamps(n); len(cs) != 1 || n.Spec.Taints[0].Value != "suite" {
		t.Fatalf("after Stamp: taints %v, stamps %v", n.Spec.Taints, cs)
	}
	for range 2 {
		if err := Unstamp(ctx, c, "w1", "1.1"); err != nil {
			t.Fatalf("Unstamp: %v", err)
		}
	}
	n, _ = c.CoreV1().Nodes().Get(ctx, "w1", metav1.GetOptions{})
	if len(n.Spec.Taints) != 1 || n.Spec.Taints[0] != user || n.Annotations[provenance.ChangesAnnotation] != "" {
		t.Fatalf("after Unstamp: taints %v, annotations %v", n.Spec.Taints, n.Annotations)
	}
	if err := Unstamp(ctx, c, "gone", "1.1"); err != nil {
		t.Fatalf("a Node already gone is nothing to undo: %v", err)
	}
	if _, err := Stamp(ctx, c, "w1", provenance.Change{ID: "", Run: "r", Kind: provenance.Cordon}); err == nil {
		t.Fatalf("a stamp without an ID must be refused")
	}
}

func TestDisturbLast(t *testing.T) {
	nodes := []corev1.Node{
		{ObjectMeta: metav1.ObjectMeta{Name: "cp", Labels: map[string]string{"node-role.kubernetes.io/control-plane": ""}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "w1"}}, {ObjectMeta: metav1.ObjectMeta{Name: "w2"}}, {ObjectMeta: metav1.ObjectMeta{Name: "w3"}},
	}
	in := []string{"cp", "w1", "w2", "w3"}
	if got, want := DisturbLast(in, nodes, "w1"), []string{"w2", "w3", "cp", "w1"}; !slices.Equal(got, want) {
		t.Errorf("DisturbLast = %v, want %v", got, want)
	}
	if got, want := DisturbLast(in, nodes, ""), []string{"w1", "w2", "w3", "cp"}; !slices.Equal(got, want) {
		t.Errorf("outside a pod: DisturbLast = %v, want %v", got, want)
	}
	if in[0] != "cp" {
		t.Error("DisturbLast changed its argument")
	}
	if got := ControlPlanes(nodes); !slices.Equal(got, []string{"cp"}) {
		t.Errorf("ControlPlanes = %v, want [cp]", got)
	}
}
