package session

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/dsconform/dsconform/framework"
	"github.com/dsconform/dsconform/framework/provenance"
)

func namespace(name, run string) *corev1.Namespace {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if run != "" {
		ns.Labels = map[string]string{provenance.RunLabel: run}
	}
	return ns
}

func session(objs ...*corev1.Namespace) (*Session, *fake.Clientset) {
	c := fake.NewClientset()
	for _, o := range objs {
		_, _ = c.CoreV1().Namespaces().Create(context.Background(), o, metav1.CreateOptions{})
	}
	s := &Session{Config: &framework.Config{UseExistingCluster: true}, Clients: &framework.Clients{Kube: c},
		Timeouts: framework.Timeouts{Poll: 5 * time.Millisecond, Long: 50 * time.Millisecond}, State: State{RunID: "1000"}}
	s.join()
	return s, c
}

func TestFinishPassesWhenTheRunLeftNothing(t *testing.T) {
	// another run's namespace and one without a stamp are not this run's business
	s, c := session(namespace("ds-other-e2e-abc", "999"), namespace("kube-public", ""))
	if err := s.Finish(context.Background()); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	if l, _ := c.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{}); len(l.Items) != 2 {
		t.Errorf("Finish touched namespaces that are not this run's: %d left of 2", len(l.Items))
	}
}

func TestFinishNamesAndRemovesWhatTheRunLeft(t *testing.T) {
	s, c := session(namespace("ds-leaked-e2e-abc", "1000"), namespace("dsconform-agents-1000", "1000"))
	s.AgentNamespace = "dsconform-agents-1000"
	err := s.Finish(context.Background())
	if err == nil || !strings.Contains(err.Error(), "ds-leaked-e2e-abc") || strings.Contains(err.Error(), "agents") {
		t.Fatalf("Finish = %v; want an error naming the leaked namespace and not the agents' own", err)
	}
	if l, _ := c.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{}); len(l.Items) != 0 {
		t.Errorf("after Finish: %v, want the leak undone and the agents' namespace removed", l.Items)
	}
}

func TestHostNeedsAWayOntoTheNodes(t *testing.T) {
	s, _ := session()
	if s.HostsReachable() {
		t.Fatal("an existing cluster that is not kind, without agents: no way onto the hosts")
	}
	if _, ok, _ := s.Host(context.Background(), "n1"); ok {
		t.Error("Host should say there is no way onto n1")
	}
	s.AgentNamespace = "agents"
	s.join()
	if !s.HostsReachable() || s.Agents == nil || s.Agents.Namespace != "agents" {
		t.Errorf("with an agents namespace the hosts are reached through agents: %+v", s.Agents)
	}
	s.Config.Mode = "non-disruptive"
	s.join()
	if !strings.Contains(s.NodeChanges.Refusal, "non-disruptive") {
		t.Errorf("a named mode refuses node changes by its name: %q", s.NodeChanges.Refusal)
	}
}
