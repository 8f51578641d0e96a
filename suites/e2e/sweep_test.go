package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/dsconform/dsconform/framework"
	"github.com/dsconform/dsconform/framework/kindcluster"
	"github.com/dsconform/dsconform/framework/node"
	"github.com/dsconform/dsconform/framework/nodeaccess"
	"github.com/dsconform/dsconform/framework/staticpod"
)

// A run holds a Lease (kube-system/dsconform-run) and renews it while it runs. A new
// run that finds no live lease knows no other run is using the cluster, so whatever
// carries the suite's markers was left by a run that died (kill -9, a reboot) and is
// removed before any spec starts. The markers do not depend on the dead run's ID:
// namespaces labelled dsconform.e2e/run, taints and labels dsconform.e2e/*, the
// VIPOnly taint, nodes cordoned with the dsconform.e2e/cordoned annotation, joined
// nodes named *-e2e-*, static pod files sp-*, manifests moved to *.dsconform-moved,
// iptables rules commented dsconform-e2e.

const (
	runLease       = "dsconform-run"
	leaseSeconds   = 60
	iptablesMarker = "dsconform-e2e"
)

// holdRunLease takes the lease for runID or fails with one line when a live run holds
// it; it renews the lease until ctx ends.
func holdRunLease(ctx context.Context, c *framework.Clients, runID string) error {
	leases := c.Kube.CoordinationV1().Leases(metav1.NamespaceSystem)
	now := metav1.NewMicroTime(time.Now())
	holder, dur := runID, int32(leaseSeconds)
	want := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: runLease},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &dur, RenewTime: &now, AcquireTime: &now}}
	// A lease renewed recently is either a live run or one killed less than a lease ago:
	// wait one lease duration to tell them apart (a dead run's lease stops moving).
	cur, err := leases.Get(ctx, runLease, metav1.GetOptions{})
	for wait := time.Now().Add((leaseSeconds + 5) * time.Second); err == nil && leaseLive(cur) && time.Now().Before(wait); {
		fmt.Fprintf(GinkgoWriter, "run lease held by %s (renewed %s ago): waiting for it to expire or be released\n",
			*cur.Spec.HolderIdentity, time.Since(cur.Spec.RenewTime.Time).Round(time.Second))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Second):
		}
		cur, err = leases.Get(ctx, runLease, metav1.GetOptions{})
	}
	switch {
	case apierrors.IsNotFound(err):
		if _, err := leases.Create(ctx, want, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("taking the run lease kube-system/%s: %w", runLease, err)
		}
	case err != nil:
		return err
	default:
		if leaseLive(cur) {
			return fmt.Errorf("another run (%s, renewed %s ago) is using this cluster: wait for it to finish, or use another cluster (E2E_CLUSTER_NAME)",
				*cur.Spec.HolderIdentity, time.Since(cur.Spec.RenewTime.Time).Round(time.Second))
		}
		cur.Spec = want.Spec
		if _, err := leases.Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("taking over the expired run lease: %w", err)
		}
	}
	go func() {
		t := time.NewTicker(leaseSeconds * time.Second / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if l, err := leases.Get(context.Background(), runLease, metav1.GetOptions{}); err == nil {
					now := metav1.NewMicroTime(time.Now())
					l.Spec.RenewTime = &now
					_, _ = leases.Update(context.Background(), l, metav1.UpdateOptions{})
				}
			}
		}
	}()
	return nil
}

func leaseLive(l *coordinationv1.Lease) bool {
	return l.Spec.RenewTime != nil && l.Spec.HolderIdentity != nil && time.Since(l.Spec.RenewTime.Time) < leaseSeconds*time.Second
}

func releaseRunLease(ctx context.Context, c *framework.Clients) {
	_ = c.Kube.CoordinationV1().Leases(metav1.NamespaceSystem).Delete(ctx, runLease, metav1.DeleteOptions{})
}

// sweepLeftovers removes what dead runs left and returns one line per thing removed.
func sweepLeftovers(ctx context.Context, c *framework.Clients, k *kindcluster.Cluster) []string {
	var done []string
	nss, err := c.Kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: framework.RunLabel})
	if err == nil {
		for _, ns := range nss.Items {
			if ns.DeletionTimestamp == nil && c.Kube.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{}) == nil {
				done = append(done, "namespace "+ns.Name)
			}
		}
	}
	nodes, _ := listNodes(ctx, c)
	for i := range nodes {
		n := nodes[i]
		if strings.Contains(n.Name, "-e2e-") {
			if c.Kube.CoreV1().Nodes().Delete(ctx, n.Name, metav1.DeleteOptions{}) == nil {
				done = append(done, "Node "+n.Name+" joined by a spec")
			}
			continue
		}
		var what []string
		fixed := n.DeepCopy()
		fixed.Spec.Taints = nil
		for _, t := range n.Spec.Taints {
			if strings.HasPrefix(t.Key, "dsconform.e2e/") || t.Key == vipOnly.Key {
				what = append(what, "taint "+t.Key)
				continue
			}
			fixed.Spec.Taints = append(fixed.Spec.Taints, t)
		}
		for l := range n.Labels {
			if strings.HasPrefix(l, "dsconform.e2e/") {
				delete(fixed.Labels, l)
				what = append(what, "label "+l)
			}
		}
		if _, ok := n.Annotations[node.CordonedBySuite]; ok {
			fixed.Spec.Unschedulable = false
			delete(fixed.Annotations, node.CordonedBySuite)
			what = append(what, "cordon")
		}
		if len(what) > 0 {
			if _, err := c.Kube.CoreV1().Nodes().Update(ctx, fixed, metav1.UpdateOptions{}); err == nil {
				done = append(done, fmt.Sprintf("node %s: %s", n.Name, strings.Join(what, ", ")))
			} else {
				done = append(done, fmt.Sprintf("node %s: could not remove %s: %v", n.Name, strings.Join(what, ", "), err))
			}
		}
	}
	if k != nil {
		done = append(done, sweepKindNodes(k)...)
	}
	return done
}

// sweepKindNodes removes joined node containers and undoes file and iptables changes on the nodes.
func sweepKindNodes(k *kindcluster.Cluster) []string {
	var done []string
	all, err := k.Nodes()
	if err != nil {
		return nil
	}
	for _, n := range all {
		if strings.Contains(n.String(), "-e2e-") {
			if k.RemoveNode(context.Background(), n.String()) == nil {
				done = append(done, "node container "+n.String())
			}
			continue
		}
		done = append(done, sweepNodeFiles(nodeaccess.Kind(n))...)
	}
	return done
}

// sweepThroughAgents undoes file and iptables changes on every node marked as changed
// through a node agent (node.FilesChangedBySuite), then removes the mark.
func sweepThroughAgents(ctx context.Context, c *framework.Clients, a *nodeaccess.Agents) []string {
	var done []string
	nodes, _ := listNodes(ctx, c)
	for _, n := range nodes {
		if _, ok := n.Annotations[node.FilesChangedBySuite]; !ok {
			continue
		}
		h, err := a.Node(ctx, n.Name)
		if err != nil {
			done = append(done, fmt.Sprintf("node %s: could not reach it to undo file changes: %v", n.Name, err))
			continue
		}
		done = append(done, sweepNodeFiles(h)...)
		if err := node.UnmarkFilesChanged(ctx, c.Kube, n.Name); err != nil {
			done = append(done, fmt.Sprintf("node %s: could not remove annotation %s: %v", n.Name, node.FilesChangedBySuite, err))
		}
	}
	return done
}

// sweepNodeFiles undoes, on one node's host, what specs change there: static pod files
// they wrote, manifests they moved aside, iptables rules they added.
func sweepNodeFiles(n nodeaccess.Node) []string {
	dir, err := staticpod.ManifestDir(n)
	if err != nil {
		return nil
	}
	script := fmt.Sprintf(`for f in %[1]s/sp-*; do [ -e "$f" ] && rm -f "$f" && echo "static pod file $f"; done
for f in /etc/kubernetes/*.dsconform-moved; do [ -e "$f" ] || continue; b=$(basename "$f" .dsconform-moved); mv "$f" %[1]s/"$b" && echo "moved $b back into %[1]s"; done
iptables-save 2>/dev/null | grep -- '--comment %[2]s' | sed 's/^-A /-D /' | while read -r r; do eval iptables $r && echo "iptables rule: $r"; done
true`, dir, iptablesMarker)
	out, _ := n.Run(nil, "sh", "-c", script)
	var done []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l != "" {
			done = append(done, fmt.Sprintf("node %s: %s", n.Name(), l))
		}
	}
	return done
}

// recordSweep writes what was swept into the artifacts, for the report.
func recordSweep(done []string) {
	if len(done) == 0 {
		return
	}
	fmt.Fprintf(GinkgoWriter, "removed what earlier runs left behind:\n  %s\n", strings.Join(done, "\n  "))
	_ = os.WriteFile(filepath.Join(cfg.Artifacts, "swept.txt"), []byte(strings.Join(done, "\n")+"\n"), 0o644)
}
