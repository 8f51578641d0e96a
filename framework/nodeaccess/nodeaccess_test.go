package nodeaccess

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestAgentPod(t *testing.T) {
	p := AgentPod("dsconform-agents-1", "dsconform-worker2", "localhost/dsconform/workload:x")
	s := p.Spec
	switch {
	case p.Name != "agent-dsconform-worker2" || p.Namespace != "dsconform-agents-1":
		t.Errorf("name %s/%s", p.Namespace, p.Name)
	case s.NodeName != "dsconform-worker2":
		t.Errorf("bound to %q: the agent must not need the scheduler (specs stop it)", s.NodeName)
	case !s.HostPID || !s.HostNetwork:
		t.Error("the agent needs the host's PID namespace (to enter the node's root) and network (iptables)")
	case len(s.Tolerations) != 1 || s.Tolerations[0].Operator != corev1.TolerationOpExists || s.Tolerations[0].Key != "":
		t.Errorf("tolerations %v: the agent must run on any tainted node", s.Tolerations)
	case s.Containers[0].SecurityContext == nil || !*s.Containers[0].SecurityContext.Privileged:
		t.Error("the agent container must be privileged")
	case p.Labels[AgentLabel] != "true":
		t.Error("agent pods carry the agent label the leak check and sweep look for")
	}
	long := AgentPod("ns", strings.Repeat("n", 70)+".example.com", "img")
	if len(long.Name) > 63 || strings.HasSuffix(long.Name, "-") || strings.HasSuffix(long.Name, ".") {
		t.Errorf("name %q is not a valid pod name", long.Name)
	}
}
