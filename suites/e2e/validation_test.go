package e2e

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
)

var _ = Describe("[sig-apps] DaemonSet API validation", Label("daemonset", "validation"), func() {
	// expectInvalid checks the API's answer: reason Invalid, with a cause on field.
	expectInvalid := func(err error, field string) {
		GinkgoHelper()
		Expect(err).To(HaveOccurred(), "the API should reject this DaemonSet")
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want reason Invalid (422), got %v: %v", apierrors.ReasonForError(err), err)
		Expect(err).To(BeAssignableToTypeOf(&apierrors.StatusError{}), "the API's answer should be a Status: %v", err)
		var fields []string
		for _, c := range err.(*apierrors.StatusError).Status().Details.Causes {
			fields = append(fields, c.Field)
		}
		Expect(fields).To(ContainElement(field), "the rejection should name field %s: %v", field, err)
	}

	It("rejects a selector that does not match the template labels", Label("DS-VAL-01", "quick"), func(ctx SpecContext) {
		ns := newNamespace(ctx, "ds-val-sel")
		ds := newDaemonSet("mismatch", ns).Obj()
		ds.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "something-else"}}
		_, err := clients.Kube.AppsV1().DaemonSets(ns).Create(ctx, ds, metav1.CreateOptions{})
		expectInvalid(err, "spec.template.metadata.labels")
	})

	It("rejects a change to the selector after creation", Label("DS-VAL-02"), func(ctx SpecContext) {
		ns := newNamespace(ctx, "ds-val-immut")
		ds := createDaemonSet(ctx, newDaemonSet("immutable", ns).Obj())
		// A merge patch carries no resourceVersion: the answer cannot turn into a 409
		// because the controller wrote status in between.
		patch := []byte(`{"spec":{"selector":{"matchLabels":{"extra":"x"}},"template":{"metadata":{"labels":{"extra":"x"}}}}}`)
		_, err := clients.Kube.AppsV1().DaemonSets(ns).Patch(ctx, ds.Name, types.MergePatchType, patch, metav1.PatchOptions{})
		expectInvalid(err, "spec.selector")
	})

	It("rejects a template restartPolicy other than Always", Label("DS-VAL-03"), func(ctx SpecContext) {
		ns := newNamespace(ctx, "ds-val-restart")
		for _, policy := range []corev1.RestartPolicy{corev1.RestartPolicyNever, corev1.RestartPolicyOnFailure} {
			ds := newDaemonSet("restart-"+string(policy), ns).Obj()
			ds.Name = "restart-policy"
			ds.Spec.Template.Spec.RestartPolicy = policy
			_, err := clients.Kube.AppsV1().DaemonSets(ns).Create(ctx, ds, metav1.CreateOptions{})
			expectInvalid(err, "spec.template.spec.restartPolicy")
		}
	})

	It("rejects an empty selector", Label("DS-VAL-04"), func(ctx SpecContext) {
		ns := newNamespace(ctx, "ds-val-empty")
		// What the API answers, observed on v1.34: an empty selector ({}) is rejected on
		// spec.selector ("empty selector is invalid for daemonset"); a missing one is
		// reported as not matching the template labels.
		for _, c := range []struct {
			selector *metav1.LabelSelector
			field    string
		}{{&metav1.LabelSelector{}, "spec.selector"}, {nil, "spec.template.metadata.labels"}} {
			ds := newDaemonSet("empty-selector", ns).Obj()
			ds.Spec.Selector = c.selector
			_, err := clients.Kube.AppsV1().DaemonSets(ns).Create(ctx, ds, metav1.CreateOptions{})
			expectInvalid(err, c.field)
		}
	})

	It("ANDs matchLabels and matchExpressions: the template must satisfy both, and a pod matching only one is neither adopted nor counted", Label("DS-VAL-05"), func(ctx SpecContext) {
		ns := newNamespace(ctx, "ds-val-and")
		target := eligibleNodes(ctx)[0]
		selector := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "monitoring-daemon"},
			MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"agent"}}}}

		half := newDaemonSet("monitoring-daemon", ns).Obj() // template labels app=monitoring-daemon only
		half.Spec.Selector = selector
		_, err := clients.Kube.AppsV1().DaemonSets(ns).Create(ctx, half, metav1.CreateOptions{})
		expectInvalid(err, "spec.template.metadata.labels")

		By("two pods by hand on " + target + ", each matching one half of the selector")
		tmpl := newDaemonSet("monitoring-daemon", ns).Obj()
		tmpl.Spec.Selector = selector
		tmpl.Spec.Template.Labels = map[string]string{"app": "monitoring-daemon", "tier": "agent"}
		var strays []string
		for name, lbls := range map[string]map[string]string{
			"labels-only":     {"app": "monitoring-daemon", "tier": "other"},
			"expression-only": {"app": "other", "tier": "agent"},
		} {
			p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: lbls}, Spec: *tmpl.Spec.Template.Spec.DeepCopy()}
			p.Spec.NodeName = target
			_, err := clients.Kube.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{})
			Expect(err).NotTo(HaveOccurred(), "creating pod %s", name)
			strays = append(strays, name)
		}
		ds := waitForRollout(ctx, createDaemonSet(ctx, tmpl))
		Consistently(ctx, func(g Gomega) {
			for _, name := range strays {
				p, err := clients.Kube.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
				g.Expect(err).NotTo(HaveOccurred(), "pod %s on node %s matches only half of the selector: the DaemonSet must not delete it", name, target)
				g.Expect(p.DeletionTimestamp).To(BeNil(), "pod %s on node %s matches only half of the selector: the DaemonSet must not delete it", name, target)
				g.Expect(metav1.GetControllerOf(p)).To(BeNil(), "pod %s (labels %v) matches only half of the selector %v: the DaemonSet must not adopt it", name, p.Labels, selector)
			}
			g.Expect(daemonPods(ctx, g, ds)[target]).To(HaveLen(1), "node %s: the DaemonSet runs its own pod beside the two half-matching ones", target)
		}).WithTimeout(timeouts.Hold).WithPolling(timeouts.HoldPoll).Should(Succeed())
	})

	It("rejects a rolling update that could never progress: maxUnavailable 0 with maxSurge 0", Label("DS-VAL-06"), func(ctx SpecContext) {
		ns := newNamespace(ctx, "ds-val-stuck")
		ds := newDaemonSet("never-updates", ns).WithRollingUpdate(intstr.FromInt32(0), intstr.FromInt32(0)).Obj()
		_, err := clients.Kube.AppsV1().DaemonSets(ns).Create(ctx, ds, metav1.CreateOptions{})
		expectInvalid(err, "spec.updateStrategy.rollingUpdate.maxUnavailable")
		By("the same budget with one surge is accepted: the refusal is about the pair")
		ok := newDaemonSet("surges", ns).WithRollingUpdate(intstr.FromInt32(0), intstr.FromInt32(1)).Obj()
		_, err = clients.Kube.AppsV1().DaemonSets(ns).Create(ctx, ok, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred(), "maxUnavailable 0 with maxSurge 1 is a valid rolling update")
	})

	It("rejects a DaemonSet whose pod template has no container", Label("DS-VAL-07"), func(ctx SpecContext) {
		ns := newNamespace(ctx, "ds-val-notmpl")
		ds := newDaemonSet("empty-template", ns).Obj()
		ds.Spec.Template.Spec.Containers = nil
		_, err := clients.Kube.AppsV1().DaemonSets(ns).Create(ctx, ds, metav1.CreateOptions{})
		expectInvalid(err, "spec.template.spec.containers")
	})

	It("has no replicas field: strict field validation refuses spec.replicas, and without it the field is dropped", Label("DS-VAL-08"), func(ctx SpecContext) {
		ns := newNamespace(ctx, "ds-val-replicas")
		dyn, err := dynamic.NewForConfig(clients.Rest)
		Expect(err).NotTo(HaveOccurred())
		daemonSets := dyn.Resource(appsv1.SchemeGroupVersion.WithResource("daemonsets")).Namespace(ns)
		create := func(name, validation string) error {
			GinkgoHelper()
			ds := newDaemonSet(name, ns).Obj()
			ds.TypeMeta = metav1.TypeMeta{APIVersion: "apps/v1", Kind: "DaemonSet"}
			obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(ds)
			Expect(err).NotTo(HaveOccurred())
			Expect(unstructured.SetNestedField(obj, int64(3), "spec", "replicas")).To(Succeed())
			_, err = daemonSets.Create(ctx, &unstructured.Unstructured{Object: obj}, metav1.CreateOptions{FieldValidation: validation})
			return err
		}
		err = create("strict", "Strict")
		Expect(err).To(HaveOccurred(), "a DaemonSet with spec.replicas should be refused under fieldValidation=Strict: the kind has no such field")
		Expect(apierrors.IsBadRequest(err)).To(BeTrue(), "want reason BadRequest (400), got %v: %v", apierrors.ReasonForError(err), err)
		Expect(err.Error()).To(ContainSubstring(`unknown field "spec.replicas"`), "the refusal should name the unknown field")
		_, err = clients.Kube.AppsV1().DaemonSets(ns).Get(ctx, "strict", metav1.GetOptions{})
		Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the refused DaemonSet must not exist: %v", err)

		By("under fieldValidation=Ignore the DaemonSet is created and spec.replicas is not stored")
		Expect(create("ignored", "Ignore")).To(Succeed(), "fieldValidation=Ignore drops unknown fields")
		stored, err := daemonSets.Get(ctx, "ignored", metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred())
		back, _, _ := unstructured.NestedMap(stored.Object, "spec")
		Expect(back).To(HaveKey("template"), "the stored DaemonSet should have its spec")
		Expect(back).NotTo(HaveKey("replicas"), "a DaemonSet stores no replicas: its pods follow its nodes")
	})
})

var _ = Describe("[sig-apps] DaemonSet defaults", Label("daemonset", "api"), func() {
	It("reads back the documented defaults for what the DaemonSet left out", Label("DS-API-05"), func(ctx SpecContext) {
		ns := newNamespace(ctx, "ds-defaults")
		ds := newDaemonSet("defaults", ns).Obj()
		ds.Spec.UpdateStrategy = appsv1.DaemonSetUpdateStrategy{}
		ds.Spec.RevisionHistoryLimit = nil
		ds.Spec.Template.Spec.RestartPolicy = ""
		created, err := clients.Kube.AppsV1().DaemonSets(ns).Create(ctx, ds, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())
		got, err := clients.Kube.AppsV1().DaemonSets(ns).Get(ctx, created.Name, metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred())
		Expect(got.Spec.UpdateStrategy.Type).To(Equal(appsv1.RollingUpdateDaemonSetStrategyType), "default updateStrategy.type")
		Expect(got.Spec.UpdateStrategy.RollingUpdate).NotTo(BeNil(), "default updateStrategy.rollingUpdate")
		Expect(got.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable).To(HaveValue(Equal(intstr.FromInt32(1))), "default rollingUpdate.maxUnavailable")
		Expect(got.Spec.UpdateStrategy.RollingUpdate.MaxSurge).To(HaveValue(Equal(intstr.FromInt32(0))), "default rollingUpdate.maxSurge")
		Expect(got.Spec.RevisionHistoryLimit).To(HaveValue(BeEquivalentTo(10)), "default revisionHistoryLimit")
		Expect(got.Spec.Template.Spec.RestartPolicy).To(Equal(corev1.RestartPolicyAlways), "default template restartPolicy")
	})
})
