package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/dsconform/dsconform/framework/node"
	"github.com/dsconform/dsconform/framework/releases"
	"github.com/dsconform/dsconform/framework/staticpod"
)

// Behaviour that differs between Kubernetes releases. Each spec states what its
// release promises and asserts exactly that; nothing is skipped for a version.

var _ = Describe("[sig-node] Static pods may not reference API objects", Label("staticpod", "node-access", "versioned"), func() {
	It("refuses a static pod that references a ConfigMap, a Secret or a ServiceAccount: no sandbox, no mirror pod, the kubelet says why", Label("SP-REF-01"), func(ctx SpecContext) {
		ns := newNamespace(ctx, "sp-apiref")
		sn := onNode(ctx, eligibleNodes(ctx)[0])
		minor := serverMinor()
		gates := kubeletFeatureGates(ctx, sn.Name)
		if on, set := gates["PreventStaticPodAPIReferences"]; set && !on && !releases.AtLeast(minor, "1.37") {
			Skip(fmt.Sprintf("the kubelet on node %s runs Kubernetes %s with PreventStaticPodAPIReferences=false: this cluster opted out of the refusal (possible before 1.37)", sn.Name, minor))
		}
		By(fmt.Sprintf("Kubernetes %s: %s", minor, map[bool]string{true: "the kubelet always refuses such static pods (1.37+)",
			false: "the refusal is the default-on feature gate PreventStaticPodAPIReferences (1.34-1.36)"}[releases.AtLeast(minor, "1.37")]))

		refs := []struct {
			name, resource string
			mutate         func(*corev1.Pod)
		}{
			{"with-configmap", "configmaps", func(p *corev1.Pod) {
				p.Spec.Volumes = []corev1.Volume{{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
					LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}}}}}
			}},
			{"with-secret", "secrets", func(p *corev1.Pod) {
				p.Spec.Containers[0].Env = append(p.Spec.Containers[0].Env, corev1.EnvVar{Name: "TOKEN", ValueFrom: &corev1.EnvVarSource{
					SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "token"}}})
			}},
			{"with-serviceaccount", "serviceaccounts", func(p *corev1.Pod) { p.Spec.ServiceAccountName = "default" }},
		}
		since := time.Now().Add(-2 * time.Second)
		for _, r := range refs {
			sn.Write(ctx, ns+"-"+r.name+".yaml", staticPod(r.name, ns, r.mutate))
		}
		By("a control static pod written with them runs: the kubelet read the directory")
		sn.Write(ctx, ns+"-control.yaml", staticPod("control", ns))
		staticpod.WaitForMirror(ctx, mirrorOf(ns, "control", sn.Name, ""))

		By("the kubelet names each refusal in its log")
		Eventually(ctx, func(g Gomega) {
			out, err := sn.Node.Run(ctx, nil, "journalctl", "-u", "kubelet", "--no-pager", "-o", "cat", "--since", fmt.Sprintf("@%d", since.Unix()))
			g.Expect(err).NotTo(HaveOccurred())
			for _, r := range refs {
				file := ns + "-" + r.name + ".yaml"
				g.Expect(linesWith(out, file)).To(ContainElement(ContainSubstring("static pods may not reference "+r.resource)),
					"the kubelet on node %s should refuse %s with \"static pods may not reference %s\"", sn.Name, file, r.resource)
			}
		}).WithTimeout(timeouts.Medium).Should(Succeed())

		By("throughout a window, none of them gets a sandbox or a mirror pod")
		Consistently(ctx, func(g Gomega) {
			out, err := sn.Node.Run(ctx, nil, "crictl", "pods", "--namespace", "^"+ns+"$", "-o", "json")
			g.Expect(err).NotTo(HaveOccurred(), "crictl pods on node %s", sn.Name)
			var sandboxes struct {
				Items []struct{ Metadata struct{ Name string } } `json:"items"`
			}
			g.Expect(json.Unmarshal([]byte(out), &sandboxes)).To(Succeed(), "crictl's answer on node %s does not parse: %s", sn.Name, out)
			var names []string
			for _, s := range sandboxes.Items {
				names = append(names, s.Metadata.Name)
			}
			g.Expect(names).To(ConsistOf(staticpod.MirrorName("control", sn.Name)),
				"pod sandboxes of namespace %s on node %s: only the control static pod may run", ns, sn.Name)
			pods, err := clients.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(podNames(pods.Items)).To(ConsistOf(staticpod.MirrorName("control", sn.Name)), "mirror pods in %s: only the control static pod's", ns)
		}).WithTimeout(timeouts.HoldLong).WithPolling(timeouts.HoldPoll).Should(Succeed())
	})
})

var _ = Describe("[sig-apps] Daemon pods report the generation the kubelet observed", Label("daemonset", "versioned"), func() {
	It("sets status.observedGeneration on each daemon pod and follows a spec update of the pod", Label("DS-GEN-01"), func(ctx SpecContext) {
		minor := serverMinor()
		gates := kubeletFeatureGates(ctx, "")
		if on, set := gates["PodObservedGenerationTracking"]; set && !on && !releases.AtLeast(minor, "1.35") {
			Skip(fmt.Sprintf("Kubernetes %s with PodObservedGenerationTracking=false: this cluster opted out (possible before 1.35, where the feature is GA)", minor))
		}
		ns := newNamespace(ctx, "ds-podgen")
		ds := waitForRollout(ctx, createDaemonSet(ctx, newDaemonSet("gen", ns).Obj()))
		byNode := daemonPods(ctx, Default, ds)
		Expect(byNode).NotTo(BeEmpty(), "DaemonSet %s/%s has no pods: nothing to observe", ns, ds.Name)
		for node, pods := range byNode {
			for _, p := range pods {
				Expect(p.Generation).To(BeNumerically(">=", 1), "daemon pod %s on node %s: metadata.generation", p.Name, node)
				Expect(p.Status.ObservedGeneration).To(Equal(p.Generation),
					"daemon pod %s on node %s: status.observedGeneration (Kubernetes %s reports it)", p.Name, node, minor)
			}
		}
		var target corev1.Pod
		for _, pods := range byNode {
			target = pods[0]
			break
		}
		By("updating the pod's spec (activeDeadlineSeconds) raises its generation; the kubelet reports it observed")
		patch := []byte(`{"spec":{"activeDeadlineSeconds":86400}}`)
		updated, err := clients.Kube.CoreV1().Pods(ns).Patch(ctx, target.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
		Expect(err).NotTo(HaveOccurred())
		Expect(updated.Generation).To(Equal(target.Generation+1), "a spec update of pod %s raises metadata.generation", target.Name)
		Eventually(ctx, func(g Gomega) {
			p, err := clients.Kube.CoreV1().Pods(ns).Get(ctx, target.Name, metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(p.Status.ObservedGeneration).To(Equal(updated.Generation),
				"daemon pod %s on node %s: status.observedGeneration after the update", p.Name, p.Spec.NodeName)
		}).WithTimeout(timeouts.Short).Should(Succeed())
	})
})

// serverMinor is the API server's Kubernetes minor, e.g. "1.37".
func serverMinor() string {
	GinkgoHelper()
	v, err := clients.Kube.Discovery().ServerVersion()
	Expect(err).NotTo(HaveOccurred())
	minor, err := releases.MinorOf(strings.SplitN(v.GitVersion, "+", 2)[0])
	Expect(err).NotTo(HaveOccurred())
	return minor
}

// kubeletFeatureGates reads the feature gates a node's kubelet was configured with,
// through the API server's node proxy (configz), as an operator would. An empty
// node name means the first Ready node.
func kubeletFeatureGates(ctx context.Context, nodeName string) map[string]bool {
	GinkgoHelper()
	if nodeName == "" {
		nodeName = eligibleNodes(ctx)[0]
	}
	raw := kubeletConfigz(ctx, nodeName)
	var cz struct {
		KubeletConfig struct {
			FeatureGates map[string]bool `json:"featureGates"`
		} `json:"kubeletconfig"`
	}
	Expect(json.Unmarshal(raw, &cz)).To(Succeed(), "configz of node %s does not parse", nodeName)
	return cz.KubeletConfig.FeatureGates
}

// kubeletConfigz is the kubelet's configz answer, read through the API server's node proxy
// as an operator would (GET /api/v1/nodes/<node>/proxy/configz).
func kubeletConfigz(ctx context.Context, nodeName string) []byte {
	GinkgoHelper()
	raw, err := node.KubeletConfigz(ctx, clients.Kube, nodeName)
	Expect(err).NotTo(HaveOccurred())
	return raw
}

// linesWith returns the lines of text that contain s.
func linesWith(text, s string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return out
}
