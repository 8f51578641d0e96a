package e2e

import (
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/dsconform/dsconform/framework"
	"github.com/dsconform/dsconform/framework/daemonset"
)

// The specs label shared workers with keys of their process's own, which no other
// running spec reads: they run beside the others without moving anyone's pods.
var selectLabel, rank string

var _ = Describe("[sig-apps] DaemonSet node selection", Label("daemonset", "node-selection", "disruptive"), func() {
	BeforeEach(func() {
		requireNodeChanges()
		selectLabel = fmt.Sprintf("dsconform.e2e/monitor-p%d", GinkgoParallelProcess())
		rank = fmt.Sprintf("dsconform.e2e/rank-p%d", GinkgoParallelProcess())
	})

	It("runs pods only on nodes matching .spec.template.spec.nodeSelector", Label("DS-SEL-01"), func(ctx SpecContext) {
		workers := needNodes(ctx, 2) // one matches the selector, one must not
		nodeChanges.SetLabel(ctx, workers[0], selectLabel, "yes")
		ns := newNamespace(ctx, "ds-selector")
		ds := createDaemonSet(ctx, newDaemonSet("monitoring-daemon", ns).WithNodeSelector(map[string]string{selectLabel: "yes"}).Obj())
		expectPlacement(ctx, ds, []string{workers[0]})
		cols, err := daemonset.TableColumns(ctx, clients.Kube, ds)
		Expect(err).NotTo(HaveOccurred())
		Expect(cols).To(HaveKeyWithValue("Node Selector", selectLabel+"=yes"))
	})

	It("runs one kind of daemon as several DaemonSets, one per hardware type, each with its own flags and requests", Label("DS-USE-02"), func(ctx SpecContext) {
		workers := needNodes(ctx, 2) // one node of each hardware type
		hardware := fmt.Sprintf("dsconform.e2e/hardware-p%d", GinkgoParallelProcess())
		nodeChanges.SetLabel(ctx, workers[0], hardware, "small")
		nodeChanges.SetLabel(ctx, workers[1], hardware, "large")
		ns := newNamespace(ctx, "ds-hardware")
		type variant struct{ flags, cpu, memory string }
		variants := map[string]variant{"small": {"--profile=small", "10m", "16Mi"}, "large": {"--profile=large", "20m", "32Mi"}}
		dss := map[string]*appsv1.DaemonSet{}
		for _, kind := range []string{"small", "large"} {
			v := variants[kind]
			ds := newDaemonSet("agent-"+kind, ns).WithNodeSelector(map[string]string{hardware: kind}).WithEnv("AGENT_FLAGS", v.flags).Obj()
			ds.Spec.Template.Labels["daemon"] = "agent" // one kind of daemon, whichever DaemonSet runs it
			ds.Spec.Template.Spec.Containers[0].Resources.Requests = corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse(v.cpu), corev1.ResourceMemory: resource.MustParse(v.memory)}
			dss[kind] = createDaemonSet(ctx, ds)
		}
		// expectAgents: each node of a hardware type runs exactly one agent, from that
		// type's DaemonSet, with its flags and requests; no other node runs one.
		expectAgents := func(want map[string]string) {
			GinkgoHelper()
			Eventually(ctx, func(g Gomega) {
				l, err := clients.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "daemon=agent"})
				g.Expect(err).NotTo(HaveOccurred())
				got := map[string][]string{}
				for _, p := range l.Items {
					if p.DeletionTimestamp != nil {
						continue
					}
					owner := metav1.GetControllerOf(&p)
					g.Expect(owner).NotTo(BeNil(), "agent pod %s on node %s has no controller", p.Name, p.Spec.NodeName)
					kind := strings.TrimPrefix(owner.Name, "agent-")
					got[p.Spec.NodeName] = append(got[p.Spec.NodeName], kind)
					v := variants[kind]
					c := p.Spec.Containers[0]
					g.Expect(c.Env).To(ContainElement(corev1.EnvVar{Name: "AGENT_FLAGS", Value: v.flags}), "node %s: agent pod %s of %s should have that type's flags", p.Spec.NodeName, p.Name, owner.Name)
					g.Expect(c.Resources.Requests.Cpu().String()).To(Equal(v.cpu), "node %s: agent pod %s of %s: cpu request", p.Spec.NodeName, p.Name, owner.Name)
					g.Expect(c.Resources.Requests.Memory().String()).To(Equal(v.memory), "node %s: agent pod %s of %s: memory request", p.Spec.NodeName, p.Name, owner.Name)
					g.Expect(p.Status.Phase).To(Equal(corev1.PodRunning), "node %s: agent pod %s of %s", p.Spec.NodeName, p.Name, owner.Name)
				}
				wantPods := map[string][]string{}
				for n, kind := range want {
					wantPods[n] = []string{kind}
				}
				g.Expect(got).To(Equal(wantPods), "agents by node (the DaemonSet each belongs to): each node of a hardware type should run exactly one, of its type")
			}).WithTimeout(timeouts.Medium).WithPolling(timeouts.Poll).Should(Succeed())
		}
		expectAgents(map[string]string{workers[0]: "small", workers[1]: "large"})

		By(fmt.Sprintf("%s becomes a large node: its small agent goes and a large one takes its place", workers[0]))
		nodeChanges.SetLabel(ctx, workers[0], hardware, "large")
		expectAgents(map[string]string{workers[0]: "large", workers[1]: "large"})
		expectPlacement(ctx, dss["small"], nil)
	})

	It("runs pods only on nodes matching required node affinity", Label("DS-SEL-02"), func(ctx SpecContext) {
		workers := needNodes(ctx, 3) // one per term, and one that matches neither
		nodeChanges.SetLabel(ctx, workers[0], selectLabel, "gold")
		nodeChanges.SetLabel(ctx, workers[1], rank, "7")
		nodeChanges.SetLabel(ctx, workers[2], selectLabel, "bronze")
		nodeChanges.SetLabel(ctx, workers[2], rank, "3")
		ns := newNamespace(ctx, "ds-affinity")
		// Two terms, ORed; within a term, every expression must hold. Together they use
		// In, NotIn, Exists, DoesNotExist, Gt and Lt.
		byTier := corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{
			{Key: selectLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{"gold", "silver"}},
			{Key: rank, Operator: corev1.NodeSelectorOpDoesNotExist}}}
		byRank := corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{
			{Key: rank, Operator: corev1.NodeSelectorOpExists},
			{Key: rank, Operator: corev1.NodeSelectorOpGt, Values: []string{"5"}},
			{Key: rank, Operator: corev1.NodeSelectorOpLt, Values: []string{"9"}},
			{Key: selectLabel, Operator: corev1.NodeSelectorOpNotIn, Values: []string{"bronze"}}}}
		// A third term names a node with a user matchFields, ANDed with an expression.
		byNameAndRank := corev1.NodeSelectorTerm{
			MatchFields:      []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{workers[2]}}},
			MatchExpressions: []corev1.NodeSelectorRequirement{{Key: rank, Operator: corev1.NodeSelectorOpGt, Values: []string{"7"}}}}
		ds := createDaemonSet(ctx, newDaemonSet("monitoring-daemon", ns).WithRequiredNodeAffinity(byTier, byRank, byNameAndRank).Obj())
		By(fmt.Sprintf("%s matches the first term (tier=gold, no rank), %s the second (rank 7 in (5, 9), tier not bronze), %s none (tier=bronze, rank 3: named by the third term, but not rank > 7)", workers[0], workers[1], workers[2]))
		expectPlacement(ctx, ds, workers[:2])

		By(fmt.Sprintf("raising %s's rank to 8: the third term (its name, rank > 7) now matches, the second still not (tier=bronze)", workers[2]))
		nodeChanges.SetLabel(ctx, workers[2], rank, "8")
		expectPlacement(ctx, ds, workers[:3])

		By(fmt.Sprintf("removing tier=gold from %s: it matches no term any more, so its pod goes", workers[0]))
		nodeChanges.RemoveLabel(ctx, workers[0], selectLabel)
		expectPlacement(ctx, ds, workers[1:3])
	})

	It("adds a pod when a node's labels come to match and deletes it when they stop matching", Label("DS-SEL-03"), func(ctx SpecContext) {
		workers := eligibleNodes(ctx)
		ns := newNamespace(ctx, "ds-relabel")
		ds := createDaemonSet(ctx, newDaemonSet("monitoring-daemon", ns).WithNodeSelector(map[string]string{selectLabel: "yes"}).Obj())
		expectPlacement(ctx, ds, nil)

		labelled := time.Now()
		nodeChanges.SetLabel(ctx, workers[0], selectLabel, "yes")
		expectPlacement(ctx, ds, []string{workers[0]})
		framework.RecordLatency("node label matches → daemon pod running", workers[0], time.Since(labelled))

		unlabelled := time.Now()
		nodeChanges.RemoveLabel(ctx, workers[0], selectLabel)
		expectPlacement(ctx, ds, nil)
		framework.RecordLatency("node label removed → daemon pod deleted", workers[0], time.Since(unlabelled))
	})

	It("moves its pods when the DaemonSet's own nodeSelector changes", Label("DS-SEL-05"), func(ctx SpecContext) {
		workers := needNodes(ctx, 2) // the pods move from one labelled node to the other
		blue, green := workers[0], workers[1]
		nodeChanges.SetLabel(ctx, blue, selectLabel, "blue")
		nodeChanges.SetLabel(ctx, green, selectLabel, "green")
		ns := newNamespace(ctx, "ds-reselect")
		ds := createDaemonSet(ctx, newDaemonSet("monitoring-daemon", ns).WithNodeSelector(map[string]string{selectLabel: "blue"}).Obj())
		expectPlacement(ctx, ds, []string{blue})

		changed := time.Now()
		patch := fmt.Sprintf(`{"spec":{"template":{"spec":{"nodeSelector":{%q:"green"}}}}}`, selectLabel)
		_, err := clients.Kube.AppsV1().DaemonSets(ns).Patch(ctx, ds.Name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
		Expect(err).NotTo(HaveOccurred(), "changing the DaemonSet's nodeSelector to %s=green", selectLabel)
		expectPlacement(ctx, ds, []string{green})
		framework.RecordLatency("DaemonSet nodeSelector changed → pods moved", green, time.Since(changed))
	})

	It("decides eligibility by the template's node affinity but replaces it on each pod with the node pin, leaving the template unchanged", Label("DS-SEL-06"), func(ctx SpecContext) {
		workers := needNodes(ctx, 2) // one matches the template's affinity, one must not
		nodeChanges.SetLabel(ctx, workers[0], selectLabel, "gold")
		ns := newNamespace(ctx, "ds-affinity-pin")
		own := corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{
			{Key: selectLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{"gold"}}}}
		preferred := corev1.PreferredSchedulingTerm{Weight: 7, Preference: corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{
			{Key: "dsconform.e2e/preferred", Operator: corev1.NodeSelectorOpExists}}}}
		obj := newDaemonSet("monitoring-daemon", ns).WithRequiredNodeAffinity(own).Obj()
		obj.Spec.Template.Spec.Affinity.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution = []corev1.PreferredSchedulingTerm{preferred}
		ds := createDaemonSet(ctx, obj)
		expectPlacement(ctx, ds, workers[:1])

		pod := onePodOn(ctx, ds, workers[0])
		pin := corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{
			{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{workers[0]}}}}
		Expect(daemonset.RequiredTerms(&pod.Spec)).To(Equal([]corev1.NodeSelectorTerm{pin}),
			"pod %s on node %s: the controller replaces the template's required node affinity with its node pin alone", pod.Name, workers[0])
		Expect(daemonset.PreferredTerms(&pod.Spec)).To(Equal([]corev1.PreferredSchedulingTerm{preferred}),
			"pod %s on node %s: the template's preferred node affinity is not the controller's to change", pod.Name, workers[0])

		cur, err := clients.Kube.AppsV1().DaemonSets(ns).Get(ctx, ds.Name, metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred())
		Expect(daemonset.RequiredTerms(&cur.Spec.Template.Spec)).To(Equal([]corev1.NodeSelectorTerm{own}),
			"the DaemonSet's template must keep its own node affinity: no changes are made to spec.template")
	})
})

// DS-SEL-04 changes no node: it runs wherever the suite runs, outside the node-selection
// specs' requirement that nodes may be changed.
var _ = Describe("[sig-apps] DaemonSet pod pinning", Label("daemonset", "node-selection"), func() {
	It("pins every created pod to its node with required affinity matchFields metadata.name", Label("DS-SEL-04"), func(ctx SpecContext) {
		ns := newNamespace(ctx, "ds-pinned")
		ds := waitForRollout(ctx, createDaemonSet(ctx, newDaemonSet("monitoring-daemon", ns).Obj()))
		Eventually(ctx, func(g Gomega) {
			pods := daemonPods(ctx, g, ds)
			g.Expect(pods).NotTo(BeEmpty())
			for n, ps := range pods {
				g.Expect(daemonset.RequiredTerms(&ps[0].Spec)).To(ContainElement(
					HaveField("MatchFields", ContainElement(corev1.NodeSelectorRequirement{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{n}}))),
					"pod %s on node %s should be pinned to it by a required node affinity term (its required terms)", ps[0].Name, n)
			}
		}).Should(Succeed())
	})
})
