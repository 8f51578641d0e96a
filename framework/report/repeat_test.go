package report

import (
	"strings"
	"testing"
)

func TestBuildRepeat(t *testing.T) {
	run := func(verdict string, specs ...Spec) Report {
		r := Report{Verdict: verdict, Specs: specs, DurationSeconds: 700}
		for _, s := range specs {
			if s.State == "passed" {
				r.Totals.Passed++
			} else {
				r.Totals.Failed++
			}
		}
		return r
	}
	a := func(state string, d float64) Spec {
		return Spec{RequirementID: "DS-A-01", Text: "a", State: state, DurationSeconds: d, FailureMessage: "timed out\nmore"}
	}
	b := func(d float64) Spec {
		return Spec{RequirementID: "DS-B-01", Text: "b", State: "passed", DurationSeconds: d}
	}
	filtered := Spec{RequirementID: "DS-C-01", Text: "c", State: "skipped"}
	rp := BuildRepeat([]Report{
		run("PASSED", b(3), a("passed", 10), filtered),
		run("FAILED", b(1), a("failed", 99)),
		{}, // a run that left no report
		run("PASSED", b(2), a("passed", 30)),
	})
	if len(rp.Runs) != 4 || rp.Runs[2].Verdict != "NO REPORT" {
		t.Fatalf("runs = %+v", rp.Runs)
	}
	if len(rp.Specs) != 2 || rp.Specs[0].RequirementID != "DS-A-01" { // DS-C-01 was never selected
		t.Fatalf("specs = %+v", rp.Specs)
	}
	sa, sb := rp.Specs[0], rp.Specs[1]
	if sa.Passed != 2 || sa.Failed != 1 || sa.NotRun != 1 || sa.MinSeconds != 10 || sa.MaxSeconds != 30 || sa.MedianSeconds != 20 {
		t.Errorf("DS-A-01 = %+v", sa)
	}
	if len(sa.Failures) != 1 || sa.Failures[0] != "run 2: failed: timed out" {
		t.Errorf("failures = %q", sa.Failures)
	}
	if sb.Passed != 3 || sb.MedianSeconds != 2 || sb.NotRun != 1 {
		t.Errorf("DS-B-01 = %+v", sb)
	}
	if u := rp.Unstable(); len(u) != 2 {
		t.Errorf("unstable = %d, want 2 (a run without a report makes every spec unstable)", len(u))
	}
	md := rp.Markdown()
	for _, want := range []string{"| DS-A-01 | 2/4 **unstable** | 10.00 | 20.00 | 30.00 |", "| 3 | NO REPORT |", "run 2: failed: timed out"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	all := BuildRepeat([]Report{run("PASSED", b(1)), run("PASSED", b(2))})
	if !strings.Contains(all.Markdown(), "Every spec passed in all 2 runs.") {
		t.Errorf("stable series: %s", all.Markdown())
	}
}
