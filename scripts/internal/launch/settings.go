// Package launch is the suite's one launcher: it turns the run's settings into the
// ginkgo CLI's arguments, runs Ginkgo in a process group of its own (so that SIGINT and
// SIGTERM reach the spec processes, which interrupt their specs and clean up), keeps the
// raw output, and afterwards writes the plain e2e.log and the report, also when the run
// was interrupted. `make e2e-run` (scripts/cmd/e2e), the suite image's entrypoint
// (scripts/images/suite-runner) and the self-test (scripts/cmd/selftest) all launch
// through it.
package launch

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/dsconform/dsconform/framework"
)

// ConformanceFocus is what `hydrophone --conformance` sends as E2E_FOCUS.
const ConformanceFocus = `\[Conformance\]`

// Settings are one run's choices. Every entry point reads them from the same variables:
// the upstream conformance image's contract (RESULTS_DIR, E2E_FOCUS, E2E_SKIP,
// E2E_PARALLEL, E2E_DRYRUN, E2E_EXTRA_ARGS(_SEP), E2E_EXTRA_GINKGO_ARGS) and the suite's
// own (E2E_MODE, E2E_LABEL_FILTER, E2E_GINKGO_TIMEOUT). The Makefile maps its short
// names (PROCS, LABEL_FILTER, GINKGO_TIMEOUT, GINKGO_ARGS, E2E_ARGS, MODE) onto them.
type Settings struct {
	Results     string // the artifacts folder: logs, Ginkgo's JSON, the report
	Procs       int
	Timeout     string // Ginkgo's --timeout
	LabelFilter string
	Focus, Skip string // regular expressions on spec text
	Mode        string // quick, non-disruptive, certified (framework/modes.go)
	DryRun      bool
	ExtraGinkgo []string // later flags win: --procs=4 from Hydrophone's -p 4
	SuiteArgs   []string // for the suite binary, after "--"
}

// FromEnv reads the settings through getenv; results is the artifacts folder.
func FromEnv(getenv func(string) string, results string) (Settings, error) {
	s := Settings{Results: results, Procs: 3, Timeout: or(getenv("E2E_GINKGO_TIMEOUT"), "80m"),
		LabelFilter: getenv("E2E_LABEL_FILTER"), Skip: getenv("E2E_SKIP"), Mode: getenv("E2E_MODE"),
		DryRun: strings.EqualFold(getenv("E2E_DRYRUN"), "true") || getenv("E2E_DRYRUN") == "1"}
	switch p := strings.ToLower(strings.TrimSpace(getenv("E2E_PARALLEL"))); p {
	case "", "y", "yes", "true":
	case "n", "no", "false":
		s.Procs = 1
	default:
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			return s, fmt.Errorf("E2E_PARALLEL=%q: want y/true (parallel), n/false (one process) or a number of processes", p)
		}
		s.Procs = n
	}
	// A named mode may come as the focus (hydrophone --focus quick); upstream's
	// conformance focus selects the mode that changes no node.
	s.Focus = getenv("E2E_FOCUS")
	if _, isMode, _ := framework.LookupMode(s.Focus); isMode {
		s.Focus, s.Mode = "", s.Focus
	} else if s.Focus == ConformanceFocus {
		s.Focus, s.Mode = "", or(s.Mode, "non-disruptive")
	}
	if _, _, err := framework.LookupMode(s.Mode); err != nil {
		return s, err
	}
	s.ExtraGinkgo = strings.Fields(getenv("E2E_EXTRA_GINKGO_ARGS"))
	if extra := getenv("E2E_EXTRA_ARGS"); strings.TrimSpace(extra) != "" {
		for _, a := range strings.Split(extra, or(getenv("E2E_EXTRA_ARGS_SEP"), " ")) {
			if a = strings.TrimSpace(a); a != "" {
				s.SuiteArgs = append(s.SuiteArgs, a)
			}
		}
	}
	return s, nil
}

// Where says how Ginkgo and the suite are found, and what differs between the host and
// the suite image.
type Where struct {
	Ginkgo []string // the ginkgo CLI: {"go", "tool", "ginkgo"} on the host
	Suite  string   // the suite: "./suites/e2e" (compiled by Ginkgo) or a compiled e2e.test
	Dir    string   // working directory
	Color  bool     // colour on a terminal
	// InCluster: the suite uses the pod's own credentials against an existing cluster.
	InCluster bool
	// ExistingCluster: the suite never creates a cluster (the suite image).
	ExistingCluster bool
}

// OnHost is where Ginkgo and the suite are in a checkout at root: Ginkgo from the
// module's tools, the suite compiled from source.
func OnHost(root string, color bool) Where {
	return Where{Ginkgo: []string{"go", "tool", "ginkgo"}, Suite: "./suites/e2e", Dir: root, Color: color}
}

// Args is the ginkgo CLI's arguments (after the command itself), the suite's after "--".
func (s Settings) Args(w Where) []string {
	procs := s.Procs
	if s.DryRun {
		procs = 1 // Ginkgo lists specs only in one process
	}
	args := []string{fmt.Sprintf("--procs=%d", procs), "--timeout=" + s.Timeout,
		"--output-interceptor-mode=none", "--poll-progress-after=3m", "--show-node-events",
		"--json-report=ginkgo-report.json", "--output-dir=" + s.Results}
	if !w.Color {
		args = append(args, "--no-color")
	}
	for _, f := range []struct{ flag, v string }{{"--label-filter", s.LabelFilter}, {"--focus", s.Focus}, {"--skip", s.Skip}} {
		if f.v != "" {
			args = append(args, f.flag+"="+f.v)
		}
	}
	if s.DryRun {
		args = append(args, "--dry-run")
	}
	for _, a := range s.ExtraGinkgo {
		if s.DryRun && (strings.HasPrefix(a, "--procs") || strings.HasPrefix(a, "-procs") || a == "-p" || strings.HasPrefix(a, "--nodes")) {
			continue
		}
		args = append(args, a)
	}
	args = append(args, w.Suite, "--", "-e2e.artifacts="+s.Results)
	if w.ExistingCluster {
		args = append(args, "-e2e.use-existing-cluster=true")
	}
	if s.Mode != "" {
		args = append(args, "-e2e.mode="+s.Mode)
	}
	if s.DryRun {
		args = append(args, "-e2e.dry-run=true")
	}
	if w.InCluster {
		args = append(args, "-e2e.kubeconfig=in-cluster")
	}
	return append(args, s.SuiteArgs...)
}

func or(v, def string) string {
	if v != "" {
		return v
	}
	return def
}
