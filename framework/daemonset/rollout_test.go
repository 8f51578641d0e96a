package daemonset

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func rolloutFixture() (*appsv1.DaemonSet, []corev1.Node, []corev1.Pod) {
	ds := NewBuilder("agent", "ns", "img").Obj()
	ds.UID, ds.Generation = "ds-uid", 2
	ds.Status = appsv1.DaemonSetStatus{ObservedGeneration: 2, DesiredNumberScheduled: 2, CurrentNumberScheduled: 2,
		UpdatedNumberScheduled: 2, NumberAvailable: 2, NumberReady: 2}
	cp := *node("cp", map[string]string{"node-role.kubernetes.io/control-plane": ""}, taint(TaintControlPlane, "", corev1.TaintEffectNoSchedule))
	nodes := []corev1.Node{cp, *node("w1", nil), *node("w2", nil)}
	pods := []corev1.Pod{pod("a", "w1", ds.UID), pod("b", "w2", ds.UID)}
	return ds, nodes, pods
}

func pod(name, nodeName string, owner types.UID) corev1.Pod {
	yes := true
	return corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, OwnerReferences: []metav1.OwnerReference{{UID: owner, Controller: &yes}}},
		Spec:       corev1.PodSpec{NodeName: nodeName},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
}

func TestCheckRollout(t *testing.T) {
	cases := []struct {
		name    string
		mutate  func(*appsv1.DaemonSet, *[]corev1.Node, *[]corev1.Pod)
		wantErr []string // substrings; none means rolled out
	}{
		{"rolled out", func(*appsv1.DaemonSet, *[]corev1.Node, *[]corev1.Pod) {}, nil},
		{"missing pod names the node", func(_ *appsv1.DaemonSet, _ *[]corev1.Node, p *[]corev1.Pod) { *p = (*p)[:1] },
			[]string{"nodes missing a running daemon pod: w2"}},
		{"extra pod on a NoExecute-tainted node names node and reason", func(ds *appsv1.DaemonSet, n *[]corev1.Node, p *[]corev1.Pod) {
			*n = append(*n, *node("w3", nil, taint("VIPOnly", "true", corev1.TaintEffectNoExecute)))
			*p = append(*p, pod("c", "w3", ds.UID))
		}, []string{"should have none: w3 (c: untolerated taint VIPOnly=true:NoExecute)"}},
		{"a pod already on the control plane may stay, counted misscheduled, not desired", func(ds *appsv1.DaemonSet, _ *[]corev1.Node, p *[]corev1.Pod) {
			*p = append(*p, pod("c", "cp", ds.UID))
			ds.Status.NumberMisscheduled = 1
		}, nil},
		{"a kept pod the controller counts as desired is wrong", func(ds *appsv1.DaemonSet, _ *[]corev1.Node, p *[]corev1.Pod) {
			*p = append(*p, pod("c", "cp", ds.UID))
			ds.Status.DesiredNumberScheduled, ds.Status.CurrentNumberScheduled, ds.Status.UpdatedNumberScheduled = 3, 3, 3
			ds.Status.NumberAvailable, ds.Status.NumberReady = 3, 3
		}, []string{"desiredNumberScheduled 3, but 2 nodes are eligible (w1, w2)", "numberMisscheduled 0, want 1 (nodes that keep a pod they would not get now: cp)"}},
		{"a pod Pending for a NoSchedule-tainted node names node, pod and reason", func(ds *appsv1.DaemonSet, n *[]corev1.Node, p *[]corev1.Pod) {
			*n = append(*n, *node("w3", nil, taint("dsconform.e2e/nosched", "x", corev1.TaintEffectNoSchedule)))
			stale := pod("c", "", ds.UID)
			stale.Status.Phase = corev1.PodPending
			stale.Spec.Affinity = PinnedTo(ds, []string{"w3"}).Spec.Template.Spec.Affinity
			*p = append(*p, stale)
			ds.Status.NumberMisscheduled = 1
		}, []string{"with one waiting for them: w3 (c, Pending: untolerated taint dsconform.e2e/nosched=x:NoSchedule)", "numberMisscheduled 1, want 0"}},
		{"two pods on one node", func(ds *appsv1.DaemonSet, _ *[]corev1.Node, p *[]corev1.Pod) { *p = append(*p, pod("d", "w1", ds.UID)) },
			[]string{"more than one daemon pod: w1 (a, d)"}},
		{"terminating and foreign pods do not count", func(ds *appsv1.DaemonSet, _ *[]corev1.Node, p *[]corev1.Pod) {
			(*p)[1].DeletionTimestamp = &metav1.Time{}
			*p = append(*p, pod("foreign", "w2", "other-uid"))
		}, []string{"missing a running daemon pod: w2"}},
		{"stale observedGeneration", func(ds *appsv1.DaemonSet, _ *[]corev1.Node, _ *[]corev1.Pod) { ds.Status.ObservedGeneration = 1 },
			[]string{"observedGeneration 1 < generation 2"}},
		{"desired disagrees with eligible nodes", func(ds *appsv1.DaemonSet, _ *[]corev1.Node, _ *[]corev1.Pod) { ds.Status.DesiredNumberScheduled = 3 },
			[]string{"desiredNumberScheduled 3, but 2 nodes are eligible (w1, w2)"}},
		{"not all available", func(ds *appsv1.DaemonSet, _ *[]corev1.Node, _ *[]corev1.Pod) { ds.Status.NumberAvailable = 1 },
			[]string{"numberAvailable 1 != desiredNumberScheduled 2"}},
		{"misscheduled with nothing kept", func(ds *appsv1.DaemonSet, _ *[]corev1.Node, _ *[]corev1.Pod) { ds.Status.NumberMisscheduled = 1 },
			[]string{"numberMisscheduled 1, want 0 (nodes that keep a pod they would not get now: none)"}},
		{"NoSchedule added after the pod: kept, misscheduled, no longer desired (the controller's rule)", func(ds *appsv1.DaemonSet, n *[]corev1.Node, _ *[]corev1.Pod) {
			(*n)[2].Spec.Taints = []corev1.Taint{taint("k", "", corev1.TaintEffectNoSchedule)}
			ds.Status = appsv1.DaemonSetStatus{ObservedGeneration: 2, DesiredNumberScheduled: 1, CurrentNumberScheduled: 1,
				UpdatedNumberScheduled: 1, NumberAvailable: 1, NumberReady: 1, NumberMisscheduled: 1}
		}, nil},
		{"NoSchedule added after the pod, status still counting it desired", func(_ *appsv1.DaemonSet, n *[]corev1.Node, _ *[]corev1.Pod) {
			(*n)[2].Spec.Taints = []corev1.Taint{taint("k", "", corev1.TaintEffectNoSchedule)}
		}, []string{"desiredNumberScheduled 2, but 1 nodes are eligible (w1)", "numberMisscheduled 0, want 1 (nodes that keep a pod they would not get now: w2)"}},
		{"NoSchedule on a node without a pod: neither desired nor kept", func(ds *appsv1.DaemonSet, n *[]corev1.Node, p *[]corev1.Pod) {
			(*n)[2].Spec.Taints = []corev1.Taint{taint("k", "", corev1.TaintEffectNoSchedule)}
			*p = (*p)[:1]
			ds.Status = appsv1.DaemonSetStatus{ObservedGeneration: 2, DesiredNumberScheduled: 1, CurrentNumberScheduled: 1,
				UpdatedNumberScheduled: 1, NumberAvailable: 1, NumberReady: 1}
		}, nil},
		{"template nodeName: only that node is desired", func(ds *appsv1.DaemonSet, _ *[]corev1.Node, p *[]corev1.Pod) {
			ds.Spec.Template.Spec.NodeName = "w2"
			*p = (*p)[1:]
			ds.Status = appsv1.DaemonSetStatus{ObservedGeneration: 2, DesiredNumberScheduled: 1, CurrentNumberScheduled: 1,
				UpdatedNumberScheduled: 1, NumberAvailable: 1, NumberReady: 1}
		}, nil},
		{"template nodeName: a pod elsewhere is extra", func(ds *appsv1.DaemonSet, _ *[]corev1.Node, _ *[]corev1.Pod) {
			ds.Spec.Template.Spec.NodeName = "w2"
		}, []string{"should have none: w1 (a: the template names node w2)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ds, nodes, pods := rolloutFixture()
			tc.mutate(ds, &nodes, &pods)
			err := CheckRollout(ds, nodes, pods)
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("want rolled out, got %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("want an error containing %q, got nil", tc.wantErr)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestPinnedNode(t *testing.T) {
	pin := func(op corev1.NodeSelectorOperator, key string, values ...string) *corev1.Pod {
		return &corev1.Pod{Spec: corev1.PodSpec{Affinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{
				{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "x", Operator: corev1.NodeSelectorOpExists}}},
				{MatchFields: []corev1.NodeSelectorRequirement{{Key: key, Operator: op, Values: values}}}}}}}}}
	}
	for _, c := range []struct {
		pod  *corev1.Pod
		want string
	}{
		{&corev1.Pod{}, ""},
		{pin(corev1.NodeSelectorOpIn, "metadata.name", "w1"), "w1"},
		{pin(corev1.NodeSelectorOpNotIn, "metadata.name", "w1"), ""},
		{pin(corev1.NodeSelectorOpIn, "metadata.name", "w1", "w2"), ""},
		{pin(corev1.NodeSelectorOpIn, "metadata.namespace", "w1"), ""},
	} {
		if got := PinnedNode(c.pod); got != c.want {
			t.Errorf("PinnedNode(%+v) = %q, want %q", c.pod.Spec.Affinity, got, c.want)
		}
	}
}
