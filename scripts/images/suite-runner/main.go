// Command suite-runner is the entrypoint of the suite image (make suite-image): it runs
// the compiled suite inside the cluster with the pod's own credentials and keeps the
// upstream conformance image's contract, so that the runners certifiers use (Hydrophone,
// Sonobuoy, a plain Job) drive it unchanged.
//
//	suite-runner run        run the suite (through the ginkgo CLI) and write to $RESULTS_DIR
//	                        (/tmp/results): e2e.log (plain text, ending with Ginkgo's `Ran N
//	                        of M Specs` and SUCCESS!/FAIL! lines), junit_01.xml, report.json/
//	                        html, summary.md, then e2e.tar.gz and, last, a `done` file naming
//	                        it. Its exit code is the run's. With E2E_WAIT_FOR_COLLECTION=true it
//	                        then waits (up to 15 min) for `suite-runner collected`.
//	suite-runner done       print the done file's content; exit 1 while the run goes on
//	suite-runner progress   print the last finished spec line
//	suite-runner tarball    write the results tarball to stdout
//	suite-runner collected  let a waiting `run` exit
//	suite-runner stop       interrupt the run: its specs clean up, and the results of what
//	                        finished are still written (also what SIGTERM to `run` does)
//
// The upstream contract: RESULTS_DIR, E2E_FOCUS and E2E_SKIP (regular expressions on spec
// text), E2E_PARALLEL (y/true: parallel, the default; n/false: one process; a number: that
// many processes), E2E_DRYRUN, E2E_EXTRA_ARGS (for the suite binary, split on
// E2E_EXTRA_ARGS_SEP, a space by default) and E2E_EXTRA_GINKGO_ARGS (for Ginkgo, e.g.
// --procs=4, which Hydrophone's -p sends). A named mode (quick, non-disruptive, certified)
// is chosen with E2E_MODE or by giving its name as E2E_FOCUS (hydrophone --focus quick);
// E2E_FOCUS=\[Conformance\] (hydrophone --conformance) runs the non-disruptive mode.
// The suite's own settings: E2E_LABEL_FILTER and every E2E_* of framework/config.go.
// Inside a cluster, E2E_NOT_KIND=true and E2E_NODE_ACCESS=agent are the defaults, and
// the image knows its workload image (WORKLOAD_IMAGE, set when it was built).
package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/dsconform/dsconform/scripts/internal/launch"
	"github.com/dsconform/dsconform/scripts/internal/tarball"
)

const resultsTarball = "e2e.tar.gz"

func main() {
	res := env("RESULTS_DIR", "/tmp/results")
	if len(os.Args) != 2 {
		fail("usage: suite-runner run|done|progress|tarball|collected|stop")
	}
	switch os.Args[1] {
	case "run":
		os.Exit(run(res))
	case "done":
		data, err := os.ReadFile(filepath.Join(res, "done"))
		if err != nil {
			os.Exit(1)
		}
		fmt.Println(strings.TrimSpace(string(data)))
	case "progress":
		data, _ := os.ReadFile(filepath.Join(res, "progress.log"))
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		fmt.Println(lines[len(lines)-1])
	case "tarball":
		f, err := os.Open(filepath.Join(res, resultsTarball))
		if err != nil {
			fail(err.Error())
		}
		_, _ = io.Copy(os.Stdout, f)
	case "collected":
		if err := os.WriteFile(filepath.Join(res, "collected"), nil, 0o644); err != nil {
			fail(err.Error())
		}
	case "stop":
		// `run` is the container's first process; it passes the signal on to Ginkgo.
		if err := syscall.Kill(1, syscall.SIGTERM); err != nil {
			fail("stopping the run (process 1): " + err.Error())
		}
	default:
		fail("unknown command " + os.Args[1])
	}
}

func run(res string) int {
	if err := os.MkdirAll(res, 0o755); err != nil {
		fail(err.Error())
	}
	s, err := launch.FromEnv(os.Getenv, res)
	if err != nil {
		fail(err.Error())
	}
	inCluster := os.Getenv("KUBERNETES_SERVICE_HOST") != "" && os.Getenv("KUBECONFIG") == ""
	if inCluster {
		// inside a cluster: certify it as any cluster, reaching nodes through agent pods
		for k, v := range map[string]string{"E2E_NOT_KIND": "true", "E2E_NODE_ACCESS": "agent"} {
			if os.Getenv(k) == "" {
				_ = os.Setenv(k, v)
			}
		}
	}
	where := launch.Where{Ginkgo: []string{"/usr/local/bin/ginkgo"}, Suite: "/usr/local/bin/e2e.test", Dir: "/",
		InCluster: inCluster, ExistingCluster: true}
	say("running: ginkgo %s", strings.Join(s.Args(where), " "))
	// SIGTERM or SIGINT (the pod deleted, `suite-runner stop`) goes on to Ginkgo's spec
	// processes: they interrupt their specs and clean up; what finished is reported.
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	r, err := launch.Run(launch.Input{Settings: s, Where: where, Out: os.Stdout, Signals: signals})
	if err != nil {
		say("%v", err)
	}
	code := r.Code
	if err := tarball.Pack(res, resultsTarball, "done"); err != nil {
		fail("packing the results: " + err.Error())
	}
	if err := os.WriteFile(filepath.Join(res, "done"), []byte(filepath.Join(res, resultsTarball)), 0o644); err != nil {
		fail(err.Error())
	}
	say("results in %s (exit %d)", filepath.Join(res, resultsTarball), code)
	if env("E2E_WAIT_FOR_COLLECTION", "false") == "true" {
		waitForCollection(filepath.Join(res, "collected"), 15*time.Minute)
	}
	return code
}

// waitForCollection waits until the launcher that copies the results says it has them
// (`suite-runner collected`), at most limit.
func waitForCollection(marker string, limit time.Duration) {
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	deadline := time.After(limit)
	for {
		if _, err := os.Stat(marker); err == nil {
			return
		}
		select {
		case <-deadline:
			say("nobody collected the results within %v", limit)
			return
		case <-tick.C:
		}
	}
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func say(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[suite-runner %s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "error:", msg)
	os.Exit(1)
}
