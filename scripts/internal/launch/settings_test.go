package launch

import (
	"strings"
	"testing"
)

func TestArgsKeepTheConformanceImageContract(t *testing.T) {
	image := Where{Ginkgo: []string{"/usr/local/bin/ginkgo"}, Suite: "/usr/local/bin/e2e.test", InCluster: true, ExistingCluster: true}
	host := Where{Ginkgo: []string{"go", "tool", "ginkgo"}, Suite: "./suites/e2e", Color: true}
	for _, tc := range []struct {
		name  string
		where Where
		env   map[string]string
		want  []string // substrings of the joined arguments, in order
		not   []string
		err   string
	}{
		{name: "defaults", where: image, want: []string{"--procs=3", "--json-report=ginkgo-report.json", "--output-dir=/r", "--no-color", "e2e.test -- -e2e.artifacts=/r", "-e2e.use-existing-cluster=true", "-e2e.kubeconfig=in-cluster"}, not: []string{"--focus", "-e2e.mode", "--junit-report"}},
		{name: "host", where: host, want: []string{"--procs=3", "./suites/e2e -- -e2e.artifacts=/r"}, not: []string{"--no-color", "use-existing-cluster", "in-cluster"}},
		{name: "parallel off", where: image, env: map[string]string{"E2E_PARALLEL": "n"}, want: []string{"--procs=1"}},
		{name: "parallel y", where: image, env: map[string]string{"E2E_PARALLEL": "y"}, want: []string{"--procs=3"}},
		{name: "parallel 2 (make PROCS=2)", where: host, env: map[string]string{"E2E_PARALLEL": "2"}, want: []string{"--procs=2"}},
		{name: "hydrophone -p 4", where: image, env: map[string]string{"E2E_EXTRA_GINKGO_ARGS": "--procs=4 -v"}, want: []string{"--procs=3", "--procs=4 -v /usr/local/bin/e2e.test"}},
		{name: "a mode as focus", where: image, env: map[string]string{"E2E_FOCUS": "quick"}, want: []string{"-e2e.mode=quick"}, not: []string{"--focus"}},
		{name: "hydrophone --conformance", where: image, env: map[string]string{"E2E_FOCUS": `\[Conformance\]`}, want: []string{"-e2e.mode=non-disruptive"}, not: []string{"--focus"}},
		{name: "a regex focus", where: image, env: map[string]string{"E2E_FOCUS": "DaemonSet placement", "E2E_SKIP": "Serial"}, want: []string{"--focus=DaemonSet placement", "--skip=Serial"}},
		{name: "a label filter", where: host, env: map[string]string{"E2E_LABEL_FILTER": "taints && !disruptive"}, want: []string{"--label-filter=taints && !disruptive"}},
		{name: "dry run", where: image, env: map[string]string{"E2E_DRYRUN": "true", "E2E_EXTRA_GINKGO_ARGS": "--procs=3 -v"}, want: []string{"--procs=1", "--dry-run", "-v /usr/local/bin/e2e.test", "-e2e.dry-run=true"}, not: []string{"--procs=3"}},
		{name: "extra args", where: image, env: map[string]string{"E2E_EXTRA_ARGS": "-e2e.timeout-scale=2,-e2e.allow-node-changes=true", "E2E_EXTRA_ARGS_SEP": ","}, want: []string{"-e2e.timeout-scale=2 -e2e.allow-node-changes=true"}},
		{name: "bad parallel", env: map[string]string{"E2E_PARALLEL": "lots"}, err: "E2E_PARALLEL"},
		{name: "bad mode", env: map[string]string{"E2E_MODE": "fast"}, err: "E2E_MODE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := FromEnv(func(k string) string { return tc.env[k] }, "/r")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			joined := strings.Join(s.Args(tc.where), " ")
			at := 0
			for _, w := range tc.want {
				i := strings.Index(joined[at:], w)
				if i < 0 {
					t.Fatalf("%q: want %q (in order)", joined, w)
				}
				at += i
			}
			for _, n := range tc.not {
				if strings.Contains(joined, n) {
					t.Errorf("%q should not contain %q", joined, n)
				}
			}
		})
	}
}
