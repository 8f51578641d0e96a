package launch

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dsconform/dsconform/framework"
)

// fakeGinkgo runs script with sh instead of Ginkgo; the launcher's arguments become $1...
func fakeGinkgo(t *testing.T, script string) (Input, *bytes.Buffer) {
	t.Helper()
	out := &bytes.Buffer{}
	return Input{Settings: Settings{Results: t.TempDir(), Procs: 1, Timeout: "1m"},
		Where: Where{Ginkgo: []string{"sh", "-c", script, "ginkgo"}, Suite: "./suite"}, Out: &framework.SyncWriter{W: out}}, out
}

func TestRunKeepsGinkgosExitCodeAndItsOutput(t *testing.T) {
	in, out := fakeGinkgo(t, `echo "Ran 1 of 2 Specs in 1.0 seconds"; echo "FAIL! -- 0 Passed | 1 Failed"; exit 3`)
	res, err := Run(in)
	if err != nil {
		t.Fatal(err)
	}
	if res.Code != 3 || res.Report != nil {
		t.Fatalf("code %d, report %v: want Ginkgo's 3 and no report (no JSON)", res.Code, res.Report)
	}
	plain, _ := os.ReadFile(filepath.Join(in.Results, "e2e.log"))
	if !strings.HasSuffix(strings.TrimSpace(string(plain)), "1 Failed") || !strings.Contains(out.String(), "Ran 1 of 2") {
		t.Fatalf("console %q, e2e.log %q", out, plain)
	}
	if !strings.HasPrefix(string(plain), "dsconform mode: none") {
		t.Errorf("e2e.log %q should open with the mode", plain)
	}
	if !strings.Contains(out.String(), "Ginkgo left no JSON report") {
		t.Errorf("console %q should say that no report could be written", out.String())
	}
}

func TestRunPassesSignalsToGinkgosGroupAndReportsTheInterrupt(t *testing.T) {
	// Like Ginkgo's spec processes: a child in the group must hear the signal, clean up
	// and leave; the launcher's code is 128+signal whatever the child's.
	in, out := fakeGinkgo(t, `trap 'echo cleaned up; exit 1' TERM; echo started; while :; do sleep 0.05; done`)
	sigs := make(chan os.Signal, 1)
	in.Signals = sigs
	go func() {
		for !strings.Contains(out.String(), "started") {
			time.Sleep(10 * time.Millisecond)
		}
		sigs <- syscall.SIGTERM
	}()
	done := make(chan Result)
	go func() { r, _ := Run(in); done <- r }()
	select {
	case res := <-done:
		if res.Code != 143 {
			t.Errorf("code %d, want 143 after SIGTERM", res.Code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the launcher did not end after SIGTERM")
	}
	if !strings.Contains(out.String(), "cleaned up") {
		t.Errorf("the child never heard the signal: %q", out.String())
	}
}

func TestRunStreamsProgressLines(t *testing.T) {
	in, out := fakeGinkgo(t, `printf '[1/2] PASSED a (1.0s)\n' >> "$RES/progress.log"; sleep 0.7; printf '[2/2] PASSED b (1.0s)\n' >> "$RES/progress.log"`)
	in.Progress = true
	in.Env = append(os.Environ(), "RES="+in.Results)
	if _, err := Run(in); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"[1/2] PASSED a", "[2/2] PASSED b"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("console %q lacks %q", out.String(), want)
		}
	}
}

func TestModeLineNamesTheModeAndWhatItSelects(t *testing.T) {
	if got := ModeLine("Certified"); !strings.HasPrefix(got, "dsconform mode: certified (everything") {
		t.Errorf("ModeLine(Certified) = %q", got)
	}
}
