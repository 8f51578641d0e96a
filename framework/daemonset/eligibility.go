// Package daemonset holds what the suite knows about DaemonSets: which nodes must
// run a daemon pod (the eligibility predicate), what "rolled out" means (the
// rollout check), and a builder for DaemonSet objects.
package daemonset

import (
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Well-known taint keys the node lifecycle controller and kubelet set.
const (
	TaintNotReady           = "node.kubernetes.io/not-ready"
	TaintUnreachable        = "node.kubernetes.io/unreachable"
	TaintDiskPressure       = "node.kubernetes.io/disk-pressure"
	TaintMemoryPressure     = "node.kubernetes.io/memory-pressure"
	TaintPIDPressure        = "node.kubernetes.io/pid-pressure"
	TaintUnschedulable      = "node.kubernetes.io/unschedulable"
	TaintNetworkUnavailable = "node.kubernetes.io/network-unavailable"
	TaintControlPlane       = "node-role.kubernetes.io/control-plane"
	TaintLegacyMaster       = "node-role.kubernetes.io/master"
)

// DefaultTolerations are the tolerations the DaemonSet controller adds to every
// daemon pod it creates; network-unavailable is added only for hostNetwork pods.
func DefaultTolerations(hostNetwork bool) []corev1.Toleration {
	t := []corev1.Toleration{
		{Key: TaintNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute},
		{Key: TaintUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute},
		{Key: TaintDiskPressure, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
		{Key: TaintMemoryPressure, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
		{Key: TaintPIDPressure, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
		{Key: TaintUnschedulable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
	}
	if hostNetwork {
		t = append(t, corev1.Toleration{Key: TaintNetworkUnavailable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule})
	}
	return t
}

// Decision says whether a daemon pod should be started on a node, and whether one
// already running there may keep running. Reason explains a "no" in words.
type Decision struct {
	ShouldRun             bool
	ShouldContinueRunning bool
	Reason                string
}

// Eligible decides, as the DaemonSet controller does, whether the pod template
// belongs on the node: a template nodeName must be this node; node selector and required node affinity must match; taints
// with effect NoSchedule or NoExecute block a new pod unless tolerated; only
// NoExecute taints evict a running one. PreferNoSchedule never matters. Taints the
// node lifecycle controller derives from conditions and cordoning are considered
// even if they have not been written to the node yet.
func Eligible(node *corev1.Node, tmpl *corev1.PodTemplateSpec) Decision {
	if tmpl.Spec.NodeName != "" && tmpl.Spec.NodeName != node.Name {
		return Decision{Reason: fmt.Sprintf("the template names node %s", tmpl.Spec.NodeName)}
	}
	if ok, why := matchesNodeSelection(node, &tmpl.Spec); !ok {
		return Decision{Reason: why}
	}
	tolerations := append(append([]corev1.Toleration{}, tmpl.Spec.Tolerations...), DefaultTolerations(tmpl.Spec.HostNetwork)...)
	d := Decision{ShouldRun: true, ShouldContinueRunning: true}
	for _, taint := range effectiveTaints(node) {
		if taint.Effect == corev1.TaintEffectPreferNoSchedule || tolerated(tolerations, &taint) {
			continue
		}
		d.ShouldRun = false
		if taint.Effect == corev1.TaintEffectNoExecute {
			d.ShouldContinueRunning = false
		}
		if d.Reason == "" {
			d.Reason = fmt.Sprintf("untolerated taint %s", taintString(&taint))
		}
	}
	return d
}

// effectiveTaints adds the taints that node conditions and cordoning imply
// (TaintNodesByCondition) to the node's own, without duplicates.
func effectiveTaints(node *corev1.Node) []corev1.Taint {
	taints := append([]corev1.Taint{}, node.Spec.Taints...)
	add := func(key string, effect corev1.TaintEffect) {
		for _, t := range taints {
			if t.Key == key && t.Effect == effect {
				return
			}
		}
		taints = append(taints, corev1.Taint{Key: key, Effect: effect})
	}
	if node.Spec.Unschedulable {
		add(TaintUnschedulable, corev1.TaintEffectNoSchedule)
	}
	for _, c := range node.Status.Conditions {
		switch {
		case c.Type == corev1.NodeReady && c.Status == corev1.ConditionFalse:
			add(TaintNotReady, corev1.TaintEffectNoSchedule)
		case c.Type == corev1.NodeReady && c.Status == corev1.ConditionUnknown:
			add(TaintUnreachable, corev1.TaintEffectNoSchedule)
		case c.Type == corev1.NodeNetworkUnavailable && c.Status == corev1.ConditionTrue:
			add(TaintNetworkUnavailable, corev1.TaintEffectNoSchedule)
		}
	}
	return taints
}

func tolerated(tolerations []corev1.Toleration, taint *corev1.Taint) bool {
	for i := range tolerations {
		if Tolerates(&tolerations[i], taint) {
			return true
		}
	}
	return false
}

// Tolerates reports whether one toleration tolerates one taint: an empty effect
// matches every effect; Exists with an empty key matches every taint; Equal (the
// default operator) also compares values.
func Tolerates(tol *corev1.Toleration, taint *corev1.Taint) bool {
	if tol.Effect != "" && tol.Effect != taint.Effect {
		return false
	}
	if tol.Key == "" {
		return tol.Operator == corev1.TolerationOpExists
	}
	if tol.Key != taint.Key {
		return false
	}
	switch tol.Operator {
	case corev1.TolerationOpExists:
		return true
	case "", corev1.TolerationOpEqual:
		return tol.Value == taint.Value
	}
	return false
}

func matchesNodeSelection(node *corev1.Node, spec *corev1.PodSpec) (bool, string) {
	for k, v := range spec.NodeSelector {
		if got, ok := node.Labels[k]; !ok || got != v {
			return false, fmt.Sprintf("nodeSelector %s=%s does not match (node has %q)", k, v, got)
		}
	}
	if spec.Affinity == nil || spec.Affinity.NodeAffinity == nil || spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return true, ""
	}
	terms := spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	for i := range terms {
		if termMatches(node, &terms[i]) {
			return true, ""
		}
	}
	return false, "no required node affinity term matches"
}

// termMatches ANDs a term's requirements; an empty term matches nothing.
func termMatches(node *corev1.Node, term *corev1.NodeSelectorTerm) bool {
	if len(term.MatchExpressions) == 0 && len(term.MatchFields) == 0 {
		return false
	}
	for _, r := range term.MatchExpressions {
		v, has := node.Labels[r.Key]
		if !requirementMatches(r, v, has) {
			return false
		}
	}
	for _, r := range term.MatchFields {
		if r.Key != "metadata.name" || !requirementMatches(r, node.Name, true) {
			return false
		}
	}
	return true
}

func requirementMatches(r corev1.NodeSelectorRequirement, value string, has bool) bool {
	switch r.Operator {
	case corev1.NodeSelectorOpIn:
		return has && contains(r.Values, value)
	case corev1.NodeSelectorOpNotIn:
		return !has || !contains(r.Values, value)
	case corev1.NodeSelectorOpExists:
		return has
	case corev1.NodeSelectorOpDoesNotExist:
		return !has
	case corev1.NodeSelectorOpGt, corev1.NodeSelectorOpLt:
		if !has || len(r.Values) != 1 {
			return false
		}
		got, err1 := strconv.ParseInt(value, 10, 64)
		want, err2 := strconv.ParseInt(r.Values[0], 10, 64)
		if err1 != nil || err2 != nil {
			return false
		}
		if r.Operator == corev1.NodeSelectorOpGt {
			return got > want
		}
		return got < want
	}
	return false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func taintString(t *corev1.Taint) string {
	var b strings.Builder
	b.WriteString(t.Key)
	if t.Value != "" {
		b.WriteString("=" + t.Value)
	}
	b.WriteString(":" + string(t.Effect))
	return b.String()
}

// UnboundedNoExecute checks the pod tolerates every NoExecute taint among taints with no
// tolerationSeconds, so the taint manager never evicts it for them: what keeps a daemon pod
// on a NotReady or unreachable node for good (not for the 300 s the API server would give a
// pod without such a toleration). It names the taints that would evict the pod, and when.
func UnboundedNoExecute(p *corev1.Pod, taints []corev1.Taint) error {
	var bad []string
	for i := range taints {
		t := &taints[i]
		if t.Effect != corev1.TaintEffectNoExecute {
			continue
		}
		forever := false
		var bounded []string
		for _, tol := range p.Spec.Tolerations {
			if !Tolerates(&tol, t) {
				continue
			}
			if tol.TolerationSeconds == nil {
				forever = true
			} else {
				bounded = append(bounded, fmt.Sprintf("%ds", *tol.TolerationSeconds))
			}
		}
		switch {
		case forever:
		case len(bounded) > 0:
			bad = append(bad, fmt.Sprintf("%s:NoExecute tolerated only for %s", t.Key, strings.Join(bounded, ", ")))
		default:
			bad = append(bad, fmt.Sprintf("%s:NoExecute not tolerated", t.Key))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("pod %s would be evicted from its node: %s", p.Name, strings.Join(bad, "; "))
	}
	return nil
}
