package e2e

import (
	"context"
	"fmt"
	"path"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	"github.com/dsconform/dsconform/framework"
	"github.com/dsconform/dsconform/framework/diagnostics"
	"github.com/dsconform/dsconform/framework/node"
	"github.com/dsconform/dsconform/framework/nodeaccess"
	"github.com/dsconform/dsconform/framework/staticpod"
)

// staticNode is a node a static-pod spec works on, with its manifest directory.
type staticNode struct {
	Name string
	node.Host
	Dir string
}

// write writes a manifest file into the node's static pod directory (stamped, and
// removed at cleanup) and returns its path.
func (sn staticNode) write(ctx context.Context, file, content string) string {
	GinkgoHelper()
	return sn.WriteFile(ctx, path.Join(sn.Dir, file), content)
}

var manifestDirs sync.Map // node name -> manifest dir, read once per process

// onNode finds a node's manifest directory from its kubelet and registers the
// kubelet's view of it as a diagnostic for the spec.
func onNode(ctx context.Context, name string) staticNode {
	GinkgoHelper()
	n := hostOf(ctx, name)
	dir, ok := manifestDirs.Load(name)
	if !ok {
		d, err := staticpod.ManifestDir(ctx, n)
		Expect(err).NotTo(HaveOccurred(), "finding the static pod directory of node %s", name)
		manifestDirs.Store(name, d)
		dir = d
	}
	sn := staticNode{Name: name, Host: n, Dir: dir.(string)}
	extraDiagnostics = append(extraDiagnostics, func(ctx context.Context, w *diagnostics.Writer) {
		w.File("kubelet-"+name+".txt", []byte(staticpod.KubeletView(ctx, n, sn.Dir)))
	})
	return sn
}

// staticPodManifest renders a pod manifest running the workload image.
func staticPodManifest(name, ns string, mutate ...func(*corev1.Pod)) string {
	GinkgoHelper()
	grace := int64(1)
	p := &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": name}},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: &grace,
			Containers: []corev1.Container{{Name: "web", Image: cfg.WorkloadImage, ImagePullPolicy: corev1.PullIfNotPresent,
				Args: []string{"serve"}, Env: []corev1.EnvVar{{Name: "VERSION", Value: "1"}}}},
		},
	}
	for _, m := range mutate {
		m(p)
	}
	data, err := yaml.Marshal(p)
	Expect(err).NotTo(HaveOccurred())
	return string(data)
}

// waitForMirror waits for the mirror pod of a static pod to be valid and Running, not
// being deleted, and returns it.
func waitForMirror(ctx context.Context, ns, name, nodeName string) *corev1.Pod {
	GinkgoHelper()
	return waitForNewMirror(ctx, ns, name, nodeName, "")
}

// waitForNewMirror is waitForMirror for a mirror that must replace the one with UID old
// (a deleted mirror lingers, terminating, until the kubelet's next sync recreates it).
func waitForNewMirror(ctx context.Context, ns, name, nodeName string, old types.UID) *corev1.Pod {
	GinkgoHelper()
	mirror := staticpod.MirrorName(name, nodeName)
	var pod *corev1.Pod
	Eventually(ctx, func(g Gomega) {
		p, err := clients.Kube.CoreV1().Pods(ns).Get(ctx, mirror, metav1.GetOptions{})
		g.Expect(err).NotTo(HaveOccurred(), "mirror pod %s/%s of the static pod on node %s", ns, mirror, nodeName)
		g.Expect(staticpod.CheckMirror(p, nodeName, old)).To(Succeed())
		pod = p
	}).WithTimeout(timeouts.Medium).Should(Succeed())
	return pod
}

// waitForMirrorGone waits until the mirror pod is deleted.
func waitForMirrorGone(ctx context.Context, ns, name, nodeName string) {
	GinkgoHelper()
	mirror := staticpod.MirrorName(name, nodeName)
	Eventually(ctx, func() error {
		_, err := clients.Kube.CoreV1().Pods(ns).Get(ctx, mirror, metav1.GetOptions{})
		if err == nil {
			return fmt.Errorf("mirror pod %s/%s still exists on node %s", ns, mirror, nodeName)
		}
		return nil
	}).WithTimeout(timeouts.Medium).Should(Succeed())
}

// expectMirrorValid checks what makes a mirror pod a reflection of a static pod.
func expectMirrorValid(p *corev1.Pod, nodeName string) {
	GinkgoHelper()
	Expect(staticpod.CheckMirror(p, nodeName, "")).To(Succeed())
}

func runOn(ctx context.Context, n nodeaccess.Node, name string, args ...string) (string, error) {
	return n.Run(ctx, nil, name, args...)
}

// startStaticPod writes a "web" static pod manifest on the first worker, in a new
// namespace, and waits for its mirror pod to run.
func startStaticPod(ctx context.Context, nsBase string) (string, staticNode, *corev1.Pod) {
	GinkgoHelper()
	ns := newNamespace(ctx, nsBase)
	sn := onNode(ctx, eligibleNodes(ctx)[0])
	written := time.Now()
	sn.write(ctx, ns+"-web.yaml", staticPodManifest("web", ns))
	mirror := waitForMirror(ctx, ns, "web", sn.Name)
	framework.RecordLatency("manifest written → mirror pod Running", sn.Name, time.Since(written))
	return ns, sn, mirror
}
