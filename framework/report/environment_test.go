package report

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestSummarizeNodes(t *testing.T) {
	n := corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "cp", Labels: map[string]string{
		"node-role.kubernetes.io/control-plane": "", "kubernetes.io/os": "linux"}},
		Spec: corev1.NodeSpec{Taints: []corev1.Taint{{Key: "node-role.kubernetes.io/control-plane", Effect: corev1.TaintEffectNoSchedule}}},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
			NodeInfo: corev1.NodeSystemInfo{KubeletVersion: "v1.37.2", OSImage: "Debian", KernelVersion: "6.1", ContainerRuntimeVersion: "containerd://2.3.7"}}}
	got := SummarizeNodes([]corev1.Node{n})
	want := []NodeSummary{{Name: "cp", Roles: []string{"control-plane"}, Taints: []string{"node-role.kubernetes.io/control-plane=:NoSchedule"},
		KubeletVersion: "v1.37.2", Ready: true, OS: "Debian, kernel 6.1", Runtime: "containerd://2.3.7"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("SummarizeNodes = %+v\nwant %+v", got, want)
	}
}
