package main

import (
	"strings"
	"testing"
)

func TestGinkgoArgsKeepTheConformanceImageContract(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want []string // substrings of the joined arguments, in order
		not  []string
		err  string
	}{
		{name: "defaults", env: nil, want: []string{"--procs=3", "--junit-report=junit_01.xml", "--output-dir=/r", "e2e.test -- -e2e.artifacts=/r", "-e2e.kubeconfig=in-cluster"}, not: []string{"--focus", "-e2e.mode"}},
		{name: "parallel off", env: map[string]string{"E2E_PARALLEL": "n"}, want: []string{"--procs=1"}},
		{name: "parallel y", env: map[string]string{"E2E_PARALLEL": "y"}, want: []string{"--procs=3"}},
		{name: "hydrophone -p 4", env: map[string]string{"E2E_EXTRA_GINKGO_ARGS": "--procs=4 -v"}, want: []string{"--procs=3", "--procs=4 -v /usr/local/bin/e2e.test"}},
		{name: "a mode as focus", env: map[string]string{"E2E_FOCUS": "quick"}, want: []string{"-e2e.mode=quick"}, not: []string{"--focus"}},
		{name: "hydrophone --conformance", env: map[string]string{"E2E_FOCUS": `\[Conformance\]`}, want: []string{"-e2e.mode=non-disruptive"}, not: []string{"--focus"}},
		{name: "a regex focus", env: map[string]string{"E2E_FOCUS": "DaemonSet placement", "E2E_SKIP": "Serial"}, want: []string{"--focus=DaemonSet placement", "--skip=Serial"}},
		{name: "dry run", env: map[string]string{"E2E_DRYRUN": "true", "E2E_EXTRA_GINKGO_ARGS": "--procs=3 -v"}, want: []string{"--procs=1", "--dry-run", "-v /usr/local/bin/e2e.test", "-e2e.dry-run=true"}, not: []string{"--procs=3"}},
		{name: "extra args", env: map[string]string{"E2E_EXTRA_ARGS": "-e2e.timeout-scale=2,-e2e.allow-node-changes=true", "E2E_EXTRA_ARGS_SEP": ","}, want: []string{"-e2e.timeout-scale=2 -e2e.allow-node-changes=true"}},
		{name: "bad parallel", env: map[string]string{"E2E_PARALLEL": "lots"}, err: "E2E_PARALLEL"},
		{name: "bad mode", env: map[string]string{"E2E_MODE": "fast"}, err: "E2E_MODE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args, err := ginkgoArgs("/r", func(k string) string { return tc.env[k] }, true)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			joined := strings.Join(args, " ")
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
