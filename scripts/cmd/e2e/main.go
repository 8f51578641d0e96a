// Command e2e runs the suite on this machine against the configured cluster and writes
// the report, also when the run is interrupted: `make e2e-run` (and so `make e2e`)
// call it through scripts/e2e-run.sh. It launches through scripts/internal/launch, as
// the suite image and the self-test do.
//
//   - Bad settings stop it before anything is built, with one line saying what to fix.
//   - Build noise (module downloads, compilation) goes to $ARTIFACTS/build.log.
//   - e2e.log is plain text ending with Ginkgo's `Ran N of M Specs` and SUCCESS!/FAIL!.
//   - SIGINT/SIGTERM reach Ginkgo's spec processes, which clean up; the report covers
//     what finished (INTERRUPTED). The exit code is Ginkgo's, 130 after SIGINT, 143
//     after SIGTERM.
//
// Settings: ARTIFACTS, NODE_IMAGE and WORKLOAD_IMAGE (else $ARTIFACTS/node-image and
// workload-image), the launcher's (launch.FromEnv) and the suite's (framework.Config).
package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/dsconform/dsconform/framework"
	"github.com/dsconform/dsconform/framework/kindcluster"
	"github.com/dsconform/dsconform/scripts/internal/launch"
)

func main() {
	code, err := run()
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
	}
	os.Exit(code)
}

func run() (int, error) {
	root, err := os.Getwd()
	if err != nil {
		return 1, err
	}
	results := os.Getenv("ARTIFACTS")
	if results == "" {
		return 2, fmt.Errorf("ARTIFACTS is not set: run it through 'make e2e-run', or set ARTIFACTS to the folder for logs and the report")
	}
	if err := os.MkdirAll(results, 0o755); err != nil {
		return 1, err
	}
	s, err := launch.FromEnv(os.Getenv, results)
	if err != nil {
		return 2, err
	}
	// The images `make images` chose, for the preflight here and for Ginkgo (which
	// inherits this environment).
	for _, v := range []string{"NODE_IMAGE", "WORKLOAD_IMAGE"} {
		if os.Getenv(v) != "" {
			continue
		}
		if data, err := os.ReadFile(filepath.Join(results, strings.ToLower(strings.ReplaceAll(v, "_", "-")))); err == nil {
			_ = os.Setenv(v, strings.TrimSpace(string(data)))
		}
	}
	if !s.DryRun { // a dry run touches no cluster
		if err := preflight(s.SuiteArgs); err != nil {
			return 1, err
		}
	}
	if err := build(filepath.Join(results, "build.log")); err != nil {
		return 1, err
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	res, err := launch.Run(launch.Input{Settings: s, Out: os.Stdout, Progress: true, Signals: sigs,
		Where: launch.OnHost(root, isTerminal(os.Stdout))})
	if res.Code > 128 {
		fmt.Fprintf(os.Stderr, "interrupted (exit %d); the report covers the specs that finished\n", res.Code)
	}
	if err != nil && res.Code == 0 {
		res.Code = 1
	}
	return res.Code, err
}

// preflight validates the suite's settings as the suite will read them: one line saying
// what is wrong (kind config, kubeconfig and its API server, Docker) and how to fix it.
func preflight(suiteArgs []string) error {
	var own []string // the suite's -e2e.* flags among E2E_EXTRA_ARGS
	for _, a := range suiteArgs {
		if strings.HasPrefix(strings.TrimLeft(a, "-"), "e2e.") {
			own = append(own, a)
		}
	}
	cfg, err := framework.ParseConfig("e2e", own)
	if err != nil {
		return fmt.Errorf("E2E_EXTRA_ARGS: %v", err)
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	if cfg.UseExistingCluster {
		_, err := framework.NewClients(cfg.Kubeconfig)
		return err
	}
	if _, err := kindcluster.ParseConfig(cfg.KindConfig); err != nil {
		return err
	}
	return kindcluster.CheckDocker()
}

// build compiles everything and the suite, so that module downloads and compiler output
// go to build.log and not into e2e.log; a failure shows the log's last lines.
func build(logPath string) error {
	log, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer log.Close()
	for _, args := range [][]string{{"build", "./..."}, {"test", "-c", "-o", os.DevNull, "./suites/e2e"}} {
		cmd := exec.Command("go", args...)
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Run(); err != nil {
			data, _ := os.ReadFile(logPath)
			lines := strings.Split(strings.TrimSpace(string(data)), "\n")
			return fmt.Errorf("the suite does not compile (see %s):\n%s", logPath, strings.Join(lines[max(0, len(lines)-5):], "\n"))
		}
	}
	return nil
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
