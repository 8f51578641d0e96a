package e2e

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/util/retry"

	"github.com/dsconform/dsconform/framework"
	"github.com/dsconform/dsconform/framework/daemonset"
)

const revisionHashLabel = appsv1.DefaultDaemonSetUniqueLabelKey // controller-revision-hash

// surgeOverlapBound is how long a surging node may run its old and new pod side by side
// when the new one becomes ready at once: upstream's "should surge pods" bound (60 s);
// minReadySeconds adds to it where a spec sets it.
const surgeOverlapBound = time.Minute

var _ = Describe("[sig-apps] DaemonSet updates", Label("daemonset", "updates"), func() {
	It("replaces pods node by node with RollingUpdate, never exceeding maxUnavailable", Label("DS-UPD-01"), func(ctx SpecContext) {
		// two nodes at least: with one, "never more than one unavailable" is no bound at all
		workers := needNodes(ctx, 2)
		ns := newNamespace(ctx, "ds-rolling")
		ds := waitForRollout(ctx, createDaemonSet(ctx, newDaemonSet("monitoring-daemon", ns).
			WithRollingUpdate(intstr.FromInt32(1), intstr.FromInt32(0)).Obj()))
		before := podUIDs(ctx, ds)
		w := watchRollout(ctx, ds, 0)
		start := time.Now()
		setVersion(ctx, ds, "2")
		ds = waitForRollout(ctx, ds)
		framework.RecordLatency(fmt.Sprintf("RollingUpdate rollout per node (maxUnavailable=1, %d nodes)", len(workers)), "", time.Since(start)/time.Duration(len(workers)))
		x := w.Stop()
		Expect(x.Ended).To(BeEmpty(), "the pods were watched through the whole rollout")
		Expect(x.MaxUnavailable).To(BeNumerically("<=", 1), "nodes without an available pod at once during the rollout (maxUnavailable=1); worst moment: %s", x.Worst)
		Expect(x.MaxUnavailable).To(Equal(1), "with maxSurge=0 each old pod goes before its replacement comes: the watch should have seen a node without an available pod")
		after := podUIDs(ctx, ds)
		for n, uid := range before {
			Expect(after[n]).NotTo(Equal(uid), "the pod on node %s should have been replaced by the update, not kept", n)
		}
		Expect(x.MaxPerNode).To(Equal(1), "with maxSurge=0 no node may run two daemon pods; worst moment: %s", x.WorstPerNode)
		expectAllOnRevision(ctx, ds)
	})

	It("runs the old and the new pod side by side on a node with maxSurge, one of each at most", Label("DS-UPD-02"), func(ctx SpecContext) {
		// two nodes at least: with one, "at most one node surging" is no bound at all
		needNodes(ctx, 2)
		ns := newNamespace(ctx, "ds-surge")
		ds := waitForRollout(ctx, createDaemonSet(ctx, newDaemonSet("monitoring-daemon", ns).
			WithRollingUpdate(intstr.FromInt32(0), intstr.FromInt32(1)).Obj()))
		w := watchRollout(ctx, ds, 0)
		setVersion(ctx, ds, "2")
		ds = waitForRollout(ctx, ds)
		x := w.Stop()
		Expect(x.Ended).To(BeEmpty(), "the pods were watched through the whole rollout")
		Expect(x.MaxUnavailable).To(BeZero(), "with maxUnavailable=0 every node must keep an available pod; worst moment: %s", x.Worst)
		Expect(x.MaxPerNode).To(Equal(2), "maxSurge should run old and new side by side on a node at some point")
		Expect(x.MaxSurging).To(BeNumerically("<=", 1), "maxSurge=1: at most one node may run old and new side by side at once; worst moment: %s", x.WorstSurge)
		framework.RecordLatency("maxSurge=1: longest old and new pod side by side on a node", "", x.MaxOverlap)
		expectSurgeInvariants(x, surgeOverlapBound)
		expectAllOnRevision(ctx, ds)
	})

	It("replaces an old pod that becomes unavailable mid-rollout at once, outside the maxSurge budget", Label("DS-UPD-10"), func(ctx SpecContext) {
		// two nodes at least: one to stall the surge on, one whose old pod goes unready
		nodes := needNodes(ctx, 2)
		ns := newNamespace(ctx, "ds-surge-unready")
		ds := waitForRollout(ctx, createDaemonSet(ctx, newDaemonSet("monitoring-daemon", ns).
			WithRollingUpdate(intstr.FromInt32(0), intstr.FromInt32(1)).Obj()))
		oldHash := currentHash(ctx, ds)
		w := watchRollout(ctx, ds, 0)

		By("updating to a template whose pods never become ready: the rollout surges onto one node and stalls there")
		patch := `{"spec":{"template":{"spec":{"containers":[{"name":"monitor","env":[{"name":"VERSION","value":"2"},{"name":"READY_FILE","value":"/nonexistent/ready"}]}]}}}}`
		_, err := clients.Kube.AppsV1().DaemonSets(ns).Patch(ctx, ds.Name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
		Expect(err).NotTo(HaveOccurred(), "updating DaemonSet %s to a never-ready template", ds.Name)
		var stalled string
		Eventually(ctx, func(g Gomega) {
			surging := surgingNodes(ctx, g, ds, oldHash)
			g.Expect(surging).To(HaveLen(1), "maxSurge=1: one node should run its old pod and a new, never-ready pod")
			stalled = surging[0]
		}).WithTimeout(timeouts.Medium).Should(Succeed())
		Consistently(ctx, func(g Gomega) {
			g.Expect(surgingNodes(ctx, g, ds, oldHash)).To(Equal([]string{stalled}),
				"maxSurge=1 and the new pod on %s never becomes ready: no other node may get a new pod while every old pod is available", stalled)
		}).WithTimeout(timeouts.Hold).WithPolling(timeouts.HoldPoll).Should(Succeed())

		var target string
		for _, n := range nodes {
			if n != stalled {
				target = n
				break
			}
		}
		old := onePodOn(ctx, ds, target)
		By(fmt.Sprintf("making the old pod %s on %s report not ready (its readiness endpoint fails from now on)", old.Name, target))
		body, err := clients.Kube.CoreV1().Pods(ns).ProxyGet("http", old.Name, "8080", "/unready", nil).DoRaw(ctx)
		Expect(err).NotTo(HaveOccurred(), "asking pod %s on %s, through the API server's pod proxy, to report not ready: %s", old.Name, target, body)
		asked := time.Now()
		var createdAt time.Time
		Eventually(ctx, func(g Gomega) {
			var fresh []string
			for _, p := range listPods(ctx, g, ns, ds) {
				if daemonset.TargetNode(&p) == target && p.Labels[revisionHashLabel] != oldHash {
					fresh = append(fresh, p.Name)
					createdAt = p.CreationTimestamp.Time
				}
			}
			g.Expect(fresh).To(HaveLen(1), "old pod %s on %s was made not ready at %s: an updated pod should be created there at once, "+
				"although the surge budget (maxSurge=1) is spent on %s", old.Name, target, asked.Format(time.RFC3339), stalled)
		}).WithTimeout(timeouts.Short).Should(Succeed())
		// the kubelet needs up to failureThreshold (3) × periodSeconds (2 s) to see the pod not ready
		framework.RecordLatency("maxSurge: old pod made not ready → its replacement created (outside the budget; includes 3 failed probes)", "", createdAt.Sub(asked))

		By("the unavailable old pod goes; the budget still holds for every node whose old pod stays available")
		Eventually(ctx, func(g Gomega) {
			_, err := clients.Kube.CoreV1().Pods(ns).Get(ctx, old.Name, metav1.GetOptions{})
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the old pod %s on %s is not ready and has a successor: the controller should delete it (err: %v)", old.Name, target, err)
		}).WithTimeout(timeouts.Short).Should(Succeed())
		Consistently(ctx, func(g Gomega) {
			revs := revisionsByNode(ctx, g, ds)
			for _, n := range nodes {
				switch n {
				case stalled:
					g.Expect(revs[n]).To(HaveLen(2), "node %s: the surge pod (never ready) and the old pod it cannot replace", n)
				case target:
					g.Expect(revs[n]).NotTo(ContainElement(oldHash), "node %s: its unavailable old pod was replaced", n)
				default:
					g.Expect(revs[n]).To(Equal([]string{oldHash}), "node %s: its old pod is available and the surge budget (maxSurge=1) is spent on %s: no new pod may start there", n, stalled)
				}
			}
		}).WithTimeout(timeouts.Hold).WithPolling(timeouts.HoldPoll).Should(Succeed())
		if len(nodes) < 3 {
			By(fmt.Sprintf("with %d nodes no third node shows the budget holding beside the replacement", len(nodes)))
		}
		x := w.Stop()
		Expect(x.Ended).To(BeEmpty(), "the pods were watched through the whole rollout")
		Expect(x.MaxSurging).To(Equal(2), "the replacement on %s must start beside its not-ready old pod while %s still surges (outside the budget), not after the old pod was deleted; worst moment: %s",
			target, stalled, x.WorstSurge)
		expectSurgeInvariants(x, 0) // the stalled surge never ends: no overlap bound
	})

	It("surges onto at most a percentage of the nodes, rounded up, and removes an old pod only after its replacement has been available for minReadySeconds", Label("DS-UPD-08"), func(ctx SpecContext) {
		ns := newNamespace(ctx, "ds-surge-pct")
		const minReady = 6
		ds := waitForRollout(ctx, createDaemonSet(ctx, newDaemonSet("monitoring-daemon", ns).
			WithRollingUpdate(intstr.FromInt32(0), intstr.FromString("50%")).WithMinReadySeconds(minReady).Obj()))
		nodes := len(eligibleNodes(ctx))
		budget := (nodes + 1) / 2 // 50 % of the nodes, rounded up, as the controller rounds maxSurge
		By(fmt.Sprintf("maxSurge=50%% of %d nodes: at most %d nodes surging at once", nodes, budget))
		w := watchRollout(ctx, ds, minReady*time.Second)
		setVersion(ctx, ds, "2")
		ds = waitForRollout(ctx, ds)
		x := w.Stop()
		Expect(x.Ended).To(BeEmpty(), "the pods were watched through the whole rollout")
		Expect(x.MaxUnavailable).To(BeZero(), "with maxUnavailable=0 every node must keep an available pod; worst moment: %s", x.Worst)
		Expect(x.MaxSurging).To(BeNumerically("<=", budget), "maxSurge=50%% of %d nodes allows %d surging at once; worst moment: %s", nodes, budget, x.WorstSurge)
		Expect(x.MaxSurging).To(Equal(budget), "the controller surges onto the whole budget at once (%d of %d nodes): new pods stay unavailable for %d s", budget, nodes, minReady)
		Expect(x.EarlyDeletions).To(BeEmpty(), "old pods must go only after their replacement has been available for minReadySeconds=%d", minReady)
		expectSurgeInvariants(x, surgeOverlapBound+minReady*time.Second)
		expectAllOnRevision(ctx, ds)
		if nodes < 3 || nodes%2 == 0 {
			Skip(fmt.Sprintf("the surge budget and minReadySeconds held, but telling 50%% rounded up from rounded down needs an odd number (3 or more) of nodes a plain DaemonSet runs on; this cluster has %d", nodes))
		}
	})

	It("counts a pod available only after minReadySeconds", Label("DS-UPD-03"), func(ctx SpecContext) {
		ns := newNamespace(ctx, "ds-minready")
		const minReady = 10
		ds := createDaemonSet(ctx, newDaemonSet("monitoring-daemon", ns).WithMinReadySeconds(minReady).Obj())
		var readyAt time.Time
		Eventually(ctx, func(g Gomega) {
			cur, err := clients.Kube.AppsV1().DaemonSets(ns).Get(ctx, ds.Name, metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(cur.Status.DesiredNumberScheduled).To(BeNumerically(">", 0), "DaemonSet %s: status.desiredNumberScheduled (the controller has counted no eligible node yet)", ds.Name)
			g.Expect(cur.Status.NumberReady).To(Equal(cur.Status.DesiredNumberScheduled), "DaemonSet %s: status.numberReady against desiredNumberScheduled", ds.Name)
			readyAt = time.Now()
			g.Expect(cur.Status.NumberAvailable).To(BeNumerically("<", cur.Status.NumberReady),
				"pods just became ready: with minReadySeconds=%d they cannot be available yet", minReady)
		}).WithTimeout(timeouts.Medium).WithPolling(300 * time.Millisecond).Should(Succeed())
		waitForRollout(ctx, ds)
		Expect(time.Since(readyAt)).To(BeNumerically(">=", (minReady-3)*time.Second), "pods became available too soon after being ready")
	})

	It("leaves pods untouched with OnDelete until they are deleted by hand", Label("DS-UPD-04"), func(ctx SpecContext) {
		ns := newNamespace(ctx, "ds-ondelete")
		ds := waitForRollout(ctx, createDaemonSet(ctx, newDaemonSet("monitoring-daemon", ns).WithOnDelete().Obj()))
		before := podUIDs(ctx, ds)
		firstHash := currentHash(ctx, ds)
		setVersion(ctx, ds, "2")
		waitForObservedGeneration(ctx, ds)
		Expect(revisions(ctx, ds)).To(HaveLen(2), "OnDelete: the update still makes a second ControllerRevision")
		Consistently(ctx, func(g Gomega) {
			cur, err := clients.Kube.AppsV1().DaemonSets(ns).Get(ctx, ds.Name, metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(cur.Status.UpdatedNumberScheduled).To(BeZero(), "OnDelete: no pod is updated until deleted")
			g.Expect(podUIDsNow(ctx, g, ds)).To(Equal(before), "OnDelete: pods must not be replaced")
			for n, pods := range daemonPods(ctx, g, ds) {
				g.Expect(pods[0].Labels).To(HaveKeyWithValue(revisionHashLabel, firstHash), "OnDelete: the pod on node %s keeps the first revision's hash", n)
			}
		}).WithTimeout(timeouts.Hold).WithPolling(timeouts.HoldPoll).Should(Succeed())

		target := eligibleNodes(ctx)[0]
		old := onePodOn(ctx, ds, target)
		Expect(clients.Kube.CoreV1().Pods(ns).Delete(ctx, old.Name, metav1.DeleteOptions{})).To(Succeed())
		Eventually(ctx, func(g Gomega) {
			pods := daemonPods(ctx, g, ds)[target]
			g.Expect(pods).To(HaveLen(1))
			g.Expect(pods[0].Spec.Containers[0].Env).To(ContainElement(corev1.EnvVar{Name: "VERSION", Value: "2"}),
				"the pod recreated on node %s after a manual delete should have the new template", target)
		}).WithTimeout(timeouts.Medium).Should(Succeed())
	})

	It("tracks versions with ControllerRevisions and rolls back without restarting pods that already run the old template", Label("DS-UPD-05"), func(ctx SpecContext) {
		// two nodes at least: one to stall the rollout on, one whose pod must survive it
		needNodes(ctx, 2)
		ns := newNamespace(ctx, "ds-rollback")
		ds := waitForRollout(ctx, createDaemonSet(ctx, newDaemonSet("monitoring-daemon", ns).
			WithRollingUpdate(intstr.FromInt32(1), intstr.FromInt32(0)).Obj()))
		v1Hash := currentHash(ctx, ds)
		Expect(revisions(ctx, ds)).To(HaveLen(1))

		By("updating to an image that can never start: the rollout stalls on one node")
		setImage(ctx, ds, "localhost/dsconform/does-not-exist:never")
		var stuck string
		var survivors map[string]types.UID
		Eventually(ctx, func(g Gomega) {
			pods := listPods(ctx, g, ns, ds)
			survivors = map[string]types.UID{}
			stuck = ""
			for _, p := range pods {
				if p.Labels[revisionHashLabel] == v1Hash {
					survivors[p.Spec.NodeName] = p.UID
				} else {
					stuck = p.Spec.NodeName
				}
			}
			g.Expect(stuck).NotTo(BeEmpty(), "one node should be trying the broken template")
			g.Expect(revisions(ctx, ds)).To(HaveLen(2), "each template version gets a ControllerRevision")
		}).WithTimeout(timeouts.Medium).Should(Succeed())

		By("rolling back to the first template")
		setImage(ctx, ds, cfg.WorkloadImage)
		ds = waitForRollout(ctx, ds)
		Expect(currentHash(ctx, ds)).To(Equal(v1Hash), "rolling back reuses the first revision's hash")
		after := podUIDs(ctx, ds)
		for n, uid := range survivors {
			Expect(after[n]).To(Equal(uid), "pod on node %s already ran the old template: rollback must not restart it", n)
		}
		Expect(revisions(ctx, ds)).To(HaveLen(2), "a rollback reuses the old ControllerRevision rather than adding one")
	})

	It("prunes ControllerRevisions beyond revisionHistoryLimit", Label("DS-UPD-06"), func(ctx SpecContext) {
		ns := newNamespace(ctx, "ds-history")
		ds := waitForRollout(ctx, createDaemonSet(ctx, newDaemonSet("monitoring-daemon", ns).WithRevisionHistoryLimit(1).
			WithRollingUpdate(intstr.FromString("100%"), intstr.FromInt32(0)).Obj()))
		for v := 2; v <= 4; v++ {
			setVersion(ctx, ds, fmt.Sprint(v))
			ds = waitForRollout(ctx, ds)
		}
		Eventually(ctx, func(g Gomega) {
			var kept []int64
			for _, r := range revisions(ctx, ds) {
				kept = append(kept, r.Revision)
			}
			g.Expect(kept).To(ConsistOf(int64(3), int64(4)),
				"DaemonSet %s after 4 template versions with revisionHistoryLimit=1: exactly the current revision (4) and the newest old one (3) remain", ds.Name)
		}).WithTimeout(timeouts.Short).Should(Succeed())
	})

	It("manages its ControllerRevisions through the API: one owned revision per template, recreated when deleted, a new one per template change", Label("DS-UPD-07"), func(ctx SpecContext) {
		ns := newNamespace(ctx, "ds-revisions")
		ds := waitForRollout(ctx, createDaemonSet(ctx, newDaemonSet("monitoring-daemon", ns).Obj()))
		crs := clients.Kube.AppsV1().ControllerRevisions(ns)
		revs := revisions(ctx, ds)
		Expect(revs).To(HaveLen(1), "a new DaemonSet has exactly one ControllerRevision")
		first := revs[0]
		Expect(metav1.GetControllerOf(&first)).To(HaveField("UID", ds.UID), "ControllerRevision %s must be controlled by DaemonSet %s", first.Name, ds.Name)
		Expect(first.Revision).To(BeEquivalentTo(1))
		Expect(first.Labels).To(HaveKeyWithValue(revisionHashLabel, currentHash(ctx, ds)))
		pods := podUIDs(ctx, ds)

		By("reading, patching and reading back the revision")
		got, err := crs.Get(ctx, first.Name, metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred(), "GET ControllerRevision %s", first.Name)
		Expect(got.Data.Raw).To(Equal(first.Data.Raw))
		_, err = crs.Patch(ctx, first.Name, types.MergePatchType, []byte(`{"metadata":{"labels":{"dsconform.e2e/patched":"true"}}}`), metav1.PatchOptions{})
		Expect(err).NotTo(HaveOccurred(), "PATCH ControllerRevision %s", first.Name)
		got, err = crs.Get(ctx, first.Name, metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred())
		Expect(got.Labels).To(HaveKeyWithValue("dsconform.e2e/patched", "true"))

		By("deleting the current revision: the controller recreates it under the same name")
		Expect(crs.Delete(ctx, first.Name, metav1.DeleteOptions{})).To(Succeed())
		Eventually(ctx, func(g Gomega) {
			r, err := crs.Get(ctx, first.Name, metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred(), "the DaemonSet controller should recreate its current ControllerRevision %s", first.Name)
			g.Expect(r.UID).NotTo(Equal(first.UID), "ControllerRevision %s is still the deleted one", first.Name)
			g.Expect(metav1.GetControllerOf(r)).To(HaveField("UID", ds.UID))
			g.Expect(r.Data.Raw).To(MatchJSON(first.Data.Raw), "the recreated revision must hold the same template")
		}).WithTimeout(timeouts.Medium).Should(Succeed())
		Expect(podUIDs(ctx, ds)).To(Equal(pods), "recreating the revision must not restart any daemon pod")

		By("a template change adds revision 2, and the pods carry its hash")
		setVersion(ctx, ds, "2")
		ds = waitForRollout(ctx, ds)
		Eventually(ctx, func(g Gomega) {
			byRevision := map[int64]string{}
			for _, r := range revisions(ctx, ds) {
				byRevision[r.Revision] = r.Labels[revisionHashLabel]
			}
			g.Expect(byRevision).To(HaveLen(2), "DaemonSet %s after one template change: ControllerRevisions by revision %v", ds.Name, byRevision)
			g.Expect(byRevision).To(HaveKey(int64(2)))
			for n, ps := range daemonPods(ctx, g, ds) {
				g.Expect(ps[0].Labels).To(HaveKeyWithValue(revisionHashLabel, byRevision[2]), "pod %s on node %s should run revision 2", ps[0].Name, n)
			}
		}).WithTimeout(timeouts.Short).Should(Succeed())
	})
	It("numbers ControllerRevisions forward: a rollback turns revision 1 into 3, the current template always holds the highest revision, and a revision made, replaced and deleted by label through the API is part of the history", Label("DS-UPD-09"), func(ctx SpecContext) {
		ns := newNamespace(ctx, "ds-crlife")
		ds := waitForRollout(ctx, createDaemonSet(ctx, newDaemonSet("monitoring-daemon", ns).Obj()))
		crs := clients.Kube.AppsV1().ControllerRevisions(ns)
		first, firstTemplate := currentHash(ctx, ds), ds.Spec.Template.DeepCopy()
		setVersion(ctx, ds, "2")
		ds = waitForRollout(ctx, ds)
		second := currentHash(ctx, ds)

		By("rolling back to the first template: its revision is renumbered forward, not reused as 1")
		Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cur, err := clients.Kube.AppsV1().DaemonSets(ns).Get(ctx, ds.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			cur.Spec.Template = *firstTemplate
			_, err = clients.Kube.AppsV1().DaemonSets(ns).Update(ctx, cur, metav1.UpdateOptions{})
			return err
		})).To(Succeed(), "restoring DaemonSet %s's first template", ds.Name)
		ds = waitForRollout(ctx, ds)
		Eventually(ctx, func(g Gomega) {
			g.Expect(revisionNumbers(ctx, ds)).To(Equal(map[string]int64{first: 3, second: 2}),
				"DaemonSet %s rolled back to its first template: ControllerRevisions by hash (revision 1 becomes revision 3)", ds.Name)
		}).WithTimeout(timeouts.Short).Should(Succeed())
		expectAllOnRevision(ctx, ds)
		pods := podUIDs(ctx, ds)

		By("a ControllerRevision created through the API, controlled by the DaemonSet, joins its history")
		var secondRev appsv1.ControllerRevision
		for _, r := range revisions(ctx, ds) {
			if r.Labels[revisionHashLabel] == second {
				secondRev = r
			}
		}
		yes := true
		manual := &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: ds.Name + "-by-hand", Namespace: ns,
			Labels:          map[string]string{"dsconform.e2e/revision": "by-hand"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "DaemonSet", Name: ds.Name, UID: ds.UID, Controller: &yes, BlockOwnerDeletion: &yes}}},
			Data: secondRev.Data, Revision: 10}
		for k, v := range ds.Spec.Selector.MatchLabels {
			manual.Labels[k] = v
		}
		_, err := crs.Create(ctx, manual, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred(), "creating ControllerRevision %s", manual.Name)
		Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error { // the controller labels it too
			got, err := crs.Get(ctx, manual.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			got.Labels["dsconform.e2e/revision"] = "replaced"
			_, err = crs.Update(ctx, got, metav1.UpdateOptions{})
			return err
		})).To(Succeed(), "replacing ControllerRevision %s (PUT)", manual.Name)

		By("the current template always holds the highest revision: the one made by hand (10) moves it to 11, the next template gets 12")
		Eventually(ctx, func(g Gomega) {
			g.Expect(revisionNumbers(ctx, ds)).To(Equal(map[string]int64{first: 11, second: 2, "by hand": 10}),
				"DaemonSet %s with a revision 10 made by hand: ControllerRevisions by hash (the current one renumbered above it)", ds.Name)
		}).WithTimeout(timeouts.Short).Should(Succeed())
		setVersion(ctx, ds, "3")
		ds = waitForRollout(ctx, ds)
		third := currentHash(ctx, ds)
		Eventually(ctx, func(g Gomega) {
			g.Expect(revisionNumbers(ctx, ds)).To(Equal(map[string]int64{first: 11, second: 2, "by hand": 10, third: 12}),
				"DaemonSet %s after a template change: ControllerRevisions by hash", ds.Name)
		}).WithTimeout(timeouts.Short).Should(Succeed())

		By("deleting ControllerRevisions by label as a collection removes exactly the matching one")
		Expect(crs.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: "dsconform.e2e/revision=replaced"})).To(Succeed())
		Eventually(ctx, func(g Gomega) {
			g.Expect(revisionNumbers(ctx, ds)).To(Equal(map[string]int64{first: 11, second: 2, third: 12}),
				"DaemonSet %s after deleting the revision made by hand: ControllerRevisions by hash", ds.Name)
		}).WithTimeout(timeouts.Short).Should(Succeed())
		ds = waitForRollout(ctx, ds)
		expectAllOnRevision(ctx, ds)
		for n, uid := range podUIDs(ctx, ds) {
			Expect(uid).NotTo(Equal(pods[n]), "the pod on node %s should have been replaced by the third template", n)
		}
	})

	It("keeps one ControllerRevision per template: an orphaned duplicate of the current one with a higher revision is adopted and takes over, the pods are relabelled to its hash and not restarted, and the older duplicate goes", Label("DS-UPD-12"), func(ctx SpecContext) {
		needNodes(ctx, 1)
		ns := newNamespace(ctx, "ds-dedup")
		ds := waitForRollout(ctx, createDaemonSet(ctx, newDaemonSet("monitoring-daemon", ns).Obj()))
		crs := clients.Kube.AppsV1().ControllerRevisions(ns)
		orig := currentRevision(ctx, ds)
		pods := podUIDs(ctx, ds)

		// An orphan matching the selector: the controller syncs the DaemonSet to adopt it, and the
		// dedup happens in that sync. A revision created already owned is not an event the
		// controller syncs on (addHistory only logs it), so it would wait for an unrelated sync.
		By("creating an orphaned duplicate of the current revision (same data, revision 5) matching the DaemonSet's selector")
		const dupHash = "by-hand-duplicate"
		dup := &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: ds.Name + "-duplicate", Namespace: ns,
			Labels: map[string]string{revisionHashLabel: dupHash}},
			Data: orig.Data, Revision: orig.Revision + 4}
		for k, v := range ds.Spec.Selector.MatchLabels {
			dup.Labels[k] = v
		}
		_, err := crs.Create(ctx, dup, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred(), "creating ControllerRevision %s", dup.Name)

		Eventually(ctx, func(g Gomega) {
			left := revisions(ctx, ds)
			g.Expect(revisionNames(left)).To(HaveLen(1), "DaemonSet %s should keep one of two revisions of its current template", ds.Name)
			g.Expect(left[0].Name).To(Equal(dup.Name), "the revision with the higher number (%s, %d) is kept, %s (%d) deleted", dup.Name, dup.Revision, orig.Name, orig.Revision)
			g.Expect(metav1.GetControllerOf(&left[0])).NotTo(BeNil(), "the kept revision %s should be adopted by DaemonSet %s", left[0].Name, ds.Name)
			g.Expect(metav1.GetControllerOf(&left[0]).UID).To(Equal(ds.UID), "the kept revision %s should be controlled by DaemonSet %s", left[0].Name, ds.Name)
			for n, ps := range daemonPods(ctx, g, ds) {
				g.Expect(ps[0].Labels).To(HaveKeyWithValue(revisionHashLabel, dupHash), "the pod on node %s should be relabelled to the kept revision's hash", n)
			}
		}).WithTimeout(timeouts.Short).Should(Succeed())
		Consistently(ctx, func(g Gomega) {
			g.Expect(podUIDsNow(ctx, g, ds)).To(Equal(pods), "relabelling is not an update: no daemon pod of %s may be replaced", ds.Name)
		}).WithTimeout(timeouts.Hold).WithPolling(timeouts.HoldPoll).Should(Succeed())
		cur, err := clients.Kube.AppsV1().DaemonSets(ns).Get(ctx, ds.Name, metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred())
		Expect(cur.Status.UpdatedNumberScheduled).To(Equal(cur.Status.DesiredNumberScheduled), "every pod counts as updated: it carries the kept revision's hash")
	})

	It("resolves a ControllerRevision name collision: status.collisionCount goes up, the rollout proceeds under a new hash, and the colliding revision is left alone", Label("DS-UPD-13"), func(ctx SpecContext) {
		needNodes(ctx, 1)
		ns := newNamespace(ctx, "ds-collide")
		build := func() *appsv1.DaemonSet { return newDaemonSet("monitoring-daemon", ns).Obj() }
		first := waitForRollout(ctx, createDaemonSet(ctx, build()))
		taken := currentRevision(ctx, first)
		bg := metav1.DeletePropagationBackground
		Expect(clients.Kube.AppsV1().DaemonSets(ns).Delete(ctx, first.Name, metav1.DeleteOptions{PropagationPolicy: &bg})).To(Succeed())
		crs := clients.Kube.AppsV1().ControllerRevisions(ns)
		Eventually(ctx, func() error {
			_, err := crs.Get(ctx, taken.Name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return nil
			}
			return fmt.Errorf("ControllerRevision %s of the deleted DaemonSet is still there (%v)", taken.Name, err)
		}).WithTimeout(timeouts.Medium).Should(Succeed())

		By("taking the name " + taken.Name + " with a revision of other data, then creating the same DaemonSet again")
		squatter := &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: taken.Name, Namespace: ns, Labels: map[string]string{"dsconform.e2e/revision": "squatter"}},
			Data: runtime.RawExtension{Raw: []byte(`{"note":"not a DaemonSet template"}`)}, Revision: 1}
		squatter, err := crs.Create(ctx, squatter, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred(), "creating ControllerRevision %s", taken.Name)
		ds := waitForRollout(ctx, createDaemonSet(ctx, build()))

		cur, err := clients.Kube.AppsV1().DaemonSets(ns).Get(ctx, ds.Name, metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred())
		Expect(cur.Status.CollisionCount).To(HaveValue(BeEquivalentTo(1)), "DaemonSet %s: status.collisionCount after its revision name %s was found taken", ds.Name, taken.Name)
		hash := currentHash(ctx, ds)
		Expect(hash).NotTo(Equal(taken.Labels[revisionHashLabel]), "DaemonSet %s must use a new hash once %s is taken", ds.Name, taken.Name)
		expectAllOnRevision(ctx, ds)
		after, err := crs.Get(ctx, squatter.Name, metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred(), "the colliding ControllerRevision %s must be left in place", squatter.Name)
		Expect(after.ResourceVersion).To(Equal(squatter.ResourceVersion), "the colliding ControllerRevision %s must be left unchanged (no adoption, no relabelling)", squatter.Name)
	})
})

func setVersion(ctx context.Context, ds *appsv1.DaemonSet, v string) {
	GinkgoHelper()
	patch := fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":"monitor","env":[{"name":"VERSION","value":%q}]}]}}}}`, v)
	_, err := clients.Kube.AppsV1().DaemonSets(ds.Namespace).Patch(ctx, ds.Name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
	Expect(err).NotTo(HaveOccurred(), "updating DaemonSet %s to VERSION=%s", ds.Name, v)
}

func setImage(ctx context.Context, ds *appsv1.DaemonSet, image string) {
	GinkgoHelper()
	patch := fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":"monitor","image":%q}]}}}}`, image)
	_, err := clients.Kube.AppsV1().DaemonSets(ds.Namespace).Patch(ctx, ds.Name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
	Expect(err).NotTo(HaveOccurred(), "setting DaemonSet %s image to %s", ds.Name, image)
}

func revisions(ctx context.Context, ds *appsv1.DaemonSet) []appsv1.ControllerRevision {
	GinkgoHelper()
	l, err := clients.Kube.AppsV1().ControllerRevisions(ds.Namespace).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(ds.Spec.Selector.MatchLabels).String()})
	Expect(err).NotTo(HaveOccurred())
	return l.Items
}

// revisionNumbers maps each ControllerRevision of the DaemonSet by its hash label ("by
// hand" for one a spec made) to its revision number.
func revisionNumbers(ctx context.Context, ds *appsv1.DaemonSet) map[string]int64 {
	GinkgoHelper()
	out := map[string]int64{}
	for _, r := range revisions(ctx, ds) {
		key := r.Labels[revisionHashLabel]
		if _, byHand := r.Labels["dsconform.e2e/revision"]; byHand {
			key = "by hand"
		}
		out[key] = r.Revision
	}
	return out
}

// currentRevision is the DaemonSet's newest ControllerRevision.
func currentRevision(ctx context.Context, ds *appsv1.DaemonSet) appsv1.ControllerRevision {
	GinkgoHelper()
	var newest *appsv1.ControllerRevision
	for _, r := range revisions(ctx, ds) {
		if newest == nil || r.Revision > newest.Revision {
			newest = &r
		}
	}
	Expect(newest).NotTo(BeNil(), "DaemonSet %s has no ControllerRevision", ds.Name)
	return *newest
}

func revisionNames(rs []appsv1.ControllerRevision) []string {
	var out []string
	for _, r := range rs {
		out = append(out, fmt.Sprintf("%s (revision %d)", r.Name, r.Revision))
	}
	return out
}

// currentHash is the controller-revision-hash of the newest ControllerRevision.
func currentHash(ctx context.Context, ds *appsv1.DaemonSet) string {
	GinkgoHelper()
	return currentRevision(ctx, ds).Labels[revisionHashLabel]
}

func expectAllOnRevision(ctx context.Context, ds *appsv1.DaemonSet) {
	GinkgoHelper()
	hash := currentHash(ctx, ds)
	Eventually(ctx, func(g Gomega) {
		for n, pods := range daemonPods(ctx, g, ds) {
			g.Expect(pods[0].Labels).To(HaveKeyWithValue(revisionHashLabel, hash), "pod on node %s should carry the current revision's hash", n)
		}
	}).Should(Succeed())
}

// expectSurgeInvariants checks what upstream's surge test holds throughout a rollout:
// never two pods of one revision on a node, at most two revisions at once, at most one
// pod terminating per node, and (overlapBound > 0) old and new side by side on a node
// for at most overlapBound.
func expectSurgeInvariants(x daemonset.Extremes, overlapBound time.Duration) {
	GinkgoHelper()
	Expect(x.MaxSameRevisionPerNode).To(Equal(1), "never two pods of the same revision on a node; worst moment: %s", x.WorstPerNode)
	Expect(x.MaxRevisions).To(BeNumerically("<=", 2), "at most two revisions run at once; worst moment: %s", x.WorstRevisions)
	Expect(x.MaxDeletingPerNode).To(BeNumerically("<=", 1), "at most one pod terminating per node at once; worst moment: %s", x.WorstDeleting)
	if overlapBound > 0 {
		Expect(x.MaxOverlap).To(BeNumerically("<=", overlapBound), "an old and a new pod side by side on a node for at most %s; worst: %s", overlapBound, x.WorstOverlap)
	}
}

// revisionsByNode lists, per node, the revisions of its live daemon pods (sorted).
func revisionsByNode(ctx context.Context, g Gomega, ds *appsv1.DaemonSet) map[string][]string {
	out := map[string][]string{}
	for _, p := range listPods(ctx, g, ds.Namespace, ds) {
		n := daemonset.TargetNode(&p)
		out[n] = append(out[n], p.Labels[revisionHashLabel])
	}
	for _, r := range out {
		sort.Strings(r)
	}
	return out
}

// surgingNodes are the nodes running a live pod of oldHash and one of another revision.
func surgingNodes(ctx context.Context, g Gomega, ds *appsv1.DaemonSet, oldHash string) []string {
	var out []string
	for n, revs := range revisionsByNode(ctx, g, ds) {
		if slices.Contains(revs, oldHash) && slices.ContainsFunc(revs, func(r string) bool { return r != oldHash }) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// watchRollout starts daemonset.WatchRollout on the DaemonSet's pods.
func watchRollout(ctx context.Context, ds *appsv1.DaemonSet, minReady time.Duration) *daemonset.RolloutWatch {
	GinkgoHelper()
	w, err := daemonset.WatchRollout(ctx, clients.Kube, ds, minReady)
	Expect(err).NotTo(HaveOccurred(), "watching the pods of DaemonSet %s", ds.Name)
	return w
}

// waitForObservedGeneration waits until the controller has seen the latest spec,
// so status fields describe it and not the previous one.
func waitForObservedGeneration(ctx context.Context, ds *appsv1.DaemonSet) {
	GinkgoHelper()
	Eventually(ctx, func(g Gomega) {
		cur, err := clients.Kube.AppsV1().DaemonSets(ds.Namespace).Get(ctx, ds.Name, metav1.GetOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(cur.Status.ObservedGeneration).To(BeNumerically(">=", cur.Generation), "DaemonSet %s status.observedGeneration", ds.Name)
	}).WithTimeout(timeouts.Short).Should(Succeed())
}
