package e2e

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	"github.com/dsconform/dsconform/framework"
	"github.com/dsconform/dsconform/framework/node"
)

const selectLabel = "dsconform.e2e/monitor"

var _ = Describe("[sig-apps] DaemonSet node selection", Serial, Label("daemonset", "node-selection", "disruptive"), func() {
	BeforeEach(requireNodeChanges)

	It("runs pods only on nodes matching .spec.template.spec.nodeSelector", Label("DS-SEL-01"), func(ctx SpecContext) {
		workers := needNodes(ctx, 2) // one matches the selector, one must not
		node.SetLabel(ctx, clients.Kube, workers[0], selectLabel, "yes")
		ns := newNamespace(ctx, "ds-selector")
		ds := createDaemonSet(ctx, newDaemonSet("monitoring-daemon", ns).WithNodeSelector(map[string]string{selectLabel: "yes"}).Obj())
		expectPlacement(ctx, ds, []string{workers[0]})
		Expect(kubectlColumns(ctx, ds)).To(HaveKeyWithValue("Node Selector", selectLabel+"=yes"))
	})

	It("runs pods only on nodes matching required node affinity", Label("DS-SEL-02"), func(ctx SpecContext) {
		workers := needNodes(ctx, 3) // two match the affinity, one must not
		node.SetLabel(ctx, clients.Kube, workers[0], selectLabel, "gold")
		node.SetLabel(ctx, clients.Kube, workers[1], selectLabel, "silver")
		ns := newNamespace(ctx, "ds-affinity")
		ds := createDaemonSet(ctx, newDaemonSet("monitoring-daemon", ns).WithRequiredNodeAffinity(corev1.NodeSelectorTerm{
			MatchExpressions: []corev1.NodeSelectorRequirement{{Key: selectLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{"gold", "silver"}}}}).Obj())
		expectPlacement(ctx, ds, workers[:2])
	})

	It("adds a pod when a node's labels come to match and deletes it when they stop matching", Label("DS-SEL-03"), func(ctx SpecContext) {
		workers := eligibleNodes(ctx)
		ns := newNamespace(ctx, "ds-relabel")
		ds := createDaemonSet(ctx, newDaemonSet("monitoring-daemon", ns).WithNodeSelector(map[string]string{selectLabel: "yes"}).Obj())
		expectPlacement(ctx, ds, nil)

		labelled := time.Now()
		node.SetLabel(ctx, clients.Kube, workers[0], selectLabel, "yes")
		expectPlacement(ctx, ds, []string{workers[0]})
		framework.RecordLatency("node label matches → daemon pod running", workers[0], time.Since(labelled))

		unlabelled := time.Now()
		node.RemoveLabel(ctx, clients.Kube, workers[0], selectLabel)
		expectPlacement(ctx, ds, nil)
		framework.RecordLatency("node label removed → daemon pod deleted", workers[0], time.Since(unlabelled))
	})

	It("pins every created pod to its node with required affinity matchFields metadata.name", Label("DS-SEL-04"), func(ctx SpecContext) {
		ns := newNamespace(ctx, "ds-pinned")
		ds := waitForRollout(ctx, createDaemonSet(ctx, newDaemonSet("monitoring-daemon", ns).Obj()))
		Eventually(ctx, func(g Gomega) {
			pods := daemonPods(ctx, g, ds)
			g.Expect(pods).NotTo(BeEmpty())
			for n, ps := range pods {
				a := ps[0].Spec.Affinity
				g.Expect(a).NotTo(BeNil(), "pod %s on node %s has no affinity", ps[0].Name, n)
				g.Expect(a.NodeAffinity).NotTo(BeNil())
				g.Expect(a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution).NotTo(BeNil())
				g.Expect(a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms).To(ContainElement(
					HaveField("MatchFields", ContainElement(corev1.NodeSelectorRequirement{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{n}}))),
					"pod %s should be pinned to node %s", ps[0].Name, n)
			}
		}).Should(Succeed())
	})
})
