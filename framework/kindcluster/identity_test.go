package kindcluster

import (
	"strings"
	"testing"

	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
)

func TestKubeletOnCgroupV1(t *testing.T) {
	cfg := &v1alpha4.Cluster{}
	if KubeletOnCgroupV1(cfg, "2") || len(cfg.KubeadmConfigPatches) != 0 {
		t.Errorf("cgroup v2 host: patches = %v", cfg.KubeadmConfigPatches)
	}
	if !KubeletOnCgroupV1(cfg, "1") || len(cfg.KubeadmConfigPatches) != 1 || !strings.Contains(cfg.KubeadmConfigPatches[0], "failCgroupV1: false") {
		t.Errorf("cgroup v1 host: patches = %v", cfg.KubeadmConfigPatches)
	}
	KubeletOnCgroupV1(cfg, "1")
	if len(cfg.KubeadmConfigPatches) != 1 {
		t.Errorf("applied twice: %v", cfg.KubeadmConfigPatches)
	}
	own := &v1alpha4.Cluster{KubeadmConfigPatches: []string{"kind: KubeletConfiguration\nfailCgroupV1: true\n"}}
	KubeletOnCgroupV1(own, "1")
	if len(own.KubeadmConfigPatches) != 1 {
		t.Errorf("the user's own failCgroupV1 patch was overridden: %v", own.KubeadmConfigPatches)
	}
}

func TestIdentity(t *testing.T) {
	small, err := ParseConfig("../../kind-configs/small.yaml")
	if err != nil {
		t.Fatal(err)
	}
	def, err := ParseConfig("../../kind-configs/default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	a, _ := identityOf("kind-configs/default.yaml", def, "img:1")
	b, _ := identityOf("kind-configs/small.yaml", small, "img:1")
	c, _ := identityOf("kind-configs/default.yaml", def, "img:2")
	a2, _ := identityOf("elsewhere/default.yaml", def, "img:1")
	if !a.Equal(a2) {
		t.Error("the same config at another path is the same cluster")
	}
	if a.Equal(b) || a.Equal(c) {
		t.Error("another config or image must not be reused")
	}
	if d := b.Differs(a); !strings.Contains(d, "kind config kind-configs/small.yaml") || strings.Contains(d, "node image") {
		t.Errorf("Differs = %q", d)
	}
	if d := c.Differs(a); d != "node image img:2" {
		t.Errorf("Differs = %q", d)
	}
	KubeletOnCgroupV1(def, "1")
	p, _ := identityOf("kind-configs/default.yaml", def, "img:1")
	if p.Equal(a) {
		t.Error("the cgroup v1 patch changes the effective config")
	}
}
