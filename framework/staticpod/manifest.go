package staticpod

import (
	"context"
	"fmt"
	"path"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/dsconform/dsconform/framework"
	"github.com/dsconform/dsconform/framework/node"
)

// Pod is a static pod running image: one container "web" serving HTTP (the workload's
// `serve`) with VERSION=1, label app=<name>, a one-second grace period. Mutators change
// it before it is written.
func Pod(name, ns, image string, mutate ...func(*corev1.Pod)) *corev1.Pod {
	grace := int64(1)
	p := &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": name}},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: &grace,
			Containers: []corev1.Container{{Name: "web", Image: image, ImagePullPolicy: corev1.PullIfNotPresent,
				Args: []string{"serve"}, Env: []corev1.EnvVar{{Name: "VERSION", Value: "1"}}}},
		},
	}
	for _, m := range mutate {
		m(p)
	}
	return p
}

// WaitForMirrorInput names what WaitForMirror needs.
type WaitForMirrorInput struct {
	Client         kubernetes.Interface
	Namespace, Pod string // the static pod's namespace and name (from its manifest)
	Node           string
	// Replacing is the UID of a mirror that must be replaced (a deleted mirror lingers,
	// terminating, until the kubelet's next sync recreates it); empty for any.
	Replacing types.UID
	Timeout   framework.Timeouts
	// Within bounds the wait when it is not the Medium tier: a kubelet that has just
	// reconnected to the API server puts mirrors back at its next sync (KubeletSync).
	Within time.Duration
}

// WaitForMirror polls until the static pod's mirror passes CheckMirror, and returns it;
// the spec fails with CheckMirror's last reason when Within (the Medium tier unless
// set) runs out.
func WaitForMirror(ctx context.Context, in WaitForMirrorInput) *corev1.Pod {
	GinkgoHelper()
	mirror := MirrorName(in.Pod, in.Node)
	within := in.Timeout.Medium
	if in.Within > 0 {
		within = in.Within
	}
	var pod *corev1.Pod
	Eventually(ctx, func(g Gomega) {
		p, err := in.Client.CoreV1().Pods(in.Namespace).Get(ctx, mirror, metav1.GetOptions{})
		g.Expect(err).NotTo(HaveOccurred(), "mirror pod %s/%s of the static pod on node %s", in.Namespace, mirror, in.Node)
		g.Expect(CheckMirror(p, in.Node, in.Replacing)).To(Succeed())
		pod = p
	}).WithTimeout(within).WithPolling(in.Timeout.Poll).Should(Succeed())
	return pod
}

// WaitForMirrorGone polls until the static pod's mirror no longer exists.
func WaitForMirrorGone(ctx context.Context, in WaitForMirrorInput) {
	GinkgoHelper()
	mirror := MirrorName(in.Pod, in.Node)
	Eventually(ctx, func() error {
		_, err := in.Client.CoreV1().Pods(in.Namespace).Get(ctx, mirror, metav1.GetOptions{})
		if err == nil {
			return fmt.Errorf("mirror pod %s/%s still exists on node %s", in.Namespace, mirror, in.Node)
		}
		if !apierrors.IsNotFound(err) {
			return fmt.Errorf("reading mirror pod %s/%s: %w", in.Namespace, mirror, err)
		}
		return nil
	}).WithTimeout(in.Timeout.Medium).WithPolling(in.Timeout.Poll).Should(Succeed())
}

// Node is a node a static-pod spec works on: its host (every change stamped on the Node
// first) and its manifest directory.
type Node struct {
	Name string
	node.Host
	Dir string
}

var dirs sync.Map // node name -> manifest directory, read once per process

// On finds the manifest directory of the host's node (ManifestDir, once per node).
func On(ctx context.Context, h node.Host) (Node, error) {
	name := h.Node.Name()
	dir, ok := dirs.Load(name)
	if !ok {
		d, err := ManifestDir(ctx, h.Node)
		if err != nil {
			return Node{}, fmt.Errorf("finding the static pod directory of node %s: %w", name, err)
		}
		dirs.Store(name, d)
		dir = d
	}
	return Node{Name: name, Host: h, Dir: dir.(string)}, nil
}

// Write writes a manifest into the node's static pod directory (stamped, removed at the
// spec's cleanup) and returns its path: obj as YAML, a string as it is.
func (n Node) Write(ctx context.Context, file string, obj any) string {
	GinkgoHelper()
	content, ok := obj.(string)
	if !ok {
		data, err := yaml.Marshal(obj)
		Expect(err).NotTo(HaveOccurred(), "a manifest for %s", file)
		content = string(data)
	}
	return n.WriteFile(ctx, path.Join(n.Dir, file), content)
}
