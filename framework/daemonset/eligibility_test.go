package daemonset

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func node(name string, labels map[string]string, taints ...corev1.Taint) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}, Spec: corev1.NodeSpec{Taints: taints}}
}

func taint(key, value string, effect corev1.TaintEffect) corev1.Taint {
	return corev1.Taint{Key: key, Value: value, Effect: effect}
}

func tmpl(mut func(*corev1.PodSpec)) *corev1.PodTemplateSpec {
	t := &corev1.PodTemplateSpec{}
	if mut != nil {
		mut(&t.Spec)
	}
	return t
}

func withTolerations(tols ...corev1.Toleration) func(*corev1.PodSpec) {
	return func(s *corev1.PodSpec) { s.Tolerations = tols }
}

func withAffinity(terms ...corev1.NodeSelectorTerm) func(*corev1.PodSpec) {
	return func(s *corev1.PodSpec) {
		s.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: terms}}}
	}
}

func expr(key string, op corev1.NodeSelectorOperator, values ...string) corev1.NodeSelectorTerm {
	return corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: key, Operator: op, Values: values}}}
}

func TestEligible(t *testing.T) {
	const ne, ns, pns = corev1.TaintEffectNoExecute, corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule
	exists, equal := corev1.TolerationOpExists, corev1.TolerationOpEqual
	cordoned := node("w", nil)
	cordoned.Spec.Unschedulable = true
	netDown := node("w", nil)
	netDown.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeNetworkUnavailable, Status: corev1.ConditionTrue}}
	notReady := node("w", nil)
	notReady.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionFalse}}
	labelled := node("w", map[string]string{"zone": "a", "cores": "8"})

	cases := []struct {
		name      string
		node      *corev1.Node
		tmpl      *corev1.PodTemplateSpec
		run, keep bool
	}{
		{"plain node", node("w", nil), tmpl(nil), true, true},
		{"NoSchedule blocks new, keeps running", node("w", nil, taint("k", "v", ns)), tmpl(nil), false, true},
		{"NoExecute blocks and evicts", node("w", nil, taint("VIPOnly", "true", ne)), tmpl(nil), false, false},
		{"PreferNoSchedule is ignored", node("w", nil, taint("k", "v", pns)), tmpl(nil), true, true},
		{"Equal toleration with matching value", node("w", nil, taint("VIPOnly", "true", ne)),
			tmpl(withTolerations(corev1.Toleration{Key: "VIPOnly", Operator: equal, Value: "true", Effect: ne})), true, true},
		{"Equal toleration with other value", node("w", nil, taint("VIPOnly", "true", ne)),
			tmpl(withTolerations(corev1.Toleration{Key: "VIPOnly", Operator: equal, Value: "false", Effect: ne})), false, false},
		{"default operator is Equal", node("w", nil, taint("k", "v", ns)),
			tmpl(withTolerations(corev1.Toleration{Key: "k", Value: "v"})), true, true},
		{"Exists ignores value", node("w", nil, taint("k", "anything", ne)),
			tmpl(withTolerations(corev1.Toleration{Key: "k", Operator: exists})), true, true},
		{"Exists with empty key tolerates everything", node("w", nil, taint("a", "1", ne), taint("b", "", ns)),
			tmpl(withTolerations(corev1.Toleration{Operator: exists})), true, true},
		{"Equal with empty key tolerates nothing", node("w", nil, taint("a", "", ns)),
			tmpl(withTolerations(corev1.Toleration{Operator: equal})), false, true},
		{"effect must match", node("w", nil, taint("k", "v", ne)),
			tmpl(withTolerations(corev1.Toleration{Key: "k", Operator: exists, Effect: ns})), false, false},
		{"control-plane taint excludes", node("cp", nil, taint(TaintControlPlane, "", ns)), tmpl(nil), false, true},
		{"control-plane toleration includes", node("cp", nil, taint(TaintControlPlane, "", ns)),
			tmpl(withTolerations(corev1.Toleration{Key: TaintControlPlane, Operator: exists, Effect: ns})), true, true},
		{"legacy master toleration does not reach a control plane", node("cp", nil, taint(TaintControlPlane, "", ns)),
			tmpl(withTolerations(corev1.Toleration{Key: TaintLegacyMaster, Operator: exists, Effect: ns})), false, true},
		{"cordoned node still gets a pod", cordoned, tmpl(nil), true, true},
		{"default tolerations cover pressure taints", node("w", nil, taint(TaintDiskPressure, "", ns), taint(TaintMemoryPressure, "", ns), taint(TaintPIDPressure, "", ns)), tmpl(nil), true, true},
		{"unreachable NoExecute is tolerated by default", node("w", nil, taint(TaintUnreachable, "", ne)), tmpl(nil), true, true},
		{"not-ready condition blocks new pods only", notReady, tmpl(nil), false, true},
		{"network-unavailable blocks pod network pods", netDown, tmpl(nil), false, true},
		{"network-unavailable tolerated with hostNetwork", netDown, tmpl(func(s *corev1.PodSpec) { s.HostNetwork = true }), true, true},
		{"nodeSelector matches", labelled, tmpl(func(s *corev1.PodSpec) { s.NodeSelector = map[string]string{"zone": "a"} }), true, true},
		{"nodeSelector mismatch", labelled, tmpl(func(s *corev1.PodSpec) { s.NodeSelector = map[string]string{"zone": "b"} }), false, false},
		{"nodeSelector on missing label", node("w", nil), tmpl(func(s *corev1.PodSpec) { s.NodeSelector = map[string]string{"zone": "a"} }), false, false},
		{"affinity In", labelled, tmpl(withAffinity(expr("zone", corev1.NodeSelectorOpIn, "a", "b"))), true, true},
		{"affinity In mismatch", labelled, tmpl(withAffinity(expr("zone", corev1.NodeSelectorOpIn, "c"))), false, false},
		{"affinity NotIn", labelled, tmpl(withAffinity(expr("zone", corev1.NodeSelectorOpNotIn, "a"))), false, false},
		{"affinity NotIn on missing label", node("w", nil), tmpl(withAffinity(expr("zone", corev1.NodeSelectorOpNotIn, "a"))), true, true},
		{"affinity Exists", labelled, tmpl(withAffinity(expr("zone", corev1.NodeSelectorOpExists))), true, true},
		{"affinity DoesNotExist", labelled, tmpl(withAffinity(expr("zone", corev1.NodeSelectorOpDoesNotExist))), false, false},
		{"affinity Gt", labelled, tmpl(withAffinity(expr("cores", corev1.NodeSelectorOpGt, "4"))), true, true},
		{"affinity Gt not greater", labelled, tmpl(withAffinity(expr("cores", corev1.NodeSelectorOpGt, "8"))), false, false},
		{"affinity Lt", labelled, tmpl(withAffinity(expr("cores", corev1.NodeSelectorOpLt, "16"))), true, true},
		{"affinity Lt on non-number", node("w", map[string]string{"cores": "many"}), tmpl(withAffinity(expr("cores", corev1.NodeSelectorOpLt, "16"))), false, false},
		{"affinity terms are ORed", labelled, tmpl(withAffinity(expr("zone", corev1.NodeSelectorOpIn, "x"), expr("cores", corev1.NodeSelectorOpExists))), true, true},
		{"matchFields pins to a node name", labelled, tmpl(withAffinity(corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{
			{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"w"}}}})), true, true},
		{"matchFields other node", labelled, tmpl(withAffinity(corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{
			{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"other"}}}})), false, false},
		{"empty term matches nothing", labelled, tmpl(withAffinity(corev1.NodeSelectorTerm{})), false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := Eligible(tc.node, tc.tmpl)
			if d.ShouldRun != tc.run || d.ShouldContinueRunning != tc.keep {
				t.Errorf("Eligible = run %v keep %v (%s), want run %v keep %v", d.ShouldRun, d.ShouldContinueRunning, d.Reason, tc.run, tc.keep)
			}
			if !d.ShouldRun && d.Reason == "" {
				t.Errorf("a 'no' must carry a reason")
			}
		})
	}
}

func TestDefaultTolerations(t *testing.T) {
	if n := len(DefaultTolerations(false)); n != 6 {
		t.Errorf("pod network: %d default tolerations, want 6", n)
	}
	host := DefaultTolerations(true)
	if len(host) != 7 || host[6].Key != TaintNetworkUnavailable {
		t.Errorf("hostNetwork: want network-unavailable as 7th toleration, got %v", host)
	}
}

func TestUnboundedNoExecute(t *testing.T) {
	unreachable := []corev1.Taint{{Key: TaintUnreachable, Effect: corev1.TaintEffectNoExecute}, {Key: TaintUnreachable, Effect: corev1.TaintEffectNoSchedule}}
	pod := func(tols ...corev1.Toleration) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{Tolerations: tols}}
	}
	if err := UnboundedNoExecute(pod(DefaultTolerations(false)...), unreachable); err != nil {
		t.Errorf("the controller's own tolerations hold forever: %v", err)
	}
	s300 := int64(300)
	bounded := corev1.Toleration{Key: TaintUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &s300}
	if err := UnboundedNoExecute(pod(bounded), unreachable); err == nil || !strings.Contains(err.Error(), "only for 300s") {
		t.Errorf("a 300 s toleration must be named: %v", err)
	}
	if err := UnboundedNoExecute(pod(), unreachable); err == nil || !strings.Contains(err.Error(), "not tolerated") {
		t.Errorf("no toleration: %v", err)
	}
}
