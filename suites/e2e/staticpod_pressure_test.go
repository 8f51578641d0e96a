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
	"sigs.k8s.io/yaml"

	"github.com/dsconform/dsconform/framework"
	"github.com/dsconform/dsconform/framework/kindcluster"
	"github.com/dsconform/dsconform/framework/node"
	"github.com/dsconform/dsconform/framework/ownnode"
	"github.com/dsconform/dsconform/framework/staticpod"
)

// evictionMonitoringPeriod is how often the kubelet's eviction manager acts (fixed in
// the kubelet, not configurable): a window of three of them sees it act at least twice.
const evictionMonitoringPeriod = 10 * time.Second

// The disk pressure is made by a threshold pressureMargin under what the node has free
// and a file of pressureFill. A kind node's file system is the host's, shared with every
// other node: a node another process joins meanwhile copies its image's /var (about
// 1.4 GB) into a new volume, so the margin outlasts several joins (a 1 GiB margin did
// not: the threshold was crossed before the file was written), and the fill exceeds the
// margin by as much again, more than the unused images the kubelet deletes to reclaim
// space and the volumes of nodes removed meanwhile. pressureReserve is what the host
// must keep free beyond the fill.
const (
	pressureMargin  = int64(8) << 30
	pressureFill    = 2 * pressureMargin
	pressureReserve = int64(8) << 30
)

// kubeadmKubeletConfig is where a kind (kubeadm) node's kubelet reads its configuration.
const kubeadmKubeletConfig = "/var/lib/kubelet/config.yaml"

var _ = Describe("[sig-node] A static system-node-critical pod under disk pressure", Label("staticpod", "disruptive", "node-access"), func() {
	It("is not evicted while the kubelet evicts an ordinary pod from the same node", Label("SP-EVICT-01"), onOwnNode(), func(ctx SpecContext) {
		// Disk pressure makes the kubelet delete unused images, which cannot be pulled back
		// offline: it is induced only on a node joined for this spec and removed after it.
		requireKind()
		target, _ := addWorker(ctx)
		ns := newNamespace(ctx, "sp-pressure")
		sn := onNode(ctx, target)
		host := kindHostOf(target)
		sn.Write(ctx, ns+"-critical.yaml", staticPod("critical", ns, func(p *corev1.Pod) { p.Spec.PriorityClassName = "system-node-critical" }))
		critical := staticpod.WaitForMirror(ctx, mirrorOf(ns, "critical", target, ""))
		Expect(critical.Spec.Priority).NotTo(BeNil(), "node %s: mirror %s should carry the priority of system-node-critical", target, critical.Name)
		cid := critical.Status.ContainerStatuses[0].ContainerID

		// The control: an ordinary pod on the same node, which disk pressure must evict.
		ordinary := ordinaryPod("ordinary", ns)
		ordinary.Spec.NodeName = target
		runPod(ctx, ordinary, target)

		// A threshold just under what the node has free, so that the kubelet restarts
		// without pressure (under pressure it would refuse the ordinary pod at its restart,
		// not evict it), then a file that takes more than the margin.
		free := nodeFsAvailable(ctx, target)
		if free < pressureFill+pressureReserve {
			Skip(fmt.Sprintf("needs %d GiB free on node %s's file system (a %d GiB file, %d GiB kept for the host); it has %.1f GiB",
				(pressureFill+pressureReserve)>>30, target, pressureFill>>30, pressureReserve>>30, float64(free)/(1<<30)))
		}
		threshold := free - pressureMargin
		By(fmt.Sprintf("restarting the kubelet on %s with evictionHard nodefs.available %d (free %d, less %d)", target, threshold, free, pressureMargin))
		setEvictionHard(ctx, host, map[string]string{"nodefs.available": fmt.Sprint(threshold)})
		// The restarted kubelet has admitted its pods again and its eviction manager has
		// looked at least once (a Hold outlasts its 10 s period), without pressure.
		Consistently(ctx, func(g Gomega) {
			n := getNode(ctx, target)
			g.Expect(kindcluster.NodeReady(n)).To(BeTrue(), "node %s should be Ready after its kubelet restarted", target)
			g.Expect(nodeCondition(n, corev1.NodeDiskPressure)).To(Equal(corev1.ConditionFalse), "node %s: the disk threshold is below what is free, so no DiskPressure yet", target)
			p, err := clients.Kube.CoreV1().Pods(ns).Get(ctx, ordinary.Name, metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(p.Status.Phase).To(Equal(corev1.PodRunning), "node %s: pod %s should run on after the kubelet restart (reason %q: %s)", target, ordinary.Name, p.Status.Reason, p.Status.Message)
		}).WithTimeout(max(timeouts.Hold, evictionMonitoringPeriod+timeouts.HoldPoll)).WithPolling(timeouts.HoldPoll).Should(Succeed())

		By(fmt.Sprintf("taking %d bytes of the node's disk with a file of the suite's", pressureFill))
		pressed := time.Now()
		fill := host.WriteFile(ctx, "/var/lib/dsconform-fill-"+ns, "")
		out, err := host.Run(ctx, nil, "fallocate", "-l", fmt.Sprint(pressureFill), fill)
		Expect(err).NotTo(HaveOccurred(), "node %s: fallocate %s: %s", target, fill, out)
		Eventually(ctx, func(g Gomega) {
			g.Expect(nodeCondition(getNode(ctx, target), corev1.NodeDiskPressure)).To(Equal(corev1.ConditionTrue), "node %s: less is free than its kubelet's threshold, so it should report DiskPressure", target)
		}).WithTimeout(timeouts.Medium).WithPolling(timeouts.Poll).Should(Succeed())
		framework.RecordLatency("disk filled past the kubelet's threshold → DiskPressure=True", target, time.Since(pressed))

		// The eviction is read from the DisruptionTarget condition the kubelet sets
		// (TerminationByKubelet, with the eviction message). The phase is the containers':
		// since 1.27 a container that exits 0 on SIGTERM, as this one does, leaves the pod
		// Succeeded, where the node-pressure eviction page says Failed (recorded below).
		var evicted *corev1.Pod
		Eventually(ctx, func(g Gomega) {
			p, err := clients.Kube.CoreV1().Pods(ns).Get(ctx, ordinary.Name, metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(p.Status.Conditions).To(ContainElement(And(HaveField("Type", corev1.DisruptionTarget), HaveField("Status", corev1.ConditionTrue),
				HaveField("Reason", "TerminationByKubelet"), HaveField("Message", ContainSubstring("low on resource: ephemeral-storage")))),
				"node %s is under DiskPressure: the kubelet should evict the ordinary pod %s, marking it DisruptionTarget (TerminationByKubelet, low on ephemeral-storage)", target, p.Name)
			g.Expect(p.Status.Phase).To(BeElementOf(corev1.PodFailed, corev1.PodSucceeded), "node %s: the evicted pod %s should end (phase)", target, p.Name)
			evicted = p
		}).WithTimeout(timeouts.Medium).WithPolling(timeouts.Poll).Should(Succeed())
		framework.RecordLatency("disk filled → ordinary pod evicted", target, time.Since(pressed))
		framework.Observe("a pod evicted for DiskPressure whose container exits 0 on SIGTERM ends %s with status.reason %q (the node-pressure eviction page says the kubelet sets the phase to Failed)",
			evicted.Status.Phase, evicted.Status.Reason)

		window := 3 * evictionMonitoringPeriod
		// the count the kubelet reports as the window opens (seen at 1 for the same container
		// after the kubelet's restart with the pressure thresholds): it must not rise in it
		now, err := clients.Kube.CoreV1().Pods(ns).Get(ctx, critical.Name, metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred(), "node %s: the mirror of the static system-node-critical pod", target)
		Expect(now.Status.ContainerStatuses).To(HaveLen(1), "node %s: mirror %s", target, now.Name)
		restarts := now.Status.ContainerStatuses[0].RestartCount
		By(fmt.Sprintf("holding for %s (three eviction rounds): the static system-node-critical pod is not evicted", window))
		Consistently(ctx, func(g Gomega) {
			p, err := clients.Kube.CoreV1().Pods(ns).Get(ctx, critical.Name, metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred(), "node %s, under DiskPressure: the mirror of the static system-node-critical pod must stay", target)
			g.Expect(p.UID).To(Equal(critical.UID), "node %s, under DiskPressure: mirror %s must not be replaced", target, p.Name)
			g.Expect(p.DeletionTimestamp).To(BeNil(), "node %s, under DiskPressure: mirror %s must not be deleted (evicted)", target, p.Name)
			g.Expect(p.Status.Phase).To(Equal(corev1.PodRunning), "node %s, under DiskPressure: mirror %s phase (reason %q: %s)", target, p.Name, p.Status.Reason, p.Status.Message)
			g.Expect(p.Status.ContainerStatuses).To(HaveLen(1))
			st := p.Status.ContainerStatuses[0]
			g.Expect(st.ContainerID).To(Equal(cid), "node %s, under DiskPressure: the static pod's container must not be replaced", target)
			g.Expect(st.RestartCount).To(Equal(restarts), "node %s, under DiskPressure: restartCount of the static pod's container (%d as the window opened)", target, restarts)
			running, err := staticpod.ContainerRunning(ctx, host.Node, cid)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(running).To(BeTrue(), "node %s, under DiskPressure: the static system-node-critical pod's container %s must keep running", target, cid)
			g.Expect(nodeCondition(getNode(ctx, target), corev1.NodeDiskPressure)).To(Equal(corev1.ConditionTrue), "node %s must stay under DiskPressure for the window to mean anything", target)
		}).WithTimeout(window).WithPolling(timeouts.HoldPoll).Should(Succeed())
	})
})

// setEvictionHard restarts the node's kubelet with hard eviction thresholds (signal →
// threshold) changed, and no minimum reclaim (editKubeletConfig).
func setEvictionHard(ctx context.Context, host node.Host, thresholds map[string]string) {
	GinkgoHelper()
	editKubeletConfig(ctx, host, func(conf map[string]any) {
		hard, _ := conf["evictionHard"].(map[string]any)
		if hard == nil {
			hard = map[string]any{}
		}
		for signal, threshold := range thresholds {
			hard[signal] = threshold
		}
		conf["evictionHard"] = hard
		conf["evictionMinimumReclaim"] = map[string]any{}
	})
}

// editKubeletConfig restarts the node's kubelet with its configuration file (kubeadm's)
// edited: the original is moved aside and a copy written, both stamped, and both undone
// (the kubelet restarted on the original) when the spec ends. It returns once the
// restarted kubelet answers its health check and stays up.
func editKubeletConfig(ctx context.Context, host node.Host, edit func(conf map[string]any)) {
	GinkgoHelper()
	orig, err := host.Run(ctx, nil, "cat", kubeadmKubeletConfig)
	Expect(err).NotTo(HaveOccurred(), "node %s: reading %s: %s", host.Name(), kubeadmKubeletConfig, orig)
	var conf map[string]any
	Expect(yaml.Unmarshal([]byte(orig), &conf)).To(Succeed(), "node %s: %s", host.Name(), kubeadmKubeletConfig)
	edit(conf)
	changed, err := yaml.Marshal(conf)
	Expect(err).NotTo(HaveOccurred())

	// Cleanup runs in reverse: the kubelet is restarted last, on the original file.
	DeferCleanup(func(ctx SpecContext) {
		out, err := host.Run(ctx, nil, "systemctl", "restart", "kubelet")
		Expect(err).NotTo(HaveOccurred(), "node %s: restarting the kubelet on its own configuration: %s", host.Name(), out)
	})
	host.MoveAside(ctx, kubeadmKubeletConfig, kubeadmKubeletConfig+".dsconform-moved")
	host.WriteFile(ctx, kubeadmKubeletConfig, string(changed))
	restartKubelet(ctx, host)
	// A kubelet that refuses its configuration exits about a second after it starts and
	// systemd starts it again: its health endpoint answers between restarts. Healthy means
	// answering with the same process for two hold polls.
	steady := 2 * timeouts.HoldPoll
	var pid string
	var since time.Time
	Eventually(ctx, func() error {
		out, err := host.Run(ctx, nil, "curl", "-sf", "http://127.0.0.1:10248/healthz")
		if err != nil {
			return fmt.Errorf("node %s: the restarted kubelet is not healthy: %v: %s", host.Name(), err, out)
		}
		out, err = host.Run(ctx, nil, "systemctl", "show", "--property=MainPID", "--value", "kubelet")
		if p := strings.TrimSpace(out); err != nil || p == "" || p == "0" {
			return fmt.Errorf("node %s: the kubelet unit has no main process (%q, %v)", host.Name(), p, err)
		} else if p != pid {
			pid, since = p, time.Now()
		}
		if up := time.Since(since); up < steady {
			return fmt.Errorf("node %s: the restarted kubelet (PID %s) has run %s, not yet %s: it must stay up with the edited configuration", host.Name(), pid, up.Round(time.Second), steady)
		}
		return nil
	}).WithTimeout(timeouts.Medium).WithPolling(time.Second).Should(Succeed())
}

// restartKubelet stops and starts the node's kubelet (a stamped stop, undone at once).
func restartKubelet(ctx context.Context, host node.Host) {
	GinkgoHelper()
	host.StopService(ctx, "kubelet")
	host.StartService(ctx, "kubelet")
}

// nodeFsAvailable is the free space of the node's file system as its kubelet measures
// it (the stats summary, through the API server's node proxy): what nodefs.available
// thresholds are compared with.
func nodeFsAvailable(ctx context.Context, name string) int64 {
	GinkgoHelper()
	s := nodeStats(ctx, name)
	Expect(s.Node.Fs.AvailableBytes).NotTo(BeNil(), "node %s: the kubelet's stats summary gives no node.fs.availableBytes", name)
	return *s.Node.Fs.AvailableBytes
}

// statsSummary is what the specs read of the kubelet's stats summary.
type statsSummary struct {
	Node struct {
		Fs struct {
			AvailableBytes *int64 `json:"availableBytes"`
		} `json:"fs"`
		Rlimit struct {
			MaxPID *int64 `json:"maxpid"`
		} `json:"rlimit"`
	} `json:"node"`
}

// nodeStats reads the kubelet's stats summary through the API server's node proxy.
func nodeStats(ctx context.Context, name string) statsSummary {
	GinkgoHelper()
	raw, err := clients.Kube.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes", name, "proxy", "stats", "summary").DoRaw(ctx)
	Expect(err).NotTo(HaveOccurred(), "node %s: the kubelet's stats summary", name)
	var s statsSummary
	Expect(json.Unmarshal(raw, &s)).To(Succeed(), "node %s: the kubelet's stats summary", name)
	return s
}

// nodeCondition is the status of the node's condition of the given type ("" if absent).
func nodeCondition(n *corev1.Node, t corev1.NodeConditionType) corev1.ConditionStatus {
	for _, c := range n.Status.Conditions {
		if c.Type == t {
			return c.Status
		}
	}
	return ""
}

// podCondition is the status of the pod's condition of the given type ("" if absent).
func podCondition(p *corev1.Pod, t corev1.PodConditionType) corev1.ConditionStatus {
	for _, c := range p.Status.Conditions {
		if c.Type == t {
			return c.Status
		}
	}
	return ""
}

// ordinaryPod is a bare pod of no priority that sleeps and tolerates this process's own
// nodes, nothing else: the control beside what a node's kubelet or scheduler spares.
func ordinaryPod(name, ns string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: corev1.PodSpec{
		Containers:  []corev1.Container{{Name: "c", Image: cfg.WorkloadImage, ImagePullPolicy: corev1.PullIfNotPresent, Args: []string{"sleep"}}},
		Tolerations: []corev1.Toleration{ownnode.Toleration(GinkgoParallelProcess())}}}
}
