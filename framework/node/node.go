// Package node changes nodes for specs (taints, labels, cordoning) and always
// registers the undo, so a failed or interrupted spec leaves the node as it was.
package node

import (
	"context"
	"fmt"

	. "github.com/onsi/ginkgo/v2" //nolint:revive
	. "github.com/onsi/gomega"    //nolint:revive
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
)

// CordonedBySuite marks a node the suite cordoned, so that a later run can undo a
// cordon whose run died before its cleanup.
const CordonedBySuite = "dsconform.e2e/cordoned"

// FilesChangedBySuite marks a node whose host files the suite changes through a node
// agent pod, so that a later run finds and undoes what a run killed before its cleanup
// left there. (On kind every node is swept through docker exec instead.)
const FilesChangedBySuite = "dsconform.e2e/files-changed"

// MarkFilesChanged sets FilesChangedBySuite on the node.
func MarkFilesChanged(ctx context.Context, c kubernetes.Interface, name string) error {
	return update(ctx, c, name, func(n *corev1.Node) {
		if n.Annotations == nil {
			n.Annotations = map[string]string{}
		}
		n.Annotations[FilesChangedBySuite] = "true"
	})
}

// UnmarkFilesChanged removes FilesChangedBySuite from the node.
func UnmarkFilesChanged(ctx context.Context, c kubernetes.Interface, name string) error {
	return update(ctx, c, name, func(n *corev1.Node) { delete(n.Annotations, FilesChangedBySuite) })
}

// update applies mutate to the node with conflict retries.
func update(ctx context.Context, c kubernetes.Interface, name string, mutate func(*corev1.Node)) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := c.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		mutate(n)
		_, err = c.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
		return err
	})
}

// undo registers a cleanup that tolerates the node being gone.
func undo(c kubernetes.Interface, name, what string, mutate func(*corev1.Node)) {
	DeferCleanup(func(ctx SpecContext) {
		err := update(ctx, c, name, mutate)
		if err != nil && !apierrors.IsNotFound(err) {
			Fail(fmt.Sprintf("restoring node %s (%s): %v", name, what, err))
		}
	})
}

// AddTaint adds a taint to the node and registers its removal.
func AddTaint(ctx context.Context, c kubernetes.Interface, name string, taint corev1.Taint) {
	GinkgoHelper()
	Expect(update(ctx, c, name, func(n *corev1.Node) {
		n.Spec.Taints = append(withoutTaint(n.Spec.Taints, taint), taint)
	})).To(Succeed(), "tainting node %s with %s=%s:%s", name, taint.Key, taint.Value, taint.Effect)
	undo(c, name, "taint "+taint.Key, func(n *corev1.Node) { n.Spec.Taints = withoutTaint(n.Spec.Taints, taint) })
}

// RemoveTaint removes a taint now (the cleanup AddTaint registered stays harmless).
func RemoveTaint(ctx context.Context, c kubernetes.Interface, name string, taint corev1.Taint) {
	GinkgoHelper()
	Expect(update(ctx, c, name, func(n *corev1.Node) { n.Spec.Taints = withoutTaint(n.Spec.Taints, taint) })).
		To(Succeed(), "removing taint %s from node %s", taint.Key, name)
}

func withoutTaint(taints []corev1.Taint, t corev1.Taint) []corev1.Taint {
	var out []corev1.Taint
	for _, x := range taints {
		if x.Key != t.Key || x.Effect != t.Effect {
			out = append(out, x)
		}
	}
	return out
}

// SetLabel sets a label and registers restoring the previous value (or absence).
func SetLabel(ctx context.Context, c kubernetes.Interface, name, key, value string) {
	GinkgoHelper()
	var old string
	var had bool
	Expect(update(ctx, c, name, func(n *corev1.Node) {
		old, had = n.Labels[key]
		if n.Labels == nil {
			n.Labels = map[string]string{}
		}
		n.Labels[key] = value
	})).To(Succeed(), "labelling node %s with %s=%s", name, key, value)
	undo(c, name, "label "+key, func(n *corev1.Node) {
		if had {
			n.Labels[key] = old
		} else {
			delete(n.Labels, key)
		}
	})
}

// RemoveLabel deletes a label now.
func RemoveLabel(ctx context.Context, c kubernetes.Interface, name, key string) {
	GinkgoHelper()
	Expect(update(ctx, c, name, func(n *corev1.Node) { delete(n.Labels, key) })).To(Succeed(), "removing label %s from node %s", key, name)
}

// Cordon marks the node unschedulable and registers uncordoning it.
func Cordon(ctx context.Context, c kubernetes.Interface, name string) {
	GinkgoHelper()
	var already bool
	Expect(update(ctx, c, name, func(n *corev1.Node) {
		already = n.Spec.Unschedulable
		if !already {
			n.Spec.Unschedulable = true
			if n.Annotations == nil {
				n.Annotations = map[string]string{}
			}
			n.Annotations[CordonedBySuite] = "true" // a run killed before its cleanup is found by this
		}
	})).To(Succeed(), "cordoning node %s", name)
	if already {
		return // cordoned before the spec: not ours to undo
	}
	undo(c, name, "cordon", func(n *corev1.Node) {
		n.Spec.Unschedulable = false
		delete(n.Annotations, CordonedBySuite)
	})
}

// IsControlPlane reports whether the node carries the control-plane role label.
func IsControlPlane(n *corev1.Node) bool {
	_, ok := n.Labels["node-role.kubernetes.io/control-plane"]
	return ok
}
