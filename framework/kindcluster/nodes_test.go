package kindcluster

import (
	"os"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func TestJoinConfigFor(t *testing.T) {
	raw, err := os.ReadFile("testdata/worker-kubeadm.conf")
	if err != nil {
		t.Fatal(err)
	}
	in := AddWorkerInput{Name: "dsconform-e2e-1", Taints: []string{"dsconform.e2e/new=yes:NoSchedule"}, Labels: []string{"a=b"}}
	got, err := joinConfigFor(string(raw), "dsconform-worker", in, "172.18.0.9", "tok123.abcdefabcdefabcd", "dsconform")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"node-ip: 172.18.0.9", "provider-id: kind://docker/dsconform/dsconform-e2e-1", "token: tok123.abcdefabcdefabcd", `node-labels: "a=b"`} {
		if !strings.Contains(got, want) {
			t.Errorf("join config lacks %q", want)
		}
	}
	if strings.Contains(got, "172.18.0.5") || strings.Contains(got, "abcdef.0123456789abcdef") {
		t.Error("the template node's IP or token survived")
	}
	var join struct {
		Kind             string `json:"kind"`
		NodeRegistration struct {
			CRISocket string `json:"criSocket"`
			Taints    []struct{ Key, Value, Effect string }
		} `json:"nodeRegistration"`
	}
	for _, doc := range strings.Split(got, "\n---\n") {
		if strings.Contains(doc, "kind: JoinConfiguration") {
			if err := yaml.Unmarshal([]byte(doc), &join); err != nil {
				t.Fatalf("JoinConfiguration does not parse: %v\n%s", err, doc)
			}
		}
	}
	if join.Kind != "JoinConfiguration" || join.NodeRegistration.CRISocket == "" {
		t.Fatalf("JoinConfiguration lost its nodeRegistration: %+v", join)
	}
	if len(join.NodeRegistration.Taints) != 1 || join.NodeRegistration.Taints[0].Key != "dsconform.e2e/new" || join.NodeRegistration.Taints[0].Effect != "NoSchedule" {
		t.Errorf("taints = %+v", join.NodeRegistration.Taints)
	}
}
