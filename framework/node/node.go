// Package node changes nodes for specs (taints, labels, cordons, and files and iptables
// rules on their hosts). Every change is stamped on the Node (framework/provenance) in
// the same update as the change, or before a host change is made, and its undo is
// registered at once: a failed or interrupted spec leaves the node as it was, and a run
// killed outright leaves stamps from which the next run's sweep restores it.
package node

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"

	. "github.com/onsi/ginkgo/v2" //nolint:revive
	. "github.com/onsi/gomega"    //nolint:revive
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/dsconform/dsconform/framework/provenance"
)

// Stamp makes an API change to the node (or, for a host change, only records it) and
// stores its stamp in the same update. It returns the stamp as stored, with what was
// there before filled in.
func Stamp(ctx context.Context, c kubernetes.Interface, name string, ch provenance.Change) (provenance.Change, error) {
	var done provenance.Change
	err := update(ctx, c, name, func(n *corev1.Node) error {
		var err error
		done, err = provenance.Apply(n, ch)
		return err
	})
	return done, err
}

// Unstamp undoes the stamped change with this ID on the Node object and removes its
// stamp (a host change must be undone on the host first). A Node or stamp already gone
// is not an error: the undo is idempotent.
func Unstamp(ctx context.Context, c kubernetes.Interface, name, id string) error {
	err := update(ctx, c, name, func(n *corev1.Node) error {
		found, err := provenance.Undo(n, id)
		if err == nil && !found {
			return errNothingToDo
		}
		return err
	})
	if err == errNothingToDo || apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

var errNothingToDo = fmt.Errorf("nothing to do")

// update applies mutate to the node with conflict retries; an error from mutate skips the write.
func update(ctx context.Context, c kubernetes.Interface, name string, mutate func(*corev1.Node) error) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := c.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if err := mutate(n); err != nil {
			return err
		}
		_, err = c.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
		return err
	})
}

var seq atomic.Int64

// Changer changes nodes on behalf of one run. Its helpers are for specs: they fail the
// spec on error and register the undo with DeferCleanup.
type Changer struct {
	Client kubernetes.Interface
	Run    string // the run's ID, written into every stamp
	// Allowed says the suite may change this cluster's nodes (a kind cluster, or
	// E2E_ALLOW_NODE_CHANGES=true, and no mode that forbids it); without it every change
	// skips the spec, saying why: Refusal, or a default reason.
	Allowed bool
	Refusal string
}

// refusal is why a spec that changes a node is skipped on a cluster whose nodes are not ours to change.
const refusal = "changes a node: the cluster under test is not a kind cluster; pass E2E_ALLOW_NODE_CHANGES=true (--e2e.allow-node-changes) to allow it"

func (c Changer) mayChange() {
	GinkgoHelper()
	if !c.Allowed {
		c.Skip()
	}
}

// Skip skips the spec because it would change a node, saying why.
func (c Changer) Skip() {
	GinkgoHelper()
	if c.Refusal != "" {
		Skip(c.Refusal)
	}
	Skip(refusal)
}

// New starts a stamp of this run with a fresh ID.
func (c Changer) New(kind provenance.Kind) provenance.Change {
	return provenance.Change{ID: fmt.Sprintf("%d.%d", GinkgoParallelProcess(), seq.Add(1)), Run: c.Run, Kind: kind}
}

// Apply stamps and makes an API change to the node and registers its undo.
func (c Changer) Apply(ctx context.Context, name string, ch provenance.Change) provenance.Change {
	GinkgoHelper()
	c.mayChange()
	done, err := Stamp(ctx, c.Client, name, ch)
	Expect(err).NotTo(HaveOccurred(), "node %s: %s", name, ch)
	c.undoAtCleanup(name, done)
	return done
}

// ApplyWithoutUndo stamps and makes an API change but registers no undo: the change
// stays until the run's leak check finds its stamp, reports it and undoes it. Only the
// leak probe uses it, to show that any stamped change left behind fails the run.
func (c Changer) ApplyWithoutUndo(ctx context.Context, name string, ch provenance.Change) provenance.Change {
	GinkgoHelper()
	c.mayChange()
	done, err := Stamp(ctx, c.Client, name, ch)
	Expect(err).NotTo(HaveOccurred(), "node %s: %s", name, ch)
	return done
}

func (c Changer) undoAtCleanup(name string, ch provenance.Change) {
	DeferCleanup(func(ctx SpecContext) {
		if err := Unstamp(ctx, c.Client, name, ch.ID); err != nil {
			Fail(fmt.Sprintf("restoring node %s (undoing %s): %v", name, ch, err))
		}
	})
}

// AddTaint adds a taint (replacing one with the same key and effect, which the undo
// puts back) and registers its removal.
func (c Changer) AddTaint(ctx context.Context, name string, taint corev1.Taint) {
	GinkgoHelper()
	ch := c.New(provenance.Taint)
	ch.Taint = &taint
	c.Apply(ctx, name, ch)
}

// RemoveTaint removes a taint now. A taint this run added is un-added (what it replaced
// comes back); any other is removed, and put back at cleanup.
func (c Changer) RemoveTaint(ctx context.Context, name string, taint corev1.Taint) {
	GinkgoHelper()
	if c.undoLatest(ctx, name, func(x provenance.Change) bool {
		return x.Kind == provenance.Taint && x.Taint.Key == taint.Key && x.Taint.Effect == taint.Effect
	}) {
		return
	}
	ch := c.New(provenance.Untaint)
	ch.Taint = &taint
	c.Apply(ctx, name, ch)
}

// SetLabel sets a label and registers restoring its earlier value (or absence).
func (c Changer) SetLabel(ctx context.Context, name, key, value string) {
	GinkgoHelper()
	ch := c.New(provenance.Label)
	ch.Key, ch.Value = key, &value
	c.Apply(ctx, name, ch)
}

// RemoveLabel removes a label now. A label this run set is restored to what it was;
// any other is removed, and put back at cleanup.
func (c Changer) RemoveLabel(ctx context.Context, name, key string) {
	GinkgoHelper()
	if c.undoLatest(ctx, name, func(x provenance.Change) bool { return x.Kind == provenance.Label && x.Key == key }) {
		return
	}
	ch := c.New(provenance.Label)
	ch.Key = key
	c.Apply(ctx, name, ch)
}

// Cordon marks the node unschedulable and registers uncordoning it. A node cordoned
// before the spec is left alone: not ours to undo.
func (c Changer) Cordon(ctx context.Context, name string) {
	GinkgoHelper()
	n, err := c.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	Expect(err).NotTo(HaveOccurred(), "node %s", name)
	if n.Spec.Unschedulable {
		return
	}
	c.Apply(ctx, name, c.New(provenance.Cordon))
}

// undoLatest undoes the run's latest matching stamp on the node, if there is one.
func (c Changer) undoLatest(ctx context.Context, name string, match func(provenance.Change) bool) bool {
	GinkgoHelper()
	ch, ok := c.latest(ctx, name, match)
	if !ok {
		return false
	}
	Expect(Unstamp(ctx, c.Client, name, ch.ID)).To(Succeed(), "node %s: undoing %s", name, ch)
	return true
}

// latest is the run's latest stamp on the node that matches, read from the Node now.
func (c Changer) latest(ctx context.Context, name string, match func(provenance.Change) bool) (provenance.Change, bool) {
	GinkgoHelper()
	n, err := c.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	Expect(err).NotTo(HaveOccurred(), "node %s", name)
	return provenance.Latest(n, c.Run, match)
}

// IsControlPlane reports whether the node carries the control-plane role label.
func IsControlPlane(n *corev1.Node) bool {
	_, ok := n.Labels["node-role.kubernetes.io/control-plane"]
	return ok
}

// DisturbLast orders node names for a spec that changes, stops or cuts off the first
// ones it is given: workers first, and last the control planes (an untainted one is
// eligible, but not a node to disturb) and runner, the node the suite itself runs on.
// The order is otherwise kept.
func DisturbLast(names []string, nodes []corev1.Node, runner string) []string {
	last := map[string]bool{runner: runner != ""}
	for i := range nodes {
		if IsControlPlane(&nodes[i]) {
			last[nodes[i].Name] = true
		}
	}
	out := append([]string{}, names...)
	slices.SortStableFunc(out, func(a, b string) int {
		switch {
		case last[a] == last[b]:
			return 0
		case last[b]:
			return -1
		}
		return 1
	})
	return out
}

// ControlPlanes lists the nodes that carry the control-plane role label.
func ControlPlanes(nodes []corev1.Node) []string {
	var out []string
	for i := range nodes {
		if IsControlPlane(&nodes[i]) {
			out = append(out, nodes[i].Name)
		}
	}
	return out
}

// KubeletConfigz is the node's kubelet configuration as the kubelet reports it, read
// through the API server's node proxy as an operator would (GET
// /api/v1/nodes/<node>/proxy/configz).
func KubeletConfigz(ctx context.Context, c kubernetes.Interface, name string) ([]byte, error) {
	raw, err := c.CoreV1().RESTClient().Get().Resource("nodes").Name(name).SubResource("proxy").Suffix("configz").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the kubelet configuration of node %s through /api/v1/nodes/%s/proxy/configz: %w", name, name, err)
	}
	return raw, nil
}
