package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/dsconform/dsconform/framework"
)

// conformanceFocus is what `hydrophone --conformance` sends as E2E_FOCUS.
const conformanceFocus = `\[Conformance\]`

// ginkgoArgs turns the conformance image's settings (read through getenv) into the ginkgo
// CLI's arguments, the suite binary's after "--".
func ginkgoArgs(res string, getenv func(string) string, inCluster bool) ([]string, error) {
	dry := strings.EqualFold(getenv("E2E_DRYRUN"), "true") || getenv("E2E_DRYRUN") == "1"
	procs := "3"
	switch p := strings.ToLower(strings.TrimSpace(getenv("E2E_PARALLEL"))); p {
	case "", "y", "yes", "true":
	case "n", "no", "false":
		procs = "1"
	default:
		if n, err := strconv.Atoi(p); err != nil || n < 1 {
			return nil, fmt.Errorf("E2E_PARALLEL=%q: want y/true (parallel), n/false (one process) or a number of processes", p)
		}
		procs = p
	}
	args := []string{"--procs=" + procs, "--no-color", "--timeout=" + or(getenv("E2E_GINKGO_TIMEOUT"), "80m"),
		"--output-interceptor-mode=none", "--poll-progress-after=3m",
		"--json-report=ginkgo-report.json", "--junit-report=junit_01.xml", "--output-dir=" + res}
	focus, mode := getenv("E2E_FOCUS"), getenv("E2E_MODE")
	if _, isMode, _ := framework.LookupMode(focus); isMode {
		focus, mode = "", focus
	} else if focus == conformanceFocus {
		focus, mode = "", or(mode, "non-disruptive")
	}
	if _, _, err := framework.LookupMode(mode); err != nil {
		return nil, err
	}
	for _, f := range []struct{ flag, v string }{{"--label-filter", getenv("E2E_LABEL_FILTER")}, {"--focus", focus}, {"--skip", getenv("E2E_SKIP")}} {
		if f.v != "" {
			args = append(args, f.flag+"="+f.v)
		}
	}
	if dry {
		args[0] = "--procs=1" // Ginkgo lists specs only in one process
		args = append(args, "--dry-run")
	}
	for _, a := range strings.Fields(getenv("E2E_EXTRA_GINKGO_ARGS")) { // later flags win
		if dry && (strings.HasPrefix(a, "--procs") || strings.HasPrefix(a, "-procs") || a == "-p" || strings.HasPrefix(a, "--nodes")) {
			continue // Ginkgo lists specs only in one process
		}
		args = append(args, a)
	}
	args = append(args, "/usr/local/bin/e2e.test", "--", "-e2e.artifacts="+res, "-e2e.use-existing-cluster=true")
	if mode != "" {
		args = append(args, "-e2e.mode="+mode)
	}
	if dry {
		args = append(args, "-e2e.dry-run=true")
	}
	if inCluster {
		args = append(args, "-e2e.kubeconfig=in-cluster")
	}
	if extra := getenv("E2E_EXTRA_ARGS"); strings.TrimSpace(extra) != "" {
		for _, a := range strings.Split(extra, or(getenv("E2E_EXTRA_ARGS_SEP"), " ")) {
			if a = strings.TrimSpace(a); a != "" {
				args = append(args, a)
			}
		}
	}
	return args, nil
}

func or(v, def string) string {
	if v != "" {
		return v
	}
	return def
}
