package runlease

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func lease(holder string, renewed time.Time) *coordinationv1.Lease {
	t := metav1.NewMicroTime(renewed)
	return &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: Name, Namespace: metav1.NamespaceSystem},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder, RenewTime: &t}}
}

func TestLive(t *testing.T) {
	now := time.Now()
	if !Live(lease("a", now.Add(-10*time.Second)), now) || Live(lease("a", now.Add(-2*Duration)), now) {
		t.Fatal("a lease is live for one duration after its last renewal, and only then")
	}
}

func TestHoldTakesAFreeOrExpiredLeaseOnly(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := fake.NewClientset()
	if err := Hold(ctx, c, "run-1", io.Discard); err != nil {
		t.Fatalf("free lease: %v", err)
	}
	got, _ := c.CoordinationV1().Leases(metav1.NamespaceSystem).Get(ctx, Name, metav1.GetOptions{})
	if *got.Spec.HolderIdentity != "run-1" {
		t.Fatalf("holder = %s", *got.Spec.HolderIdentity)
	}
	expired := fake.NewClientset(lease("dead-run", time.Now().Add(-10*Duration)))
	if err := Hold(ctx, expired, "run-2", io.Discard); err != nil {
		t.Fatalf("expired lease: %v", err)
	}
	got, _ = expired.CoordinationV1().Leases(metav1.NamespaceSystem).Get(ctx, Name, metav1.GetOptions{})
	if *got.Spec.HolderIdentity != "run-2" {
		t.Fatalf("holder after take-over = %s", *got.Spec.HolderIdentity)
	}
}

func TestHoldGivesUpWhenItsContextEnds(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	live := fake.NewClientset(lease("other-run", time.Now()))
	err := Hold(ctx, live, "run-3", io.Discard)
	if err == nil || !strings.Contains(err.Error(), "context") {
		t.Fatalf("a live lease must not be taken: err = %v", err)
	}
}
