// Command suite-runner is the entrypoint of the suite image (make suite-image): it runs
// the compiled suite inside the cluster with the pod's own credentials and leaves its
// results where in-cluster runners look for them, as the upstream conformance image does.
//
//	suite-runner run        run the suite (parallel, through the ginkgo CLI) and write to
//	                        $E2E_RESULTS_DIR (/tmp/results): e2e.log (plain text, ending with
//	                        Ginkgo's `Ran N of M Specs` and SUCCESS!/FAIL! lines), junit_01.xml,
//	                        report.json/html, summary.md, then dsconform-results.tar.gz and a
//	                        `done` file naming it. With E2E_WAIT_FOR_COLLECTION=true it then
//	                        waits (up to 15 min) for `suite-runner collected` before exiting.
//	suite-runner done       print the done file's content; exit 1 while the run goes on
//	suite-runner progress   print the last finished spec line
//	suite-runner tarball    write the results tarball to stdout
//	suite-runner collected  let a waiting `run` exit
//	suite-runner stop       interrupt the run: its specs clean up, and the results of what
//	                        finished are still written (also what SIGTERM to `run` does, so
//	                        deleting the pod within its grace period stops the run cleanly)
//
// Settings: E2E_FOCUS and E2E_SKIP (regular expressions on spec text, as upstream),
// E2E_LABEL_FILTER (the suite's labels and requirement IDs), E2E_PARALLEL (processes,
// default 3), and every E2E_* setting of the suite itself (framework/config.go).
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

const tarball = "dsconform-results.tar.gz"

func main() {
	res := env("E2E_RESULTS_DIR", "/tmp/results")
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
	args := []string{"--procs=" + env("E2E_PARALLEL", "3"), "--no-color", "--timeout=" + env("E2E_GINKGO_TIMEOUT", "80m"),
		"--output-interceptor-mode=none", "--poll-progress-after=3m",
		"--json-report=ginkgo-report.json", "--junit-report=junit_01.xml", "--output-dir=" + res}
	for flag, envName := range map[string]string{"--label-filter": "E2E_LABEL_FILTER", "--focus": "E2E_FOCUS", "--skip": "E2E_SKIP"} {
		if v := os.Getenv(envName); v != "" {
			args = append(args, flag+"="+v)
		}
	}
	args = append(args, "/usr/local/bin/e2e.test", "--", "-e2e.artifacts="+res, "-e2e.use-existing-cluster=true")
	if os.Getenv("KUBECONFIG") == "" {
		args = append(args, "-e2e.kubeconfig=in-cluster")
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
