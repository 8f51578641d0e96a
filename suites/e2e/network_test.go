package e2e

import (
	"context"
	"fmt"
	"io"
	"math"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

var _ = Describe("[sig-apps] Communicating with daemon pods", Label("daemonset", "network"), func() {
	It("reaches every daemon pod through its hostPort on the node's IP, each answering with its node's name", Label("DS-NET-01"), func(ctx SpecContext) {
		requireNodeAccess()
		want := eligibleNodes(ctx)
		ns := newNamespace(ctx, "ds-hostport")
		port := int32(18500 + GinkgoParallelProcess())
		ds := waitForRollout(ctx, createDaemonSet(ctx, newDaemonSet("hostport-daemon", ns).WithHostPort(port).Obj()))
		nodes := listNodes(ctx)
		// The request is made from inside the control-plane node container, on the
		// cluster's own network, as a client on the node network would.
		cp := hostOf(ctx, controlPlaneNames(ctx)[0])
		byNode := daemonPods(ctx, Default, ds)
		Expect(byNode).To(HaveLen(len(want)), "daemon pods of %s: one on each of %v", ds.Name, want)
		for n := range byNode {
			ip := internalIP(nodes, n)
			Expect(ip).NotTo(BeEmpty(), "node %s has no InternalIP", n)
			Eventually(ctx, func() (string, error) {
				out, err := cp.Run(ctx, nil, "curl", "-sS", "--max-time", "3", fmt.Sprintf("http://%s:%d/", ip, port))
				return strings.TrimSpace(out), err
			}).WithTimeout(timeouts.Short).Should(Equal(n), "GET http://%s:%d/ (hostPort on node %s) should answer with that node's name", ip, port, n)
		}
	})

	It("lists one address per daemon pod behind a headless Service and reaches a daemon pod through a ClusterIP Service by DNS name", Label("DS-NET-02"), func(ctx SpecContext) {
		ns := newNamespace(ctx, "ds-svc")
		ds := waitForRollout(ctx, createDaemonSet(ctx, newDaemonSet("monitoring-daemon", ns).Obj()))
		workers := eligibleNodes(ctx)
		for _, headless := range []bool{true, false} {
			svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "daemons", Namespace: ns},
				Spec: corev1.ServiceSpec{Selector: ds.Spec.Selector.MatchLabels, Ports: []corev1.ServicePort{{Port: 8080, TargetPort: intstr.FromInt32(8080)}}}}
			if headless {
				svc.Name, svc.Spec.ClusterIP = "daemons-headless", corev1.ClusterIPNone
			}
			_, err := clients.Kube.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{})
			Expect(err).NotTo(HaveOccurred())
		}
		Eventually(ctx, func(g Gomega) {
			slices, err := clients.Kube.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=daemons-headless"})
			g.Expect(err).NotTo(HaveOccurred())
			var nodesSeen []string
			for _, s := range slices.Items {
				for _, e := range s.Endpoints {
					if e.Conditions.Ready != nil && *e.Conditions.Ready && e.NodeName != nil {
						nodesSeen = append(nodesSeen, *e.NodeName)
					}
				}
			}
			g.Expect(nodesSeen).To(ConsistOf(workers), "ready addresses of the headless Service, by node")
		}).WithTimeout(timeouts.Medium).Should(Succeed())

		By("the headless name resolves, in the cluster's DNS, to one address per daemon pod")
		var podIPs []string
		for _, ps := range daemonPods(ctx, Default, ds) {
			podIPs = append(podIPs, ps[0].Status.PodIP)
		}
		headlessName := fmt.Sprintf("daemons-headless.%s.svc.cluster.local", ns)
		var resolved []string
		for _, l := range strings.Split(strings.TrimSpace(runWorkloadPod(ctx, ns, workers[0], "resolve", headlessName)), "\n") {
			if f := strings.Fields(l); len(f) == 2 && f[0] == headlessName {
				resolved = append(resolved, f[1])
			}
		}
		Expect(resolved).To(ConsistOf(podIPs), "DNS answers for %s from a pod on %s, against the daemon pods' IPs", headlessName, workers[0])

		By("requests to the ClusterIP Service, each on a fresh connection, reach daemon pods on more than one node")
		const requests = 12
		url := fmt.Sprintf("http://daemons.%s.svc.cluster.local:8080/", ns)
		urls := make([]string, requests)
		for i := range urls {
			urls[i] = url
		}
		answered := map[string]int{}
		for _, l := range strings.Split(strings.TrimSpace(runClientPod(ctx, ns, workers[0], urls...)), "\n") {
			if f := strings.Fields(l); len(f) == 2 && f[0] == url {
				answered[f[1]]++
			}
		}
		total := 0
		for n, c := range answered {
			Expect(workers).To(ContainElement(n), "the Service was answered by %q, not a node running a daemon pod", n)
			total += c
		}
		Expect(total).To(Equal(requests), "answers to %d requests, by node: %v", requests, answered)
		if len(workers) >= 2 {
			Expect(len(answered)).To(BeNumerically(">=", 2), "%d requests on fresh connections should reach daemon pods on more than one of %v (random choice: all on one node has probability %.1g); answers by node: %v",
				requests, workers, math.Pow(1/float64(len(workers)), requests-1), answered)
		}
	})

	It("lets a pod on one worker reach a daemon pod on another worker by pod IP", Label("DS-NET-03"), func(ctx SpecContext) {
		workers := needNodes(ctx, 2) // a client on one node, the daemon pod on another
		ns := newNamespace(ctx, "ds-podip")
		ds := waitForRollout(ctx, createDaemonSet(ctx, newDaemonSet("monitoring-daemon", ns).Obj()))
		target := onePodOn(ctx, ds, workers[1])
		out := runClientPod(ctx, ns, workers[0], fmt.Sprintf("http://%s:8080/", target.Status.PodIP))
		Expect(out).To(ContainSubstring(workers[1]), "a pod on %s fetching %s (pod %s on %s)", workers[0], target.Status.PodIP, target.Name, workers[1])
	})
})

// runClientPod runs the workload's "get" mode on a node and returns its output
// once it succeeded, failing with its logs when it did not.
func runClientPod(ctx context.Context, ns, nodeName string, urls ...string) string {
	GinkgoHelper()
	return runWorkloadPod(ctx, ns, nodeName, append([]string{"get"}, urls...)...)
}

// runWorkloadPod runs the workload image with args on a node, once, and returns its
// output when it succeeded, failing with its logs when it did not.
func runWorkloadPod(ctx context.Context, ns, nodeName string, args ...string) string {
	GinkgoHelper()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: "client-", Namespace: ns},
		Spec: corev1.PodSpec{NodeName: nodeName, RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{Name: args[0], Image: cfg.WorkloadImage, Args: args}}}}
	created, err := clients.Kube.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred())
	Eventually(ctx, func(g Gomega) {
		p, err := clients.Kube.CoreV1().Pods(ns).Get(ctx, created.Name, metav1.GetOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		if p.Status.Phase == corev1.PodFailed {
			StopTrying(fmt.Sprintf("client pod %s on node %s failed: %s", p.Name, nodeName, podLog(ctx, ns, p.Name))).Now()
		}
		g.Expect(p.Status.Phase).To(Equal(corev1.PodSucceeded), "client pod %s on node %s running %v should have finished: its log so far: %s", p.Name, nodeName, args, podLog(ctx, ns, p.Name))
	}).WithTimeout(timeouts.Medium).Should(Succeed())
	return podLog(ctx, ns, created.Name)
}

func podLog(ctx context.Context, ns, name string) string {
	rc, err := clients.Kube.CoreV1().Pods(ns).GetLogs(name, &corev1.PodLogOptions{}).Stream(ctx)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	return string(b)
}

func internalIP(nodes []corev1.Node, name string) string {
	for _, n := range nodes {
		if n.Name != name {
			continue
		}
		for _, a := range n.Status.Addresses {
			if a.Type == corev1.NodeInternalIP {
				return a.Address
			}
		}
	}
	return ""
}
