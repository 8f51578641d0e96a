package launch

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/dsconform/dsconform/framework"
	"github.com/dsconform/dsconform/framework/report"
	"github.com/dsconform/dsconform/suites/requirements"
)

// Input is one launch.
type Input struct {
	Settings
	Where
	// Out is the console: Ginkgo's output (kept whole in e2e.raw.log) and, with
	// Progress, one line per finished spec as it finishes (Ginkgo holds back a parallel
	// process's output until its spec ends).
	Out      io.Writer
	Progress bool
	// Signals are passed on to Ginkgo's process group: its spec processes interrupt their
	// specs, clean up, and the CLI writes what finished.
	Signals <-chan os.Signal
	Env     []string // Ginkgo's environment; nil: this process's
}

// Result is how a launch ended.
type Result struct {
	// Code is Ginkgo's exit code, or 130 after SIGINT and 143 after SIGTERM.
	Code   int
	Report *report.Report // nil when Ginkgo left no JSON report
}

// Run runs Ginkgo and then, whatever happened, writes e2e.log and the report (the one
// writer of report.json, report.html, summary.md and junit_01.xml: Ginkgo's merged
// JSON is the complete record of a parallel run). The error is for what the launcher
// itself could not do; a failed run is a Code.
func Run(in Input) (Result, error) {
	if len(in.Ginkgo) == 0 || in.Suite == "" || in.Results == "" || in.Out == nil {
		return Result{}, errors.New("launch.Run: Ginkgo, Suite, Results and Out are required")
	}
	if err := os.MkdirAll(in.Results, 0o755); err != nil {
		return Result{}, err
	}
	for _, f := range []string{"ginkgo-report.json", report.ProgressFile, report.CPUFile} {
		_ = os.Remove(filepath.Join(in.Results, f))
	}
	raw, err := os.Create(filepath.Join(in.Results, "e2e.raw.log"))
	if err != nil {
		return Result{}, err
	}
	out := &framework.SyncWriter{W: io.MultiWriter(in.Out, raw)}
	// The first line names the mode, so that an e2e.log read on its own (Hydrophone's
	// download) says which selection it certifies.
	fmt.Fprintln(out, ModeLine(in.Mode))
	cmd := exec.Command(in.Ginkgo[0], append(in.Ginkgo[1:], in.Args(in.Where)...)...)
	cmd.Dir, cmd.Env = in.Dir, in.Env
	cmd.Stdout, cmd.Stderr = out, out
	// The group is Ginkgo's own: a signal to this process alone interrupts nothing, and
	// the spec processes are the ones that must hear it (as they do from a terminal).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cpuBefore, cpuErr := report.ReadCPUSample()
	if err := cmd.Start(); err != nil {
		raw.Close()
		return Result{}, fmt.Errorf("starting %s: %w", in.Ginkgo[0], err)
	}
	var signalled syscall.Signal
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case sig := <-in.Signals:
				s, ok := sig.(syscall.Signal)
				if !ok {
					continue
				}
				mu.Lock()
				signalled = s
				mu.Unlock()
				fmt.Fprintf(in.Out, "\n%v: interrupting the specs (they clean up first; the report covers what finished)\n", sig)
				_ = syscall.Kill(-cmd.Process.Pid, s)
			}
		}
	}()
	var tail sync.WaitGroup
	if in.Progress {
		tail.Add(1)
		go func() { defer tail.Done(); followProgress(filepath.Join(in.Results, report.ProgressFile), out, done) }()
	}
	err = cmd.Wait()
	if cpuAfter, err := report.ReadCPUSample(); err == nil && cpuErr == nil {
		if err := report.WriteCPU(in.Results, cpuBefore.Until(cpuAfter)); err != nil {
			fmt.Fprintf(in.Out, "warning: could not record the machine's CPU use: %v\n", err)
		}
	}
	close(done)
	tail.Wait()
	raw.Close()
	res := Result{Code: exitCode(err)}
	mu.Lock()
	if signalled != 0 {
		res.Code = 128 + int(signalled)
	}
	mu.Unlock()
	if err := report.WritePlainLog(in.Results); err != nil {
		fmt.Fprintf(in.Out, "error: could not write e2e.log: %v\n", err)
	}
	if _, err := os.Stat(filepath.Join(in.Results, "ginkgo-report.json")); err != nil {
		fmt.Fprintf(in.Out, "error: Ginkgo left no JSON report in %s: no report could be written\n", in.Results)
		return res, nil
	}
	r, err := report.RenderDir(in.Results, requirements.All())
	if err != nil {
		return res, fmt.Errorf("writing the report: %w", err)
	}
	res.Report = &r
	fmt.Fprintf(in.Out, "\nReport: %s (%s) — %d passed, %d failed, %d skipped\n", filepath.Join(in.Results, "report.html"),
		r.Headline, r.Totals.Passed, r.Totals.Failed, r.Totals.Skipped)
	for _, l := range r.FailureLines() {
		fmt.Fprintln(in.Out, l)
	}
	return res, nil
}

// ModeLine is the line that opens a run's output: the named mode and what it selects.
func ModeLine(mode string) string {
	m, ok, err := framework.LookupMode(mode)
	if err != nil || !ok {
		return "dsconform mode: none (the selection is the label filter and focus given)"
	}
	return fmt.Sprintf("dsconform mode: %s (%s)", strings.ToLower(mode), m.Description)
}

func exitCode(err error) int {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
		return ee.ExitCode()
	}
	return 1
}

// followProgress copies the lines added to the progress file to out until done, then
// what is left.
func followProgress(path string, out io.Writer, done <-chan struct{}) {
	var at int64
	copyNew := func() {
		f, err := os.Open(path)
		if err != nil {
			return
		}
		defer f.Close()
		if _, err := f.Seek(at, io.SeekStart); err != nil {
			return
		}
		r := bufio.NewReader(f)
		for {
			line, err := r.ReadString('\n')
			if err != nil { // a line still being written waits for the next look
				return
			}
			at += int64(len(line))
			fmt.Fprint(out, "\n"+line)
		}
	}
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-done:
			copyNew()
			return
		case <-tick.C:
			copyNew()
		}
	}
}
