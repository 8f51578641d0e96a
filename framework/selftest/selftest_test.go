package selftest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/dsconform/dsconform/framework/report"
)

func TestEvaluate(t *testing.T) {
	f := Fault{ID: "gc-off", Area: "garbage collection", What: "x", Run: "DS-DEL-01 || DS-DEL-02 || DS-DEL-03 || DS-PLACE-01",
		Fails: []string{"DS-DEL-01", "DS-DEL-02", "DS-DEL-03"}, Message: "dsconform-worker"}
	spec := func(id, state, msg string) report.Spec {
		return report.Spec{RequirementID: id, State: state, FailureMessage: msg, SkipReason: map[bool]string{true: "needs 2 nodes"}[state == "skipped"]}
	}
	// specs the fault must not break: with them most of a run passes (Targeted)
	controls := []report.Spec{spec("DS-SEL-01", "passed", ""), spec("DS-SEL-02", "passed", ""), spec("DS-SEL-03", "passed", "")}
	r := report.Report{Verdict: "FAILED", Specs: []report.Spec{
		spec("DS-DEL-01", "failed", "pods remain on dsconform-worker"),
		spec("DS-DEL-02", "timedout", "Timed out"), // failed, but says nothing of what was wrong
		spec("DS-DEL-03", "passed", ""),            // the fault did not reach it
		spec("DS-PLACE-01", "failed", "x on dsconform-worker"),
		{RequirementID: "DS-VAL-01", State: "skipped"}, // filtered out
	}}
	r.Specs = append(r.Specs, controls...)
	o := Evaluate(f, r)
	check := func(name string, got []string, want ...string) {
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	check("caught", o.Caught, "DS-DEL-01")
	check("vague", o.Vague, "DS-DEL-02")
	check("missed", o.Missed, "DS-DEL-03")
	check("unexpected", o.Unexpected, "DS-PLACE-01")
	if o.OK() {
		t.Error("an outcome with missed, vague and unexpected failures is not OK")
	}
	if _, ok := o.Results["DS-VAL-01"]; ok {
		t.Error("a filtered-out spec has no result under the fault")
	}
	good := Evaluate(f, report.Report{Specs: []report.Spec{spec("DS-DEL-01", "failed", "on dsconform-worker"),
		spec("DS-DEL-02", "failed", "on dsconform-worker"), spec("DS-DEL-03", "failed", "on dsconform-worker"), spec("DS-PLACE-01", "passed", "")}})
	good.Results["DS-SEL-01"], good.Results["DS-SEL-02"], good.Results["DS-SEL-03"] = "passed", "passed", "passed"
	if !good.OK() {
		t.Errorf("outcome %+v should be OK", good)
	}

	cat := []report.Requirement{{ID: "DS-DEL-01"}, {ID: "DS-PLACE-01"}, {ID: "DS-VAL-01"}}
	s := BuildSensitivity([]Outcome{o, good}, cat)
	if got := s.Rows[0].Cells; got[0] != "caught" || got[1] != "caught" {
		t.Errorf("DS-DEL-01 cells = %v", got)
	}
	if got := s.ProvenBy["DS-DEL-01"]; len(got) != 2 || got[0] != o.Fault || got[1] != good.Fault {
		t.Errorf("DS-DEL-01 proven by %v, want both faults", got)
	}
	if got := s.ProvenBy["DS-PLACE-01"]; len(got) != 0 {
		t.Errorf("DS-PLACE-01 proven by %v: an unexpected failure is not a catch", got)
	}
	if got := s.Rows[1].Cells; got[0] != "failed" || got[1] != "passed" {
		t.Errorf("DS-PLACE-01 cells = %v (an unexpected failure is not a catch)", got)
	}
	if len(s.Unproven) != 2 || s.Unproven[0].ID != "DS-PLACE-01" || s.Unproven[1].ID != "DS-VAL-01" {
		t.Errorf("unproven = %v", s.Unproven)
	}
	md := s.Markdown()
	for _, want := range []string{"| gc-off | garbage collection | **NOT as predicted** | yes (4/3) | DS-DEL-01 | DS-DEL-03 | DS-PLACE-01 | DS-DEL-02 |", "1 of 3 requirements caught by a targeted fault", "not yet proven sensitive: DS-PLACE-01 DS-VAL-01"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestOnlyATargetedFaultProves(t *testing.T) {
	blunt := Outcome{Fault: "controller-off", Results: map[string]string{"DS-A-01": "failed", "DS-A-02": "failed", "DS-A-03": "passed"},
		Caught: []string{"DS-A-01", "DS-A-02"}}
	targeted := Outcome{Fault: "one-flag", Results: map[string]string{"DS-A-02": "failed", "DS-A-03": "passed", "DS-A-04": "passed"},
		Caught: []string{"DS-A-02"}}
	if blunt.Targeted() || !targeted.Targeted() {
		t.Fatalf("Targeted: blunt %v, targeted %v", blunt.Targeted(), targeted.Targeted())
	}
	s := BuildSensitivity([]Outcome{blunt, targeted}, []report.Requirement{{ID: "DS-A-01"}, {ID: "DS-A-02"}, {ID: "DS-A-03"}})
	if got := s.Rows[0].Cells[0]; got != "caught (blunt)" {
		t.Errorf("DS-A-01 under controller-off: %q", got)
	}
	if got := s.ProvenBy["DS-A-02"]; len(got) != 1 || got[0] != "one-flag" {
		t.Errorf("DS-A-02 proven by %v, want the targeted fault only", got)
	}
	if len(s.Unproven) != 2 || s.Unproven[0].ID != "DS-A-01" || len(s.BluntOnly) != 1 || s.BluntOnly[0].ID != "DS-A-01" {
		t.Errorf("unproven %v, blunt only %v", s.Unproven, s.BluntOnly)
	}
	disputed := BuildSensitivity([]Outcome{targeted}, []report.Requirement{{ID: "DS-A-02"}, {ID: "DS-A-05", NoFault: "decided before admission"}})
	if len(disputed.Unproven) != 0 || len(disputed.NoFault) != 1 || disputed.Proven() != 1 ||
		!strings.Contains(disputed.Markdown(), "no fault possible, disputed: DS-A-05: decided before admission") {
		t.Errorf("a requirement with NoFault: unproven %v, no fault %v, proven %d\n%s", disputed.Unproven, disputed.NoFault, disputed.Proven(), disputed.Markdown())
	}
	page, err := s.HTML()
	if err != nil || !bytes.Contains(page, []byte("no</span> (1/2)")) || !bytes.Contains(page, []byte("yes (2/1)")) {
		t.Errorf("HTML: %v\n%s", err, page)
	}
}

func TestValidate(t *testing.T) {
	ok := Fault{ID: "a", Area: "x", What: "y", Inject: []Step{{Node: "control-plane", Sh: "true"}},
		Restore: []Step{{Node: "first-worker", Sh: "true"}}, Run: "DS-A-01", Fails: []string{"DS-A-01"}, Message: "."}
	if err := Validate([]Fault{ok}); err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(*Fault){
		"duplicate":           nil,
		"expects unrun spec":  func(f *Fault) { f.Fails = []string{"DS-B-01"} },
		"bad node":            func(f *Fault) { f.Inject = []Step{{Node: "worker3", Sh: "true"}} },
		"no restore":          func(f *Fault) { f.Restore = nil },
		"bad message pattern": func(f *Fault) { f.Message = "(" },
		"bad id":              func(f *Fault) { f.ID = "Bad ID" },
	} {
		b := ok
		faults := []Fault{ok, b}
		if mutate != nil {
			mutate(&b)
			faults = []Fault{b}
		}
		if err := Validate(faults); err == nil {
			t.Errorf("%s: Validate accepted it", name)
		}
	}
}

// The table in the repository parses and passes Validate.
func TestRepositoryTable(t *testing.T) {
	_, here, _, _ := runtime.Caller(0)
	faults, err := Load(filepath.Join(filepath.Dir(here), "..", "..", "fixtures", "failure-injection", "faults.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	areas := map[string]bool{}
	for _, f := range faults {
		areas[f.Area] = true
	}
	if len(areas) < 5 {
		t.Errorf("the table covers %d behaviour areas: %v", len(areas), areas)
	}
}

func TestSensitivityHTML(t *testing.T) {
	page, err := Sensitivity{}.HTML()
	if err != nil || !bytes.Contains(page, []byte("Requirement × fault")) {
		t.Fatalf("HTML: %v\n%s", err, page)
	}
}

func TestLoopBecomesSteps(t *testing.T) {
	f := Fault{ID: "reads-dots", Loop: &Loop{Node: "first-worker", Script: "fixtures/x.sh"},
		Inject: []Step{{Node: "first-worker", Sh: "extra"}}, Restore: []Step{{Node: "first-worker", Sh: "clean"}}}
	expandLoop(&f)
	if len(f.Inject) != 4 || f.Inject[0].Stdin != "fixtures/x.sh" || f.Inject[3].Sh != "extra" ||
		f.Inject[1].Sh != `systemd-run --unit dsconform-selftest-reads-dots --setenv=STATIC_POD_DIR="$STATIC_POD_DIR" /usr/local/bin/dsconform-selftest-reads-dots >/dev/null 2>&1` ||
		!f.Inject[2].Until {
		t.Errorf("inject: %+v", f.Inject)
	}
	if len(f.Restore) != 2 || !strings.HasPrefix(f.Restore[0].Sh, "systemctl stop dsconform-selftest-reads-dots ") || f.Restore[1].Sh != "clean" {
		t.Errorf("restore: %+v", f.Restore)
	}
}

func TestStaticPodDir(t *testing.T) {
	dir := t.TempDir()
	set := filepath.Join(dir, "set.yaml")
	if err := os.WriteFile(set, []byte("kind: KubeletConfiguration\nstaticPodPath: /etc/other manifests\nsyncFrequency: 1m\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	unset := filepath.Join(dir, "unset.yaml")
	if err := os.WriteFile(unset, []byte("kind: KubeletConfiguration\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ config, want string }{
		{set, "/etc/other manifests"},
		{unset, "/etc/kubernetes/manifests"},
		{filepath.Join(dir, "missing.yaml"), "/etc/kubernetes/manifests"},
	} {
		out, err := exec.Command("sh", "-c", staticPodDir(tc.config)+`sh -c 'printf %s "$STATIC_POD_DIR"'`).CombinedOutput()
		if err != nil || string(out) != tc.want {
			t.Errorf("%s: STATIC_POD_DIR=%q (%v), want %q", filepath.Base(tc.config), out, err, tc.want)
		}
	}
	if got := (Step{Sh: "true"}).Command(); !strings.HasSuffix(got, "export STATIC_POD_DIR; true") || !strings.Contains(got, "/var/lib/kubelet/config.yaml") {
		t.Errorf("Command: %s", got)
	}
}

func TestKubeletBecomesSteps(t *testing.T) {
	f := Fault{ID: "edits", Kubelet: "edits-ignored", Restore: []Step{{Node: "first-worker", Sh: "clean"}}}
	expandKubelet(&f)
	if len(f.Inject) != 3 || f.Inject[0].Stdin != SelfTestKubelet || f.Inject[0].Node != "first-worker" ||
		!strings.Contains(f.Inject[1].Sh, "Environment=DSCONFORM_KUBELET_FAULT=edits-ignored") ||
		!strings.Contains(f.Inject[1].Sh, "mount --bind") || !f.Inject[2].Until ||
		!strings.Contains(f.Inject[2].Sh, "DSCONFORM_KUBELET_FAULT=edits-ignored") {
		t.Errorf("inject: %+v", f.Inject)
	}
	// the restore stops the kubelet before unmounting: its running binary keeps the mount busy
	r := f.Restore[0].Sh
	if len(f.Restore) != 3 || f.Restore[2].Sh != "clean" || !f.Restore[1].Until ||
		strings.Index(r, "systemctl stop kubelet") > strings.Index(r, "umount") {
		t.Errorf("restore: %+v", f.Restore)
	}
	plain := Fault{ID: "plain"}
	expandKubelet(&plain)
	if len(plain.Inject)+len(plain.Restore) != 0 {
		t.Errorf("a fault without kubelet got steps: %+v", plain)
	}
}

func TestOnFillsNodeNames(t *testing.T) {
	f := Fault{Message: "no pod on {cluster}-worker[0-9]*|hostPort on node {first-worker}|{control-plane}"}
	got := f.On("ds.x", map[string]string{"first-worker": "ds.x-worker", "control-plane": "ds.x-control-plane"}).Message
	want := `no pod on ds\.x-worker[0-9]*|hostPort on node ds\.x-worker|ds\.x-control-plane`
	if got != want {
		t.Fatalf("On: got %q, want %q", got, want)
	}
	if f.Message == got {
		t.Fatal("On must not change the table's fault")
	}
}
