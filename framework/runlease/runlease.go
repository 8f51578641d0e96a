// Package runlease makes sure one run at a time uses a cluster. A run holds the Lease
// kube-system/dsconform-run and renews it while it runs. A run that finds no live lease
// knows that every other run whose stamps it finds is dead (killed, or its machine
// rebooted), so their leftovers may be undone (framework/leftovers).
package runlease

import (
	"context"
	"fmt"
	"io"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

const (
	// Name is the Lease's name, in kube-system.
	Name = "dsconform-run"
	// Duration is how long a lease not renewed stays live.
	Duration = 60 * time.Second
)

// Hold takes the lease for runID, waiting up to one lease duration for a lease renewed
// moments ago to show whether its run is alive, and fails with one line when a live run
// holds it. It renews the lease until ctx ends; log gets one line per wait.
func Hold(ctx context.Context, c kubernetes.Interface, runID string, log io.Writer) error {
	leases := c.CoordinationV1().Leases(metav1.NamespaceSystem)
	now := metav1.NewMicroTime(time.Now())
	holder, dur := runID, int32(Duration/time.Second)
	want := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: Name},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &dur, RenewTime: &now, AcquireTime: &now}}
	cur, err := leases.Get(ctx, Name, metav1.GetOptions{})
	for deadline := time.Now().Add(Duration + 5*time.Second); err == nil && Live(cur, time.Now()) && time.Now().Before(deadline); {
		fmt.Fprintf(log, "run lease held by %s (renewed %s ago): waiting for it to expire or be released\n",
			*cur.Spec.HolderIdentity, time.Since(cur.Spec.RenewTime.Time).Round(time.Second))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Second):
		}
		cur, err = leases.Get(ctx, Name, metav1.GetOptions{})
	}
	switch {
	case apierrors.IsNotFound(err):
		if _, err := leases.Create(ctx, want, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("taking the run lease kube-system/%s: %w", Name, err)
		}
	case err != nil:
		return err
	default:
		if Live(cur, time.Now()) {
			return fmt.Errorf("another run (%s, renewed %s ago) is using this cluster: wait for it to finish, or use another cluster (E2E_CLUSTER_NAME)",
				*cur.Spec.HolderIdentity, time.Since(cur.Spec.RenewTime.Time).Round(time.Second))
		}
		cur.Spec = want.Spec
		if _, err := leases.Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("taking over the expired run lease: %w", err)
		}
	}
	go renew(ctx, c)
	return nil
}

func renew(ctx context.Context, c kubernetes.Interface) {
	leases := c.CoordinationV1().Leases(metav1.NamespaceSystem)
	t := time.NewTicker(Duration / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if l, err := leases.Get(ctx, Name, metav1.GetOptions{}); err == nil {
				now := metav1.NewMicroTime(time.Now())
				l.Spec.RenewTime = &now
				_, _ = leases.Update(ctx, l, metav1.UpdateOptions{})
			}
		}
	}
}

// Live reports whether the lease was renewed less than a lease duration before now.
func Live(l *coordinationv1.Lease, now time.Time) bool {
	return l.Spec.RenewTime != nil && l.Spec.HolderIdentity != nil && now.Sub(l.Spec.RenewTime.Time) < Duration
}

// Release deletes the lease, so the next run need not wait for it to expire.
func Release(ctx context.Context, c kubernetes.Interface) {
	_ = c.CoordinationV1().Leases(metav1.NamespaceSystem).Delete(ctx, Name, metav1.DeleteOptions{})
}
