package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBuildMatrix(t *testing.T) {
	cat := []Requirement{{ID: "DS-A-01"}, {ID: "DS-B-01"}, {ID: "DS-C-01"}}
	run := func(verdict string, res map[string]string) Report {
		r := Report{Verdict: verdict, Environment: &Environment{ServerVersion: "x", Release: "1.x: supported"}}
		for id, v := range res {
			r.Requirements = append(r.Requirements, RequirementResult{Requirement: Requirement{ID: id}, Result: v})
		}
		return r
	}
	m := BuildMatrix(map[string]Report{
		"v1.37.2": run("FAILED", map[string]string{"DS-A-01": "failed", "DS-B-01": "passed"}),
		"v1.35.8": run("PASSED", map[string]string{"DS-A-01": "passed", "DS-B-01": "passed"}),
		"v1.36.4": run("FAILED", map[string]string{"DS-A-01": "failed", "DS-B-01": "skipped"}),
		"v1.34.4": {}, // left no report
	}, map[string]string{"v1.35.8": "v1.35.8/report.html"}, cat)

	var order []string
	for _, v := range m.Versions {
		order = append(order, v.Version)
	}
	if strings.Join(order, " ") != "v1.34.4 v1.35.8 v1.36.4 v1.37.2" {
		t.Errorf("versions in order %v", order)
	}
	if m.Versions[0].Verdict != "NO REPORT" || !strings.Contains(m.Versions[0].Release, "END OF LIFE 2026-10-27") {
		t.Errorf("a run without a report: %+v", m.Versions[0])
	}
	rows := map[string]MatrixRow{}
	for _, r := range m.Rows {
		rows[r.ID] = r
	}
	if got := rows["DS-A-01"]; got.FirstFailed != "v1.36.4" || strings.Join(got.Results, ",") != "not run,passed,failed,failed" {
		t.Errorf("DS-A-01: %+v", got)
	}
	if got := rows["DS-B-01"]; got.FirstFailed != "" || got.Results[2] != "skipped" {
		t.Errorf("DS-B-01: %+v", got)
	}
	if got := rows["DS-C-01"]; strings.Join(got.Results, ",") != "not run,not run,not run,not run" {
		t.Errorf("a requirement no run covered: %+v", got)
	}
	if m.Verdict() != "FAILED" {
		t.Errorf("verdict %s", m.Verdict())
	}
	if (Matrix{}).Verdict() != "NO RUNS" {
		t.Error("an empty matrix")
	}

	dir := t.TempDir()
	if err := WriteMatrix(dir, m); err != nil {
		t.Fatal(err)
	}
	html, _ := os.ReadFile(filepath.Join(dir, "matrix.html"))
	for _, want := range []string{`id="matrix"`, "<th>v1.36.4</th>", `<b class="failed">v1.36.4</b>`, `href="v1.35.8/report.html"`, "FAILED —"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("matrix.html lacks %q", want)
		}
	}
}

func TestVersionLess(t *testing.T) {
	if !versionLess("v1.9.0", "v1.10.0") || !versionLess("v1.37.2", "v1.37.10") || versionLess("v1.37.2", "v1.36.9") {
		t.Error("versionLess must compare numerically")
	}
}
