package kindcluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, f := range []string{"../../kind-configs/default.yaml", "../../kind-configs/small.yaml"} {
		if _, err := ParseConfig(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	cfg, err := ParseConfig("../../kind-configs/default.yaml")
	if err != nil || len(cfg.Nodes) != 4 {
		t.Fatalf("default topology: %v nodes, err %v; want 1 control plane + 3 workers", len(cfg.Nodes), err)
	}
	cases := map[string]string{
		write("typo.yaml", "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodez: []\n"):  "does not parse",
		write("kind.yaml", "kind: Pod\napiVersion: v1\n"):                                     "want kind: Cluster",
		write("broken.yaml", "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes: [\n"): "does not parse",
		filepath.Join(dir, "missing.yaml"):                                                    "cannot be read",
	}
	for path, want := range cases {
		if _, err := ParseConfig(path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want one containing %q", filepath.Base(path), err, want)
		}
	}
}
