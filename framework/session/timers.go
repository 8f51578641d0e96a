package session

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/dsconform/dsconform/framework"
	"github.com/dsconform/dsconform/framework/node"
)

// The cluster timers that bound the node specs' waits, with Kubernetes' defaults: the
// report records what the cluster under test really uses.
var (
	controllerManagerTimers = map[string]string{
		"node-monitor-grace-period": framework.DefaultClusterTimers().NodeMonitorGracePeriod.String() + " (default)",
		"node-monitor-period":       framework.DefaultClusterTimers().NodeMonitorPeriod.String() + " (default)"}
	apiServerTimers = map[string]string{"default-not-ready-toleration-seconds": "300 (default)", "default-unreachable-toleration-seconds": "300 (default)"}
	kubeletTimers   = []string{"fileCheckFrequency", "syncFrequency", "nodeStatusUpdateFrequency", "nodeStatusReportFrequency"}
)

// flagTimers reads the named flags from a static pod's command line, keeping the
// default where a flag is absent.
func flagTimers(pod *corev1.Pod, defaults map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range defaults {
		out[k] = v
	}
	for _, c := range pod.Spec.Containers {
		for _, arg := range append(append([]string{}, c.Command...), c.Args...) {
			name, value, ok := strings.Cut(strings.TrimPrefix(arg, "--"), "=")
			if _, known := defaults[name]; ok && known {
				out[name] = value
			}
		}
	}
	return out
}

// configzTimers reads the kubelet timers from its /configz answer.
func configzTimers(raw []byte) (map[string]string, error) {
	var z struct {
		KubeletConfig map[string]any `json:"kubeletconfig"`
	}
	if err := json.Unmarshal(raw, &z); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, k := range kubeletTimers {
		if v, ok := z.KubeletConfig[k]; ok {
			out["kubelet "+k] = fmt.Sprint(v)
		}
	}
	return out, nil
}

// typedTimers reads the timers the waits derive from (framework.Timeouts.For) out of
// what clusterTimers found; what is missing or unreadable stays zero (the default).
func typedTimers(all map[string]string) framework.ClusterTimers {
	d := func(key string) time.Duration {
		v, _, _ := strings.Cut(all[key], " ") // "50s (default)", "20s (node x)"
		if secs, err := strconv.Atoi(v); err == nil {
			return time.Duration(secs) * time.Second
		}
		dur, _ := time.ParseDuration(v)
		return dur
	}
	return framework.ClusterTimers{NodeMonitorGracePeriod: d("kube-controller-manager node-monitor-grace-period"),
		NodeMonitorPeriod: d("kube-controller-manager node-monitor-period"), FileCheckFrequency: d("kubelet fileCheckFrequency"),
		SyncFrequency: d("kubelet syncFrequency")}
}

// clusterTimers is what the report says about the timers (as "name=value" lines); what
// cannot be read is said so, never guessed.
func clusterTimers(ctx context.Context, c kubernetes.Interface, aNode string) ([]string, framework.ClusterTimers) {
	all := map[string]string{}
	for component, defaults := range map[string]map[string]string{"kube-controller-manager": controllerManagerTimers, "kube-apiserver": apiServerTimers} {
		pods, err := c.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{LabelSelector: "component=" + component})
		if err != nil || len(pods.Items) == 0 {
			all[component] = "not readable (no pod labelled component=" + component + " in kube-system)"
			continue
		}
		for k, v := range flagTimers(&pods.Items[0], defaults) {
			all[component+" "+k] = v
		}
	}
	if aNode != "" {
		raw, err := node.KubeletConfigz(ctx, c, aNode)
		z, perr := configzTimers(raw)
		switch {
		case err != nil:
			all["kubelet"] = fmt.Sprintf("not readable: %v", err)
		case perr != nil:
			all["kubelet"] = fmt.Sprintf("configz of node %s: %v", aNode, perr)
		}
		for k, v := range z {
			all[k] = v + " (node " + aNode + ")"
		}
	}
	var out []string
	for k, v := range all {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out, typedTimers(all)
}
