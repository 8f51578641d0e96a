package kindcluster

import (
	"os"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// joinDoc is the part of a JoinConfiguration the rewrite touches, in either API version.
type joinDoc struct {
	Kind      string `json:"kind"`
	Discovery struct {
		BootstrapToken struct{ Token string } `json:"bootstrapToken"`
	} `json:"discovery"`
	NodeRegistration struct {
		CRISocket        string                                `json:"criSocket"`
		KubeletExtraArgs any                                   `json:"kubeletExtraArgs"`
		Taints           []struct{ Key, Value, Effect string } `json:"taints"`
	} `json:"nodeRegistration"`
}

// extraArgs flattens v1beta3's map and v1beta4's list of {name, value}.
func (j joinDoc) extraArgs(t *testing.T) map[string]string {
	out := map[string]string{}
	switch a := j.NodeRegistration.KubeletExtraArgs.(type) {
	case map[string]any:
		for k, v := range a {
			out[k] = v.(string)
		}
	case []any:
		for _, e := range a {
			m := e.(map[string]any)
			if _, dup := out[m["name"].(string)]; dup {
				t.Errorf("kubeletExtraArgs names %s twice", m["name"])
			}
			out[m["name"].(string)] = m["value"].(string)
		}
	default:
		t.Fatalf("kubeletExtraArgs is a %T", a)
	}
	return out
}

func TestJoinConfigFor(t *testing.T) {
	for _, tc := range []struct{ file, apiVersion string }{
		{"testdata/worker-kubeadm-v1beta3.conf", "kubeadm.k8s.io/v1beta3"},
		{"testdata/worker-kubeadm-v1beta4.conf", "kubeadm.k8s.io/v1beta4"},
	} {
		t.Run(tc.apiVersion, func(t *testing.T) {
			raw, err := os.ReadFile(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			in := AddWorkerInput{Name: "dsconform-e2e-1", Taints: []string{"dsconform.e2e/new=yes:NoSchedule"}, Labels: []string{"a=b", "c=d"}}
			got, err := joinConfigFor(string(raw), "dsconform-worker", in, "172.18.0.9", "tok123.abcdefabcdefabcd", "dsconform")
			if err != nil {
				t.Fatal(err)
			}
			var join joinDoc
			var kubelet string
			for _, doc := range strings.Split(got, "\n---\n") {
				switch {
				case strings.Contains(doc, "kind: JoinConfiguration"):
					if !strings.Contains(doc, "apiVersion: "+tc.apiVersion) {
						t.Errorf("JoinConfiguration changed API version:\n%s", doc)
					}
					if err := yaml.Unmarshal([]byte(doc), &join); err != nil {
						t.Fatalf("JoinConfiguration does not parse: %v\n%s", err, doc)
					}
					if strings.Contains(doc, "172.18.0.5") || strings.Contains(doc, "dsconform/dsconform-worker") {
						t.Errorf("the template node's IP or provider ID survived:\n%s", doc)
					}
				case strings.Contains(doc, "kind: KubeletConfiguration"):
					kubelet = doc
				}
			}
			if join.Kind != "JoinConfiguration" || join.NodeRegistration.CRISocket == "" {
				t.Fatalf("JoinConfiguration lost its nodeRegistration: %+v", join)
			}
			if join.Discovery.BootstrapToken.Token != "tok123.abcdefabcdefabcd" {
				t.Errorf("token = %q", join.Discovery.BootstrapToken.Token)
			}
			args := join.extraArgs(t)
			want := map[string]string{"node-ip": "172.18.0.9", "provider-id": "kind://docker/dsconform/dsconform-e2e-1", "node-labels": "a=b,c=d"}
			for k, v := range want {
				if args[k] != v {
					t.Errorf("kubeletExtraArgs[%s] = %q, want %q", k, args[k], v)
				}
			}
			if len(join.NodeRegistration.Taints) != 1 || join.NodeRegistration.Taints[0].Key != "dsconform.e2e/new" || join.NodeRegistration.Taints[0].Effect != "NoSchedule" {
				t.Errorf("taints = %+v", join.NodeRegistration.Taints)
			}
			if strings.Contains(string(raw), "failCgroupV1") && !strings.Contains(kubelet, "failCgroupV1: false") {
				t.Errorf("the KubeletConfiguration lost failCgroupV1: false:\n%s", kubelet)
			}
		})
	}
}

func TestJoinConfigForRejects(t *testing.T) {
	if _, err := joinConfigFor("apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\n", "w", AddWorkerInput{}, "", "", "c"); err == nil || !strings.Contains(err.Error(), "no JoinConfiguration") {
		t.Errorf("config without a JoinConfiguration: err = %v", err)
	}
	bad := "kind: JoinConfiguration\ndiscovery:\n  bootstrapToken:\n    token: x\nnodeRegistration:\n  kubeletExtraArgs: 3\n"
	if _, err := joinConfigFor(bad, "w", AddWorkerInput{}, "", "", "c"); err == nil || !strings.Contains(err.Error(), "neither") {
		t.Errorf("kubeletExtraArgs of another type: err = %v", err)
	}
}

// A joined node copies a worker's configuration but registers with only what it asks
// for: the tainted, labelled worker's taint and label must not carry over.
func TestJoinConfigForDropsTheCopiedWorkersTaintsAndLabels(t *testing.T) {
	raw, err := os.ReadFile("testdata/worker-kubeadm-v1beta4-tainted.conf")
	if err != nil {
		t.Fatal(err)
	}
	in := AddWorkerInput{Name: "dsconform-e2e-1", Run: "r1", Labels: []string{"dsconform.e2e/joined-by=r1"}}
	got, err := joinConfigFor(string(raw), "dsconform-worker2", in, "172.18.0.9", "tok", "dsconform")
	if err != nil {
		t.Fatal(err)
	}
	var join joinDoc
	for _, doc := range strings.Split(got, "\n---\n") {
		if strings.Contains(doc, "kind: JoinConfiguration") {
			if err := yaml.Unmarshal([]byte(doc), &join); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(doc, "taints: []") {
				t.Errorf("the join must say taints: [] (an absent field would not clear the copied worker's):\n%s", doc)
			}
		}
	}
	if len(join.NodeRegistration.Taints) != 0 {
		t.Errorf("taints = %+v, want none: the copied worker's edge-only taint carried over", join.NodeRegistration.Taints)
	}
	if l := join.extraArgs(t)["node-labels"]; l != "dsconform.e2e/joined-by=r1" {
		t.Errorf("node-labels = %q, want only the stamp (the worker's team=edge carried over?)", l)
	}
}
