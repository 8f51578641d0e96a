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
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/dsconform/dsconform/framework/report"
	"github.com/dsconform/dsconform/suites/requirements"
)

const tarball = "e2e.tar.gz"

func main() {
	res := env("RESULTS_DIR", env("E2E_RESULTS_DIR", "/tmp/results"))
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
		f, err := os.Open(filepath.Join(res, tarball))
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
	args, err := ginkgoArgs(res, os.Getenv, os.Getenv("KUBECONFIG") == "")
	if err != nil {
		fail(err.Error())
	}
	if os.Getenv("KUBERNETES_SERVICE_HOST") != "" && os.Getenv("KUBECONFIG") == "" {
		// inside a cluster: certify it as any cluster, reaching nodes through agent pods
		for k, v := range map[string]string{"E2E_NOT_KIND": "true", "E2E_NODE_ACCESS": "agent"} {
			if os.Getenv(k) == "" {
				_ = os.Setenv(k, v)
			}
		}
	}
	say("running: ginkgo %s", strings.Join(args, " "))
	start := time.Now()
	raw, err := os.Create(filepath.Join(res, "e2e.raw.log"))
	if err != nil {
		fail(err.Error())
	}
	cmd := exec.Command("/usr/local/bin/ginkgo", args...)
	cmd.Dir = "/"
	out := io.MultiWriter(os.Stdout, raw)
	cmd.Stdout, cmd.Stderr = out, out
	// SIGTERM or SIGINT (the pod deleted, `suite-runner stop`) goes on to Ginkgo's whole
	// process group: the spec processes interrupt their specs and clean up, the CLI waits
	// for them and writes the reports. (Signalling the CLI alone interrupts nothing: it
	// expects the spec processes to get the signal too, as they do from a terminal.)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		for sig := range signals {
			say("%v: interrupting the specs (they clean up first)", sig)
			if cmd.Process != nil {
				_ = syscall.Kill(-cmd.Process.Pid, sig.(syscall.Signal))
			}
		}
	}()
	code := 0
	if err := cmd.Run(); err != nil {
		code = 1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
	}
	raw.Close()
	if err := report.WritePlainLog(res); err != nil {
		say("e2e.log: %v", err)
	}
	_ = os.WriteFile(filepath.Join(res, "timings.txt"), []byte(fmt.Sprintf("suite %.0f\n", time.Since(start).Seconds())), 0o644)
	if r, err := report.RenderDir(res, requirements.All()); err != nil {
		say("report: %v", err)
	} else {
		say("report: %s", r.Headline)
	}
	if err := pack(res); err != nil {
		fail("packing the results: " + err.Error())
	}
	if err := os.WriteFile(filepath.Join(res, "done"), []byte(filepath.Join(res, tarball)), 0o644); err != nil {
		fail(err.Error())
	}
	say("results in %s (exit %d)", filepath.Join(res, tarball), code)
	if env("E2E_WAIT_FOR_COLLECTION", "false") == "true" {
		deadline := time.Now().Add(15 * time.Minute)
		for time.Now().Before(deadline) {
			if _, err := os.Stat(filepath.Join(res, "collected")); err == nil {
				break
			}
			time.Sleep(2 * time.Second)
		}
	}
	return code
}

func pack(dir string) error {
	f, err := os.Create(filepath.Join(dir, tarball+".tmp"))
	if err != nil {
		return err
	}
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	err = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || strings.HasPrefix(info.Name(), tarball) || info.Name() == "done" {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		hdr, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		hdr.Name = rel
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		src, err := os.Open(p)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(tw, src)
		return err
	})
	for _, c := range []io.Closer{tw, gz, f} {
		if cerr := c.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return err
	}
	return os.Rename(filepath.Join(dir, tarball+".tmp"), filepath.Join(dir, tarball))
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
