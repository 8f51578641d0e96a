package e2e

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/dsconform/dsconform/framework"
	"github.com/dsconform/dsconform/framework/daemonset"
	"github.com/dsconform/dsconform/framework/kindcluster"
	"github.com/dsconform/dsconform/framework/provenance"
	"github.com/dsconform/dsconform/framework/staticpod"
)

var _ = Describe("[sig-node] Mirror pods are read-only reflections", Label("staticpod", "mirror", "node-access"), func() {
	// What the API really answers, observed on v1.34: an update of a mirror pod's
	// container image is accepted (the API server applies ordinary pod update
	// validation), but the kubelet runs the static pod from its file and ignores
	// the mirror's spec: the container is not restarted and keeps the file's image,
	// and the kubelet does not revert the mirror's spec either.
	It("cannot be controlled through an API update of their spec: the static pod keeps running from its file", Label("SP-MIRROR-03"), func(ctx SpecContext) {
		ns, sn, orig := startStaticPod(ctx, "sp-mirror-upd")
		containerID := orig.Status.ContainerStatuses[0].ContainerID

		const other = "localhost/dsconform/not-the-file-image:1"
		patch := fmt.Sprintf(`{"spec":{"containers":[{"name":"web","image":%q}]}}`, other)
		// Observed (v1.34 to v1.37): the API accepts the update and the kubelet leaves the
		// mirror's spec as written. Refusing the update, or writing the mirror back, would
		// meet the requirement as well: what must not change is the node.
		_, err := clients.Kube.CoreV1().Pods(ns).Patch(ctx, orig.Name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
		framework.Observe("image update of mirror pod %s through the API: %s", orig.Name, map[bool]string{true: "accepted", false: fmt.Sprintf("refused (%v)", err)}[err == nil])

		Consistently(ctx, func(g Gomega) {
			p, err := clients.Kube.CoreV1().Pods(ns).Get(ctx, orig.Name, metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(p.UID).To(Equal(orig.UID), "mirror pod %s should not be recreated", p.Name)
			// a deleted mirror lingers, terminating, for its grace period with the same UID
			g.Expect(p.DeletionTimestamp).To(BeNil(), "mirror pod %s should not be deleted (deletionTimestamp %v): the update must change nothing", p.Name, p.DeletionTimestamp)
			g.Expect(p.Status.ContainerStatuses[0].Image).To(Equal(cfg.WorkloadImage), "node %s still runs the image from the manifest file", sn.Name)
			g.Expect(p.Status.ContainerStatuses[0].ContainerID).To(Equal(containerID), "the static pod's container on node %s must not be restarted", sn.Name)
			g.Expect(staticpod.ContainerRunning(ctx, sn.Node, containerID)).To(BeTrue(), "container %s should still run on node %s", containerID, sn.Name)
		}).WithTimeout(timeouts.HoldLong).WithPolling(timeouts.HoldPoll).Should(Succeed())
	})
})

var _ = Describe("[sig-node] Static pods and DaemonSets side by side", Label("staticpod", "daemonset", "node-access"), func() {
	It("replaces a deleted daemon pod through its controller, while deleting a static pod's mirror leaves the static pod running", Label("SP-MIX-01"), longestFirst, func(ctx SpecContext) {
		ns := newNamespace(ctx, "sp-mix")
		sn := onNode(ctx, eligibleNodes(ctx)[0])
		ds := waitForRollout(ctx, createDaemonSet(ctx, newDaemonSet("monitoring-daemon", ns).Obj()))
		sn.Write(ctx, ns+"-web.yaml", staticPod("web", ns))
		mirror := staticpod.WaitForMirror(ctx, mirrorOf(ns, "web", sn.Name, ""))
		daemonPod := onePodOn(ctx, ds, sn.Name)

		Expect(clients.Kube.CoreV1().Pods(ns).Delete(ctx, daemonPod.Name, metav1.DeleteOptions{})).To(Succeed())
		Expect(clients.Kube.CoreV1().Pods(ns).Delete(ctx, mirror.Name, metav1.DeleteOptions{})).To(Succeed())
		Eventually(ctx, func(g Gomega) {
			pods := daemonPods(ctx, g, ds)[sn.Name]
			g.Expect(pods).To(HaveLen(1))
			g.Expect(pods[0].UID).NotTo(Equal(daemonPod.UID), "the DaemonSet controller should create a new pod on node %s", sn.Name)
		}).WithTimeout(timeouts.Medium).Should(Succeed())
		// The kubelet recreates the mirror at its next sync; until then the deleted one
		// lingers. The new mirror must reflect the same, still running, container.
		again := staticpod.WaitForMirror(ctx, mirrorOf(ns, "web", sn.Name, mirror.UID))
		containerID := mirror.Status.ContainerStatuses[0].ContainerID
		Expect(again.Status.ContainerStatuses[0].ContainerID).To(Equal(containerID),
			"the static pod on node %s kept running: the recreated mirror %s should show the same container", sn.Name, again.UID)
		Expect(staticpod.ContainerRunning(ctx, sn.Node, containerID)).To(BeTrue(), "container %s of the static pod should still run on node %s", containerID, sn.Name)
	})
})

var _ = Describe("[sig-node] Static pods without the API server", Label("staticpod", "disruptive", "node-access"), func() {
	BeforeEach(requireNodeChanges)

	It("keep running while their node is cut off from the API server, and their mirror returns afterwards", Label("SP-MIX-02"), onOwnNode(), longestFirst, func(ctx SpecContext) {
		requireNodeAccess()
		ns, sn, mirror := startStaticPodOn(ctx, "sp-cutoff", nodeOfItsOwn(ctx))
		containerID := mirror.Status.ContainerStatuses[0].ContainerID

		// The rules lapse after the longest this spec needs them: the forced deletion of
		// the mirror seen, the window, and a margin.
		cut := cutOffFromAPIServer(ctx, sn, timeouts.Short+timeouts.HoldLong+timeouts.Short)

		// With the node cut off its kubelet cannot recreate a deleted mirror: delete it
		// (forced: a graceful delete waits for the unreachable kubelet), so its return
		// proves the kubelet reconnected and reconciled.
		zero := int64(0)
		Expect(clients.Kube.CoreV1().Pods(ns).Delete(ctx, mirror.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero})).To(Succeed())
		staticpod.WaitForMirrorGone(ctx, mirrorOf(ns, "web", sn.Name, ""))
		cut.markLease(ctx)
		// Throughout the window: the container runs, the kubelet cannot put the mirror
		// back, and it cannot renew its node Lease (renewed every 10 s when connected).
		Consistently(ctx, func(g Gomega) {
			running, err := staticpod.ContainerRunning(ctx, sn.Node, containerID)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(running).To(BeTrue(), "static pod container %s on cut-off node %s must keep running", containerID, sn.Name)
			_, err = clients.Kube.CoreV1().Pods(ns).Get(ctx, mirror.Name, metav1.GetOptions{})
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "mirror %s/%s must stay absent while node %s is cut off (it is back: the cut-off did not hold): %v", ns, mirror.Name, sn.Name, err)
			moved, err := cut.leaseRenewed(ctx)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(moved).To(BeEmpty())
		}).WithTimeout(timeouts.HoldLong).WithPolling(timeouts.HoldPoll).Should(Succeed())

		cut.reconnect(ctx)
		back := staticpod.WaitForMirror(ctx, mirrorAfterReconnect(ns, "web", sn.Name, ""))
		Expect(back.Status.ContainerStatuses[0].ContainerID).To(Equal(containerID), "the same container ran through the cut-off")
	})
})

var _ = Describe("[sig-node] A kubelet cut off from the API server", Label("staticpod", "disruptive", "node-access"), func() {
	BeforeEach(requireNodeChanges)

	It("starts a new static pod and applies an edit on its own, and their mirrors appear once it reaches the API server again", Label("SP-MIX-03"), onOwnNode(), longestFirst, func(ctx SpecContext) {
		requireNodeAccess()
		target := nodeOfItsOwn(ctx)
		ns := newNamespace(ctx, "sp-standalone")
		sn := onNode(ctx, target)
		sn.Write(ctx, ns+"-edited.yaml", staticPod("edited", ns))
		before := staticpod.WaitForMirror(ctx, mirrorOf(ns, "edited", sn.Name, ""))

		// The rules lapse after the longest this spec needs them: the two manifests seen
		// running, with the time the writes take.
		cut := cutOffFromAPIServer(ctx, sn, timeouts.KubeletSync+timeouts.Short)
		cut.markLease(ctx)

		By("writing a new manifest and renaming the edited pod's container while the node is cut off")
		sn.Write(ctx, ns+"-late.yaml", staticPod("late", ns))
		sn.Write(ctx, ns+"-edited.yaml", staticPod("edited", ns, func(p *corev1.Pod) { p.Spec.Containers[0].Name = "web-v2" }))
		written := time.Now()
		lateName, editedName := staticpod.MirrorName("late", sn.Name), staticpod.MirrorName("edited", sn.Name)
		var lateID, editedID string
		var lateAfter, editedAfter time.Duration
		// The window lasts until the runtime runs both pods as the files now say (what must
		// happen), and at every poll of it the cut-off must hold (what must hold throughout):
		// the kubelet does not renew its Lease, no mirror appears or changes. A broken
		// cut-off ends the wait at once (StopTrying), so the pods were started by the
		// kubelet alone.
		Eventually(ctx, func(g Gomega) {
			moved, err := cut.leaseRenewed(ctx)
			g.Expect(err).NotTo(HaveOccurred())
			if moved != "" {
				StopTrying(moved).Now()
			}
			if _, err := clients.Kube.CoreV1().Pods(ns).Get(ctx, lateName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				StopTrying(fmt.Sprintf("a mirror of static pod late appeared while node %s was cut off (get: %v)", sn.Name, err)).Now()
			}
			m, err := clients.Kube.CoreV1().Pods(ns).Get(ctx, editedName, metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred(), "the mirror of static pod edited stays in the API while node %s is cut off", sn.Name)
			if m.UID != before.UID {
				StopTrying(fmt.Sprintf("mirror %s was replaced while node %s was cut off", editedName, sn.Name)).Now()
			}
			if lateID == "" {
				late, err := staticpod.RunningContainers(ctx, sn.Node, ns, lateName)
				g.Expect(err).NotTo(HaveOccurred())
				if len(late) == 1 {
					lateID, lateAfter = late[0].ID, time.Since(written)
				}
			}
			if editedID == "" {
				edited, err := staticpod.RunningContainers(ctx, sn.Node, ns, editedName)
				g.Expect(err).NotTo(HaveOccurred())
				if len(edited) == 1 && edited[0].Name == "web-v2" {
					editedID, editedAfter = edited[0].ID, time.Since(written)
				}
			}
			g.Expect(lateID).NotTo(BeEmpty(), "node %s, cut off from the API server: the kubelet should run the new static pod late alone (it runs %v)", sn.Name, containersOf(ctx, sn, ns, lateName))
			g.Expect(editedID).NotTo(BeEmpty(), "node %s, cut off from the API server: the kubelet should run the edited pod's renamed container web-v2 alone (it runs %v)", sn.Name, containersOf(ctx, sn, ns, editedName))
		}).WithTimeout(timeouts.KubeletSync).WithPolling(timeouts.HoldPoll).Should(Succeed())
		framework.RecordLatency("manifest written on a cut-off node → its container running", sn.Name, lateAfter)
		framework.RecordLatency("manifest edited on a cut-off node → the new container running", sn.Name, editedAfter)

		By("reconnecting: the mirrors catch up with what runs")
		cut.reconnect(ctx)
		lateMirror := staticpod.WaitForMirror(ctx, mirrorAfterReconnect(ns, "late", sn.Name, ""))
		editedMirror := staticpod.WaitForMirror(ctx, mirrorAfterReconnect(ns, "edited", sn.Name, before.UID))
		Expect(staticpod.RuntimeID(lateMirror.Status.ContainerStatuses[0].ContainerID)).To(Equal(lateID),
			"node %s: the mirror of late must show the container the kubelet started while cut off, not a new one", sn.Name)
		Expect(editedMirror.Spec.Containers[0].Name).To(Equal("web-v2"), "node %s: the new mirror of edited reflects the edit", sn.Name)
		Expect(staticpod.RuntimeID(editedMirror.Status.ContainerStatuses[0].ContainerID)).To(Equal(editedID),
			"node %s: the mirror of edited must show the container the kubelet started while cut off, not a new one", sn.Name)
	})
})

// apiCutOff is a node cut off from the API server by iptables rules on its host, over
// IPv4 and IPv6: kind's network is dual stack, and a kubelet cut off over IPv4 alone
// redials over IPv6 about 45 s later. The rules are stamped like every host change, and
// they lapse: the host's own timer deletes them after the spec's longest use of them,
// since through an agent pod a cut-off node cannot be reached to undo them (the exec
// goes through its kubelet, which cannot authorize it).
type apiCutOff struct {
	sn      staticpod.Node
	v4, v6  []string
	renewed *metav1.MicroTime
}

func cutOffFromAPIServer(ctx context.Context, sn staticpod.Node, lapse time.Duration) *apiCutOff {
	GinkgoHelper()
	cpIP := internalIP(listNodes(ctx), controlPlaneNames(ctx)[0])
	c := &apiCutOff{sn: sn, v4: []string{"OUTPUT", "-p", "tcp", "-d", cpIP, "--dport", "6443", "-j", "REJECT"},
		v6: []string{"OUTPUT", "-p", "tcp", "--dport", "6443", "-j", "REJECT"}}
	By(fmt.Sprintf("cutting node %s off from the API server (%s:6443, and port 6443 over IPv6) for at most %s", sn.Name, cpIP, lapse))
	sn.InsertLapsingRule(ctx, provenance.IPTables, lapse, c.v4...)
	sn.InsertLapsingRule(ctx, provenance.IP6Tables, lapse, c.v6...)
	return c
}

// markLease records when the node last renewed its Lease (every 10 s when connected): a
// later renewal means its kubelet reaches the API server.
func (c *apiCutOff) markLease(ctx context.Context) {
	GinkgoHelper()
	lease, err := clients.Kube.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, c.sn.Name, metav1.GetOptions{})
	Expect(err).NotTo(HaveOccurred(), "node %s's Lease", c.sn.Name)
	c.renewed = lease.Spec.RenewTime.DeepCopy()
}

// leaseRenewed says how the node's Lease moved since markLease ("" when it did not).
func (c *apiCutOff) leaseRenewed(ctx context.Context) (string, error) {
	l, err := clients.Kube.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, c.sn.Name, metav1.GetOptions{})
	if err != nil || l.Spec.RenewTime.Equal(c.renewed) {
		return "", err
	}
	return fmt.Sprintf("node %s renewed its Lease (%s → %s): its kubelet still reaches the API server", c.sn.Name, c.renewed.Time, l.Spec.RenewTime.Time), nil
}

// reconnect deletes the rules now, or, where the node cannot be reached, as soon as
// their timer has.
func (c *apiCutOff) reconnect(ctx context.Context) {
	GinkgoHelper()
	c.sn.DeleteRule(ctx, provenance.IP6Tables, c.v6...)
	c.sn.DeleteRule(ctx, provenance.IPTables, c.v4...)
}

// containersOf names the running containers of a pod on the node, for a failure message.
func containersOf(ctx context.Context, sn staticpod.Node, ns, pod string) any {
	cs, err := staticpod.RunningContainers(ctx, sn.Node, ns, pod)
	if err != nil {
		return err
	}
	return cs
}

var _ = Describe("[sig-node] Mirror pod generation", Label("staticpod", "mirror", "node-access"), func() {
	It("stays at metadata.generation 1 with no observedGeneration, also for the new mirror an edit brings", Label("SP-MIRROR-05"), func(ctx SpecContext) {
		ns := newNamespace(ctx, "sp-mirror-gen")
		sn := onNode(ctx, eligibleNodes(ctx)[0])
		deadline := int64(3000)
		file := ns + "-web.yaml"
		withInit := func(args ...string) func(*corev1.Pod) {
			return func(p *corev1.Pod) {
				p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: cfg.WorkloadImage, ImagePullPolicy: corev1.PullIfNotPresent, Args: args}}
			}
		}
		sn.Write(ctx, file, staticPod("web", ns, withInit("exit", "0")))
		first := staticpod.WaitForMirror(ctx, mirrorOf(ns, "web", sn.Name, ""))
		expectMirrorGeneration(ctx, first, sn.Name)

		By("editing activeDeadlineSeconds and the container's env: a new mirror")
		editSpec := func(p *corev1.Pod) {
			p.Spec.ActiveDeadlineSeconds = &deadline
			p.Spec.Containers[0].Env[0].Value = "2"
		}
		sn.Write(ctx, file, staticPod("web", ns, withInit("exit", "0"), editSpec))
		second := staticpod.WaitForMirror(ctx, mirrorOf(ns, "web", sn.Name, first.UID))
		Expect(second.Spec.ActiveDeadlineSeconds).To(HaveValue(Equal(deadline)), "node %s: the new mirror reflects the edited activeDeadlineSeconds", sn.Name)
		expectMirrorGeneration(ctx, second, sn.Name)

		By("editing the init container: a new mirror again")
		sn.Write(ctx, file, staticPod("web", ns, withInit("exit", "0", "1s"), editSpec))
		third := staticpod.WaitForMirror(ctx, mirrorOf(ns, "web", sn.Name, second.UID))
		Expect(third.Spec.InitContainers[0].Args).To(Equal([]string{"exit", "0", "1s"}), "node %s: the new mirror reflects the edited init container", sn.Name)
		expectMirrorGeneration(ctx, third, sn.Name)
	})
})

// expectMirrorGeneration checks, once the kubelet has reported the mirror Ready, that
// it is at generation 1 and that neither its status nor a condition carries an
// observedGeneration (the kubelet reports none for mirror pods).
func expectMirrorGeneration(ctx context.Context, mirror *corev1.Pod, nodeName string) {
	GinkgoHelper()
	Eventually(ctx, func(g Gomega) {
		p, err := clients.Kube.CoreV1().Pods(mirror.Namespace).Get(ctx, mirror.Name, metav1.GetOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(p.UID).To(Equal(mirror.UID), "node %s: mirror %s was replaced while being checked", nodeName, mirror.Name)
		g.Expect(daemonset.Ready(p)).To(BeTrue(), "node %s: the kubelet has not reported mirror %s Ready yet", nodeName, mirror.Name)
		mirror = p
	}).WithTimeout(timeouts.Medium).Should(Succeed())
	Expect(mirror.Generation).To(BeEquivalentTo(1), "node %s: mirror pod %s metadata.generation", nodeName, mirror.Name)
	Expect(mirror.Status.ObservedGeneration).To(BeZero(), "node %s: mirror pod %s must carry no status.observedGeneration", nodeName, mirror.Name)
	for _, c := range mirror.Status.Conditions {
		Expect(c.ObservedGeneration).To(BeZero(), "node %s: mirror pod %s condition %s must carry no observedGeneration", nodeName, mirror.Name, c.Type)
	}
}

var _ = Describe("[sig-node] Static pods across a kubelet restart", Label("staticpod", "disruptive", "node-access"), func() {
	It("keep their container and mirror through a kubelet restart, and the kubelet starts a manifest written while it was stopped", Label("SP-KUBELET-01"), onOwnNode(), func(ctx SpecContext) {
		requireKind()
		ns, sn, before := startStaticPodOn(ctx, "sp-kubelet", nodeOfItsOwn(ctx))
		cid := before.Status.ContainerStatuses[0].ContainerID
		host := staticpod.Node{Name: sn.Name, Host: kindHostOf(sn.Name), Dir: sn.Dir}

		withInit := func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: cfg.WorkloadImage, ImagePullPolicy: corev1.PullIfNotPresent, Args: []string{"exit", "0"}}}
		}
		host.Write(ctx, ns+"-init.yaml", staticPod("init", ns, withInit))
		initBefore := staticpod.WaitForMirror(ctx, mirrorOf(ns, "init", sn.Name, ""))

		By("stopping the kubelet on " + sn.Name + ", writing a second manifest and removing the init container from a third while it is stopped")
		host.StopService(ctx, "kubelet")
		host.Write(ctx, ns+"-late.yaml", staticPod("late", ns))
		host.Write(ctx, ns+"-init.yaml", staticPod("init", ns))
		Expect(staticpod.ContainerRunning(ctx, host.Node, cid)).To(BeTrue(), "node %s: the static pod's container %s runs on while the kubelet is stopped", sn.Name, cid)

		By("starting the kubelet again")
		started := time.Now()
		host.StartService(ctx, "kubelet")
		staticpod.WaitForMirror(ctx, mirrorOf(ns, "late", sn.Name, ""))
		framework.RecordLatency("kubelet started → mirror of a manifest written while it was stopped Running", sn.Name, time.Since(started))
		// upstream's standalone test: a static pod whose init container was removed while
		// the kubelet was stopped is Ready after the restart
		Eventually(ctx, func(g Gomega) {
			p, err := clients.Kube.CoreV1().Pods(ns).Get(ctx, initBefore.Name, metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred(), "node %s: the mirror of init", sn.Name)
			g.Expect(staticpod.CheckMirror(p, sn.Name, initBefore.UID)).To(Succeed())
			g.Expect(p.Spec.InitContainers).To(BeEmpty(), "node %s: the mirror of init reflects the manifest without its init container", sn.Name)
			g.Expect(p.Status.InitContainerStatuses).To(BeEmpty(), "node %s: init runs no init container any more", sn.Name)
			g.Expect(daemonset.Ready(p)).To(BeTrue(), "node %s: static pod init, its init container removed while the kubelet was stopped, should be Ready after the restart (conditions %v)", sn.Name, p.Status.Conditions)
		}).WithTimeout(timeouts.Medium).WithPolling(timeouts.Poll).Should(Succeed())

		// the kubelet rereads its directory and syncs its pods after a restart: HoldLong outlasts one file check
		Consistently(ctx, func(g Gomega) {
			p, err := clients.Kube.CoreV1().Pods(ns).Get(ctx, before.Name, metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred(), "node %s: the mirror %s must survive the kubelet restart", sn.Name, before.Name)
			g.Expect(p.UID).To(Equal(before.UID), "node %s: the kubelet restart must not replace the mirror %s", sn.Name, before.Name)
			g.Expect(p.Status.ContainerStatuses).To(HaveLen(1))
			st := p.Status.ContainerStatuses[0]
			g.Expect(st.ContainerID).To(Equal(cid), "node %s: the kubelet restart must not restart the static pod's container", sn.Name)
			g.Expect(st.RestartCount).To(BeZero(), "node %s: restartCount of the static pod's container after the kubelet restart", sn.Name)
			g.Expect(st.Ready).To(BeTrue(), "node %s: the static pod's container stays Ready through the kubelet restart", sn.Name)
			running, err := staticpod.ContainerRunning(ctx, host.Node, cid)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(running).To(BeTrue(), "node %s: container %s must keep running", sn.Name, cid)
		}).WithTimeout(timeouts.HoldLong).WithPolling(timeouts.HoldPoll).Should(Succeed())
	})
})

var _ = Describe("[sig-node] A static pod removed while the container runtime is down", Label("staticpod", "disruptive", "node-access"), func() {
	It("keeps its mirror and container until the runtime is back, then finishes terminating and its mirror goes", Label("SP-KUBELET-02"), onOwnNode(), func(ctx SpecContext) {
		requireKind() // the runtime stopped, nothing on the node can be exec'd through the API
		target := nodeOfItsOwn(ctx)
		ns := newNamespace(ctx, "sp-runtime-down")
		sn := onNode(ctx, target)
		host := staticpod.Node{Name: sn.Name, Host: kindHostOf(sn.Name), Dir: sn.Dir}
		file := host.Write(ctx, ns+"-linger.yaml", lingeringPod(ns, "1"))
		first := staticpod.WaitForMirror(ctx, mirrorOf(ns, "linger", sn.Name, ""))
		cid := first.Status.ContainerStatuses[0].ContainerID
		pid, err := staticpod.ContainerPID(ctx, host.Node, cid)
		Expect(err).NotTo(HaveOccurred())

		// The kubelet has begun stopping the pod (SIGTERM seen, where upstream sleeps 2 s)
		// when the runtime goes: its termination cannot finish until the runtime is back.
		removed := time.Now()
		host.RemoveFile(ctx, file)
		expectTermSignal(ctx, host, cid, "its manifest was removed")
		By("stopping the container runtime (containerd) on " + sn.Name + " in the pod's grace period")
		host.StopService(ctx, "containerd")
		Eventually(ctx, func() error {
			_, err := staticpod.ContainerRunning(ctx, host.Node, cid)
			return err
		}).WithTimeout(timeouts.Short).WithPolling(time.Second).Should(HaveOccurred(), "node %s: the CRI should not answer once containerd is stopped", sn.Name)

		// The grace period runs out during the outage, and a Hold more: the kubelet cannot
		// kill the container, so it must not report the pod terminated (mirror gone).
		window := time.Until(removed.Add(lingerGrace + timeouts.Hold))
		By(fmt.Sprintf("holding for %s: the %s grace period runs out while the runtime is down", window.Round(time.Second), lingerGrace))
		Consistently(ctx, func(g Gomega) {
			p, err := clients.Kube.CoreV1().Pods(ns).Get(ctx, first.Name, metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred(), "node %s: the mirror must stay while the kubelet cannot stop its static pod (runtime down)", sn.Name)
			g.Expect(p.UID).To(Equal(first.UID), "node %s: the mirror must stay the same object while the runtime is down", sn.Name)
			g.Expect(p.Status.Phase).To(Equal(corev1.PodRunning), "node %s: mirror %s phase while its container cannot be stopped", sn.Name, p.Name)
			alive, err := staticpod.ProcessAlive(ctx, host.Node, pid)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(alive).To(BeTrue(), "node %s: the container's process %d (it ignores SIGTERM) runs on while the runtime that would kill it is down", sn.Name, pid)
		}).WithTimeout(window).WithPolling(timeouts.HoldPoll).Should(Succeed())

		By("starting the container runtime again")
		started := time.Now()
		host.StartService(ctx, "containerd")
		// The kubelet sees the runtime within its 5 s status loop, retries the stop (its
		// pod worker backs off up to 15 s), the container takes its grace period again at
		// most, and housekeeping (2 s) removes the mirror.
		Eventually(ctx, func(g Gomega) {
			_, err := clients.Kube.CoreV1().Pods(ns).Get(ctx, first.Name, metav1.GetOptions{})
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "node %s: with its runtime back for %s, the kubelet should finish terminating the removed static pod and delete its mirror %s (get: %v)",
				sn.Name, time.Since(started).Round(time.Second), first.Name, err)
		}).WithTimeout(lingerGrace + timeouts.Short).WithPolling(time.Second).Should(Succeed())
		framework.RecordLatency(fmt.Sprintf("container runtime back → removed static pod's mirror gone (grace %s, spent)", lingerGrace), sn.Name, time.Since(started))
		Expect(staticpod.ProcessAlive(ctx, host.Node, pid)).To(BeFalse(), "node %s: the mirror is gone, so the kubelet must have stopped the container's process %d", sn.Name, pid)
		Expect(staticpod.RunningContainers(ctx, host.Node, ns, first.Name)).To(BeEmpty(), "node %s: the removed static pod must not be started again once the runtime is back", sn.Name)
		Eventually(ctx, func(g Gomega) {
			g.Expect(kindcluster.NodeReady(getNode(ctx, sn.Name))).To(BeTrue(), "node %s should be Ready again with its runtime back", sn.Name)
		}).WithTimeout(timeouts.NodeNotReady).WithPolling(timeouts.Poll).Should(Succeed())
	})
})
