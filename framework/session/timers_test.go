package session

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/dsconform/dsconform/framework"
)

func TestFlagTimersKeepDefaultsForAbsentFlags(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Command: []string{"kube-controller-manager",
		"--node-monitor-grace-period=20s", "--controllers=*", "--node-monitor-period"}}}}}
	got := flagTimers(pod, controllerManagerTimers)
	if got["node-monitor-grace-period"] != "20s" || got["node-monitor-period"] != "5s (default)" {
		t.Errorf("timers = %v", got)
	}
	if controllerManagerTimers["node-monitor-grace-period"] != "50s (default)" {
		t.Error("flagTimers changed the defaults")
	}
}

func TestConfigzTimers(t *testing.T) {
	got, err := configzTimers([]byte(`{"kubeletconfig":{"fileCheckFrequency":"20s","syncFrequency":"1m0s","staticPodPath":"/etc/kubernetes/manifests"}}`))
	if err != nil || got["kubelet fileCheckFrequency"] != "20s" || got["kubelet syncFrequency"] != "1m0s" || len(got) != 2 {
		t.Errorf("configzTimers = %v, %v", got, err)
	}
	if _, err := configzTimers([]byte("not json")); err == nil {
		t.Error("a configz that is not JSON is an error")
	}
}

func TestTypedTimers(t *testing.T) {
	got := typedTimers(map[string]string{
		"kube-controller-manager node-monitor-grace-period":   "40s",
		"kube-controller-manager node-monitor-period":         "5s (default)",
		"kubelet fileCheckFrequency":                          "20s (node dsconform-worker)",
		"kubelet syncFrequency":                               "1m0s (node dsconform-worker)",
		"kube-apiserver default-not-ready-toleration-seconds": "300 (default)",
	})
	want := framework.ClusterTimers{NodeMonitorGracePeriod: 40 * time.Second, NodeMonitorPeriod: 5 * time.Second,
		FileCheckFrequency: 20 * time.Second, SyncFrequency: time.Minute}
	if got != want {
		t.Errorf("typedTimers = %+v, want %+v", got, want)
	}
	if unread := typedTimers(map[string]string{"kubelet": "not readable: no node"}); unread != (framework.ClusterTimers{}) {
		t.Errorf("nothing read must stay zero (the defaults apply), got %+v", unread)
	}
}
