package framework

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigPrecedence(t *testing.T) {
	t.Setenv("ARTIFACTS", "/from/env")
	t.Setenv("E2E_KEEP_CLUSTER", "true")
	t.Setenv("E2E_TIMEOUT_SCALE", "2")
	c := &Config{}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	if err := c.RegisterFlags(fs); err != nil {
		t.Fatal(err)
	}
	if err := fs.Parse([]string{"-e2e.artifacts=/from/flag"}); err != nil {
		t.Fatal(err)
	}
	if c.Artifacts != "/from/flag" {
		t.Errorf("flag should win over env: Artifacts=%q", c.Artifacts)
	}
	if !c.KeepCluster {
		t.Error("env E2E_KEEP_CLUSTER=true should set KeepCluster")
	}
	if c.ClusterName != "dsconform" {
		t.Errorf("default ClusterName = %q", c.ClusterName)
	}
	if got := c.Timeouts().Medium.Minutes(); got != 4 {
		t.Errorf("scaled Medium = %vm, want 4m", got)
	}
	if c.Timeouts().Poll.Milliseconds()%5000 == 0 {
		t.Error("poll interval must not be a multiple of 5s (node status period)")
	}
}

func TestConfigBadEnvironment(t *testing.T) {
	for env, val := range map[string]string{"E2E_KEEP_CLUSTER": "yes please", "E2E_TIMEOUT_SCALE": "-1"} {
		t.Run(env, func(t *testing.T) {
			t.Setenv(env, val)
			err := (&Config{}).RegisterFlags(flag.NewFlagSet("t", flag.ContinueOnError))
			if err == nil || !strings.Contains(err.Error(), env) {
				t.Fatalf("want an error naming %s, got %v", env, err)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	dir := t.TempDir()
	kc := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kc, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"existing cluster without kubeconfig", Config{UseExistingCluster: true, TimeoutScale: 1}, "needs a kubeconfig"},
		{"existing cluster with missing kubeconfig", Config{UseExistingCluster: true, Kubeconfig: "/nope", TimeoutScale: 1}, "cannot be read"},
		{"existing cluster ok", Config{UseExistingCluster: true, Kubeconfig: kc, TimeoutScale: 1}, ""},
		{"missing kind config", Config{KindConfig: "/nope.yaml", TimeoutScale: 1}, "kind config /nope.yaml cannot be read"},
		{"new cluster ok", Config{KindConfig: kc, TimeoutScale: 1}, ""},
		{"unknown node access", Config{KindConfig: kc, TimeoutScale: 1, NodeAccess: "ssh"}, `E2E_NODE_ACCESS="ssh": want kind`},
		{"agent node access", Config{KindConfig: kc, TimeoutScale: 1, NodeAccess: "agent"}, ""},
		{"not kind needs an existing cluster", Config{KindConfig: kc, TimeoutScale: 1, NotKind: true}, "set E2E_USE_EXISTING_CLUSTER=true"},
		{"not kind, agent, existing cluster", Config{UseExistingCluster: true, Kubeconfig: kc, TimeoutScale: 1, NotKind: true, NodeAccess: "agent"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("Validate() = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestModes(t *testing.T) {
	if _, _, err := LookupMode("fast"); err == nil || !strings.Contains(err.Error(), "certified, non-disruptive, quick") {
		t.Errorf("an unknown mode should be refused naming the modes: %v", err)
	}
	for _, tc := range []struct {
		mode, allow string
		isKind      bool
		want        bool
	}{
		{"", "false", true, true}, {"", "false", false, false}, {"", "true", false, true},
		{"quick", "true", true, false}, {"non-disruptive", "true", true, false},
		{"certified", "false", false, true},
	} {
		c := Config{Mode: tc.mode, AllowNodeChanges: tc.allow == "true"}
		if got := c.NodeChangesAllowed(tc.isKind); got != tc.want {
			t.Errorf("mode %q, allow %s, kind %v: node changes allowed = %v, want %v", tc.mode, tc.allow, tc.isKind, got, tc.want)
		}
	}
	if got := CombineLabelFilters("", "quick", "!disruptive"); got != "(quick) && (!disruptive)" {
		t.Errorf("CombineLabelFilters = %q", got)
	}
}
