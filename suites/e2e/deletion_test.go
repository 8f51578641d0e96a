package e2e

import (
	"context"
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/dsconform/dsconform/framework"
	"github.com/dsconform/dsconform/framework/daemonset"
)

var _ = Describe("[sig-apps] DaemonSet deletion", Label("daemonset", "deletion"), func() {
	It("removes every daemon pod on background cascade delete", Label("DS-DEL-01"), func(ctx SpecContext) {
		ns := newNamespace(ctx, "ds-del-bg")
		eligibleNodes(ctx) // precondition: there are daemon pods to delete
		ds := waitForRollout(ctx, createDaemonSet(ctx, newDaemonSet("monitoring-daemon", ns).Obj()))
		before := podUIDs(ctx, ds)
		bg := metav1.DeletePropagationBackground
		Expect(clients.Kube.AppsV1().DaemonSets(ns).Delete(ctx, ds.Name, metav1.DeleteOptions{PropagationPolicy: &bg})).To(Succeed())
		// Deleted, not orphaned: every pod of the DaemonSet goes, owned or not.
		Eventually(ctx, func(g Gomega) {
			var left []string
			for _, p := range listPods(ctx, g, ns, ds) {
				left = append(left, fmt.Sprintf("%s on %s (controller %v)", p.Name, p.Spec.NodeName, metav1.GetControllerOf(&p)))
			}
			g.Expect(left).To(BeEmpty(), "pods of background-deleted DaemonSet %s/%s that are still running (of %d before: %v)", ns, ds.Name, len(before), before)
		}).WithTimeout(timeouts.Medium).Should(Succeed())
	})

	It("keeps the DaemonSet until its pods are gone on foreground cascade delete", Label("DS-DEL-02"), func(ctx SpecContext) {
		ns := newNamespace(ctx, "ds-del-fg")
		ds := waitForRollout(ctx, createDaemonSet(ctx, newDaemonSet("monitoring-daemon", ns).Obj()))
		fg := metav1.DeletePropagationForeground
		Expect(clients.Kube.AppsV1().DaemonSets(ns).Delete(ctx, ds.Name, metav1.DeleteOptions{PropagationPolicy: &fg})).To(Succeed())
		cur, err := clients.Kube.AppsV1().DaemonSets(ns).Get(ctx, ds.Name, metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred(), "right after a foreground delete the DaemonSet must still exist")
		Expect(cur.DeletionTimestamp).NotTo(BeNil(), "the DaemonSet should be marked for deletion")
		Expect(cur.Finalizers).To(ContainElement(metav1.FinalizerDeleteDependents))
		// The invariant, checked on every poll until both are gone: the DaemonSet is read
		// first, so seeing it gone while a pod of it remains is a violation, not a race
		// (a deleted pod does not come back). A violation stops the wait at once.
		Eventually(ctx, func(g Gomega) {
			_, err := clients.Kube.AppsV1().DaemonSets(ns).Get(ctx, ds.Name, metav1.GetOptions{})
			gone := apierrors.IsNotFound(err)
			g.Expect(gone || err == nil).To(BeTrue(), "getting the DaemonSet: %v", err)
			pods := ownedPods(ctx, g, ns, ds.UID)
			if gone && len(pods) > 0 {
				StopTrying(fmt.Sprintf("foreground delete: DaemonSet %s/%s is gone while %d of its pods remain (%s)", ns, ds.Name, len(pods), strings.Join(pods, ", "))).Now()
			}
			g.Expect(gone).To(BeTrue(), "DaemonSet %s/%s still present while %d of its pods remain (expected while they terminate)", ns, ds.Name, len(pods))
		}).WithTimeout(timeouts.Medium).WithPolling(timeouts.Poll).Should(Succeed())
		// Deleted, not orphaned: no pod of the selector runs on, owned or not.
		Expect(listPods(ctx, Default, ns, ds)).To(BeEmpty(), "pods matching the selector of foreground-deleted DaemonSet %s/%s", ns, ds.Name)
	})

	It("leaves pods running when orphaned, and a new DaemonSet with the same selector and template adopts them without restarting them", Label("DS-DEL-03"), func(ctx SpecContext) {
		ns := newNamespace(ctx, "ds-orphan")
		builder := newDaemonSet("monitoring-daemon", ns)
		ds := waitForRollout(ctx, createDaemonSet(ctx, builder.Obj()))
		before := podUIDs(ctx, ds)
		orphanDelete(ctx, ds)

		adopter := waitForRollout(ctx, createDaemonSet(ctx, builder.Obj()))
		Eventually(ctx, func(g Gomega) {
			pods := listPods(ctx, g, ns, ds)
			g.Expect(pods).To(HaveLen(len(before)))
			for _, p := range pods {
				g.Expect(daemonset.OwnedBy(&p, adopter.UID)).To(BeTrue(), "pod %s on node %s should be adopted by the new DaemonSet", p.Name, p.Spec.NodeName)
				g.Expect(p.UID).To(Equal(before[p.Spec.NodeName]), "pod on node %s must be the same pod, not a restart", p.Spec.NodeName)
			}
		}).WithTimeout(timeouts.Medium).Should(Succeed())
	})

	It("adopts orphaned pods into a DaemonSet with a different template, which replaces them by its update strategy when they are out of date", Label("DS-DEL-04"), func(ctx SpecContext) {
		ns := newNamespace(ctx, "ds-orphan-new")
		eligibleNodes(ctx) // precondition: there are daemon pods to orphan
		ds := waitForRollout(ctx, createDaemonSet(ctx, newDaemonSet("monitoring-daemon", ns).Obj()))
		before := podUIDs(ctx, ds)
		orphanDelete(ctx, ds)

		Expect(before).NotTo(BeEmpty(), "precondition: the first DaemonSet ran pods to orphan")

		// The documents say only that pods needing replacement are replaced by the update
		// strategy. Observed (v1.34 to v1.37): an orphan whose pod-template-generation label
		// equals the new DaemonSet's generation (1, like the orphans') counts as current and
		// is kept until the next template change. Either is accepted here; which one this
		// cluster did is recorded in the report.
		adopter := waitForRollout(ctx, createDaemonSet(ctx, newDaemonSet("monitoring-daemon", ns).WithEnv("VERSION", "2").Obj()))
		kept := map[string]bool{}
		Eventually(ctx, func(g Gomega) {
			pods := daemonPods(ctx, g, adopter)
			for n := range before {
				g.Expect(pods[n]).To(HaveLen(1), "node %s: one pod of the adopting DaemonSet", n)
				p := pods[n][0]
				if kept[n] = p.UID == before[n]; !kept[n] {
					g.Expect(p.Spec.Containers[0].Env).To(ContainElement(corev1.EnvVar{Name: "VERSION", Value: "2"}),
						"node %s: the orphan was replaced, so its replacement must run the adopter's template", n)
				}
			}
			// Adopted, then kept or replaced: never left running beside the adopter's pod.
			perNode := map[string][]string{}
			for _, p := range listPods(ctx, g, ns, adopter) {
				perNode[p.Spec.NodeName] = append(perNode[p.Spec.NodeName], fmt.Sprintf("%s (uid %s, controller %v)", p.Name, p.UID, metav1.GetControllerOf(&p)))
			}
			for n := range before {
				g.Expect(perNode[n]).To(HaveLen(1), "node %s: exactly one pod matching the selector; an orphan the adopter did not adopt would run beside its own pod", n)
			}
		}).WithTimeout(timeouts.Medium).Should(Succeed())
		for n, k := range kept {
			framework.Observe("orphan on node %s: %s", n, map[bool]string{true: "adopted and kept (its pod-template-generation matched the adopter's generation)", false: "replaced at once by the adopter's template"}[k])
		}

		By("changing the adopter's template: every adopted pod is now out of date and replaced")
		setVersion(ctx, adopter, "3")
		adopter = waitForRollout(ctx, adopter)
		Eventually(ctx, func(g Gomega) {
			pods := daemonPods(ctx, g, adopter)
			for n := range before {
				g.Expect(pods[n]).To(HaveLen(1), "node %s: one pod of the adopting DaemonSet", n)
				g.Expect(pods[n][0].UID).NotTo(Equal(before[n]), "the adopted orphan on node %s should have been replaced by the update strategy", n)
				g.Expect(pods[n][0].Spec.Containers[0].Env).To(ContainElement(corev1.EnvVar{Name: "VERSION", Value: "3"}), "node %s runs the adopter's new template", n)
			}
		}).WithTimeout(timeouts.Medium).Should(Succeed())
	})

	It("adopts matching pods created by hand and deletes the surplus on a node", Label("DS-DEL-05"), func(ctx SpecContext) {
		ns := newNamespace(ctx, "ds-adopt")
		target := eligibleNodes(ctx)[0]
		tmpl := newDaemonSet("monitoring-daemon", ns).WithOnDelete().Obj()
		var made []types.UID
		for i := 0; i < 2; i++ {
			p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: "by-hand-", Namespace: ns, Labels: tmpl.Spec.Template.Labels},
				Spec: *tmpl.Spec.Template.Spec.DeepCopy()}
			p.Spec.NodeName = target
			// "a Pod with a different value on a node for testing": it differs from the
			// template, and the selector alone decides that the DaemonSet takes it as its own.
			p.Spec.Containers[0].Env = append(p.Spec.Containers[0].Env, corev1.EnvVar{Name: "TESTING", Value: "by-hand"})
			created, err := clients.Kube.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{})
			Expect(err).NotTo(HaveOccurred())
			made = append(made, created.UID)
		}
		Eventually(ctx, func(g Gomega) {
			g.Expect(listPods(ctx, g, ns, tmpl)).To(HaveLen(2))
			for _, p := range listPods(ctx, g, ns, tmpl) {
				g.Expect(p.Status.Phase).To(Equal(corev1.PodRunning))
			}
		}).Should(Succeed())

		// With OnDelete the adopted pod keeps its hand-made template, so it is never
		// "updated": the full rollout check does not apply, placement does.
		ds := createDaemonSet(ctx, tmpl)
		Eventually(ctx, func(g Gomega) {
			g.Expect(nodesWithPods(ctx, g, ds)).To(ConsistOf(eligibleNodes(ctx)), "every eligible node should run exactly one daemon pod of %s (nodes that do, against the eligible nodes)", ds.Name)
			onTarget := daemonPods(ctx, g, ds)[target]
			g.Expect(onTarget).To(HaveLen(1), "node %s should keep exactly one of the two hand-made pods", target)
			g.Expect(made).To(ContainElement(onTarget[0].UID), "the pod on node %s should be an adopted hand-made pod, not a new one", target)
			g.Expect(onTarget[0].Spec.Containers[0].Env).To(ContainElement(corev1.EnvVar{Name: "TESTING", Value: "by-hand"}),
				"the adopted pod %s on node %s should keep the value it was made with, which the template does not have", onTarget[0].Name, target)
			// The surplus hand-made pod must be gone, not merely left unowned.
			var live []string
			for _, p := range listPods(ctx, g, ns, tmpl) {
				if p.Spec.NodeName == target && p.DeletionTimestamp == nil {
					live = append(live, p.Name)
				}
			}
			g.Expect(live).To(HaveLen(1), "node %s should run exactly one pod matching the selector (the surplus hand-made pod deleted), found %v", target, live)
		}).WithTimeout(timeouts.Medium).Should(Succeed())
	})
})

// orphanDelete deletes the DaemonSet as `kubectl delete --cascade=orphan` does and
// checks its pods keep running with the owner reference removed.
func orphanDelete(ctx SpecContext, ds *appsv1.DaemonSet) {
	GinkgoHelper()
	before := podUIDs(ctx, ds)
	orphan := metav1.DeletePropagationOrphan
	Expect(clients.Kube.AppsV1().DaemonSets(ds.Namespace).Delete(ctx, ds.Name, metav1.DeleteOptions{PropagationPolicy: &orphan})).To(Succeed())
	Eventually(ctx, func(g Gomega) {
		_, err := clients.Kube.AppsV1().DaemonSets(ds.Namespace).Get(ctx, ds.Name, metav1.GetOptions{})
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the orphan-deleted DaemonSet should be gone")
		pods := listPods(ctx, g, ds.Namespace, ds)
		g.Expect(pods).To(HaveLen(len(before)), "orphaned pods should stay")
		for _, p := range pods {
			g.Expect(p.UID).To(Equal(before[p.Spec.NodeName]), "orphaned pod on node %s should keep running", p.Spec.NodeName)
			g.Expect(metav1.GetControllerOf(&p)).To(BeNil(), "orphaned pod %s should have no controller owner reference", p.Name)
		}
	}).WithTimeout(timeouts.Medium).Should(Succeed())
}

// listPods lists the live pods matching the DaemonSet's selector, owned or not.
func listPods(ctx context.Context, g Gomega, ns string, ds *appsv1.DaemonSet) []corev1.Pod {
	sel := labels.SelectorFromSet(ds.Spec.Selector.MatchLabels).String()
	l, err := clients.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
	g.Expect(err).NotTo(HaveOccurred())
	var out []corev1.Pod
	for _, p := range l.Items {
		if p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out
}

func ownedPods(ctx SpecContext, g Gomega, ns string, uid types.UID) []string {
	l, err := clients.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	var out []string
	for _, p := range l.Items {
		if daemonset.OwnedBy(&p, uid) {
			out = append(out, p.Name+" on "+p.Spec.NodeName)
		}
	}
	return out
}
