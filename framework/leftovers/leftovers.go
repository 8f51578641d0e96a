// Package leftovers finds and undoes what runs of the suite left on a cluster, from
// their stamps (framework/provenance) alone. The same pass serves two moments:
//   - before a run, for the runs that are dead (the sweep);
//   - after a run, for the run itself (the leak check: anything found is a leak).
//
// Everything without a stamp is left as found, even when it looks like the suite's: it
// is listed as not ours. A stamp that cannot be read is listed, never guessed at.
package leftovers

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/dsconform/dsconform/framework/node"
	"github.com/dsconform/dsconform/framework/nodeaccess"
	"github.com/dsconform/dsconform/framework/provenance"
)

// Containers lists and removes the node containers of a kind cluster by their stamp
// (kindcluster.Cluster implements it).
type Containers interface {
	// StampedContainers maps each node container carrying provenance.ContainerLabel to its value.
	StampedContainers(ctx context.Context) (map[string]string, error)
	// UnstampedLookAlikes names node containers that look like the suite's joined nodes but carry no stamp.
	UnstampedLookAlikes(ctx context.Context) ([]string, error)
	RemoveNode(ctx context.Context, name string) error
}

// Input says which runs' stamps to act on and what the pass may touch.
type Input struct {
	Client kubernetes.Interface
	// Runs selects the runs whose stamps are acted on: the dead ones for the sweep, the
	// live one for the leak check.
	Runs func(run string) bool
	// NodeChanges allows changing nodes (a kind cluster, or E2E_ALLOW_NODE_CHANGES=true);
	// without it node stamps are only listed, as Pending.
	NodeChanges bool
	// Host reaches a node's host to undo file and iptables changes; nil when there is no way.
	Host func(ctx context.Context, node string) (nodeaccess.Node, error)
	// Containers is the kind cluster's node containers; nil on any other cluster.
	Containers Containers
	// SpareNamespaces are left alone even when stamped by a selected run (the live run's
	// node agents, still needed by this pass).
	SpareNamespaces []string
}

// Result is what one pass found and did. Every entry is one line for the report.
type Result struct {
	Undone     []string `json:"undone,omitempty"`     // stamped changes undone, stamped objects deleted
	Pending    []string `json:"pending,omitempty"`    // stamped, but not undone: not allowed or not reachable
	Going      []string `json:"going,omitempty"`      // stamped namespaces already being deleted
	NotOurs    []string `json:"notOurs,omitempty"`    // look like the suite's, carry no stamp: left as found
	Unreadable []string `json:"unreadable,omitempty"` // stamps that cannot be read: left as found
	Errors     []string `json:"errors,omitempty"`     // undo attempts that failed
}

// Quiet reports whether the pass found nothing at all, not even look-alikes.
func (r Result) Quiet() bool { return r.Empty() && len(r.NotOurs) == 0 }

// Empty reports whether the pass found nothing of the selected runs.
func (r Result) Empty() bool {
	return len(r.Undone)+len(r.Pending)+len(r.Going)+len(r.Errors)+len(r.Unreadable) == 0
}

// Run makes one pass: Nodes (joined ones deleted, then every stamp undone in reverse
// order of making, so that the earliest value comes back last), namespaces (after the
// nodes: node agents live in one), PriorityClasses, then node containers.
func Run(ctx context.Context, in Input) (Result, error) {
	if in.Client == nil || in.Runs == nil {
		return Result{}, fmt.Errorf("leftovers.Run: Client and Runs are required")
	}
	var r Result
	nodes, err := in.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return r, fmt.Errorf("listing nodes: %w", err)
	}
	for i := range nodes.Items {
		nodeStamps(ctx, in, &nodes.Items[i], &r)
	}
	if err := namespaces(ctx, in, &r); err != nil {
		return r, err
	}
	if err := priorityClasses(ctx, in, &r); err != nil {
		return r, err
	}
	if in.Containers != nil {
		containers(ctx, in, &r)
	}
	return r, nil
}

func namespaces(ctx context.Context, in Input, r *Result) error {
	nss, err := in.Client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("listing namespaces: %w", err)
	}
	for _, ns := range nss.Items {
		run, stamped := ns.Labels[provenance.RunLabel]
		switch {
		case !stamped:
			if provenance.LooksLikeOurNamespace(ns.Name) {
				r.NotOurs = append(r.NotOurs, fmt.Sprintf("namespace %s: named like the suite's, but without label %s", ns.Name, provenance.RunLabel))
			}
		case !in.Runs(run), slices.Contains(in.SpareNamespaces, ns.Name):
		case ns.DeletionTimestamp != nil:
			r.Going = append(r.Going, fmt.Sprintf("namespace %s (run %s, being deleted)", ns.Name, run))
		default:
			err := in.Client.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{})
			if err != nil && !apierrors.IsNotFound(err) {
				r.Errors = append(r.Errors, fmt.Sprintf("namespace %s (run %s): %v", ns.Name, run, err))
				continue
			}
			r.Undone = append(r.Undone, fmt.Sprintf("namespace %s (run %s) deleted", ns.Name, run))
		}
	}
	return nil
}

// priorityClasses deletes the stamped PriorityClasses of the selected runs (the suite's
// only cluster-scoped objects besides namespaces; a spec deletes its own, a killed run
// leaves them).
func priorityClasses(ctx context.Context, in Input, r *Result) error {
	pcs, err := in.Client.SchedulingV1().PriorityClasses().List(ctx, metav1.ListOptions{LabelSelector: provenance.RunLabel})
	if err != nil {
		return fmt.Errorf("listing PriorityClasses: %w", err)
	}
	for _, pc := range pcs.Items {
		run := pc.Labels[provenance.RunLabel]
		if !in.Runs(run) {
			continue
		}
		err := in.Client.SchedulingV1().PriorityClasses().Delete(ctx, pc.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			r.Errors = append(r.Errors, fmt.Sprintf("PriorityClass %s (run %s): %v", pc.Name, run, err))
			continue
		}
		r.Undone = append(r.Undone, fmt.Sprintf("PriorityClass %s (run %s) deleted", pc.Name, run))
	}
	return nil
}

func nodeStamps(ctx context.Context, in Input, n *corev1.Node, r *Result) {
	if run := n.Labels[provenance.JoinedLabel]; run != "" && in.Runs(run) {
		what := fmt.Sprintf("Node %s (joined by run %s)", n.Name, run)
		if !in.NodeChanges {
			r.Pending = append(r.Pending, what+": would be deleted")
			return
		}
		if err := in.Client.CoreV1().Nodes().Delete(ctx, n.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			r.Errors = append(r.Errors, fmt.Sprintf("%s: %v", what, err))
			return
		}
		r.Undone = append(r.Undone, what+" deleted")
		return
	}
	r.NotOurs = append(r.NotOurs, provenance.LookAlikes(n)...)
	stamps, err := provenance.Stamps(n)
	if err != nil {
		r.Unreadable = append(r.Unreadable, fmt.Sprintf("node %s: %v; left as found", n.Name, err))
		return
	}
	var host nodeaccess.Node
	var hostErr error
	for _, c := range slices.Backward(stamps) {
		if !in.Runs(c.Run) {
			continue
		}
		what := fmt.Sprintf("node %s: %s (run %s)", n.Name, c, c.Run)
		if !in.NodeChanges {
			r.Pending = append(r.Pending, what+": would be undone")
			continue
		}
		if c.OnHost() {
			if host == nil && hostErr == nil {
				hostErr = fmt.Errorf("no access to the node's host")
				if in.Host != nil {
					host, hostErr = in.Host(ctx, n.Name)
				}
			}
			if hostErr != nil {
				r.Pending = append(r.Pending, fmt.Sprintf("%s: not undone: %v", what, hostErr))
				continue
			}
			if _, err := node.UndoOnHost(ctx, host, c); err != nil {
				r.Errors = append(r.Errors, fmt.Sprintf("%s: %v", what, err))
				continue
			}
		}
		if err := node.Unstamp(ctx, in.Client, n.Name, c.ID); err != nil {
			r.Errors = append(r.Errors, fmt.Sprintf("%s: %v", what, err))
			continue
		}
		r.Undone = append(r.Undone, what+" undone")
	}
}

func containers(ctx context.Context, in Input, r *Result) {
	stamped, err := in.Containers.StampedContainers(ctx)
	if err != nil {
		r.Errors = append(r.Errors, "listing node containers: "+err.Error())
		return
	}
	names := make([]string, 0, len(stamped))
	for name := range stamped {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		run := stamped[name]
		if !in.Runs(run) {
			continue
		}
		if err := in.Containers.RemoveNode(ctx, name); err != nil {
			r.Errors = append(r.Errors, fmt.Sprintf("node container %s (run %s): %v", name, run, err))
			continue
		}
		r.Undone = append(r.Undone, fmt.Sprintf("node container %s (run %s) removed", name, run))
	}
	if alike, err := in.Containers.UnstampedLookAlikes(ctx); err == nil {
		for _, name := range alike {
			r.NotOurs = append(r.NotOurs, fmt.Sprintf("node container %s: named like a node the suite joins, but without label %s", name, provenance.ContainerLabel))
		}
	}
}

// Lines is the result as report lines, each prefixed with what it is.
func (r Result) Lines() []string {
	var out []string
	add := func(prefix string, ls []string) {
		for _, l := range ls {
			out = append(out, prefix+l)
		}
	}
	add("undone: ", r.Undone)
	add("being deleted: ", r.Going)
	add("not undone: ", r.Pending)
	add("failed: ", r.Errors)
	add("unreadable stamp: ", r.Unreadable)
	add("not ours, left as found: ", r.NotOurs)
	return out
}

// String is the result in a few lines, for logs.
func (r Result) String() string { return strings.Join(r.Lines(), "\n") }
