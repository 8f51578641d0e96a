package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"sort"

	"github.com/dsconform/dsconform/framework/releases"
)

// Matrix is the requirement × Kubernetes version view of several runs (make e2e-matrix).
type Matrix struct {
	Versions []MatrixVersion `json:"versions"` // oldest first
	Rows     []MatrixRow     `json:"requirements"`
}

// MatrixVersion is one run of the matrix.
type MatrixVersion struct {
	Version     string  `json:"version"` // the version asked for, e.g. v1.37.2
	Server      string  `json:"server"`  // what the API server reported
	Release     string  `json:"release"` // "1.37: supported until …"
	Verdict     string  `json:"verdict"` // the run's verdict, "NO REPORT" when it left none
	Passed      int     `json:"passed"`
	Failed      int     `json:"failed"`
	Skipped     int     `json:"skipped"`
	WallSeconds float64 `json:"wallSeconds"`
	ReportPath  string  `json:"report"` // relative to the matrix page
}

// MatrixRow is one requirement across the versions.
type MatrixRow struct {
	Requirement
	Results     []string `json:"results"`               // one per version: passed, failed, skipped, not run
	FirstFailed string   `json:"firstFailed,omitempty"` // the oldest version it failed on
}

// BuildMatrix lines up per-version reports (keyed by the version asked for; a zero
// Report for a run that left none) against the catalogue.
func BuildMatrix(runs map[string]Report, paths map[string]string, catalogue []Requirement) Matrix {
	var versions []string
	for v := range runs {
		versions = append(versions, v)
	}
	sort.Slice(versions, func(i, j int) bool { return versionLess(versions[i], versions[j]) })
	var m Matrix
	results := map[string]map[string]string{} // requirement -> version -> result
	for _, v := range versions {
		r := runs[v]
		mv := MatrixVersion{Version: v, Verdict: r.Verdict, Passed: r.Totals.Passed, Failed: r.Totals.Failed,
			Skipped: r.Totals.Skipped, WallSeconds: r.DurationSeconds, ReportPath: paths[v]}
		if mv.Verdict == "" {
			mv.Verdict = "NO REPORT"
		}
		if env := r.Environment; env != nil {
			mv.Server, mv.Release = env.ServerVersion, env.Release
		}
		if mv.Release == "" {
			if rel, err := releases.Lookup(v); err == nil {
				mv.Release = rel.Minor + ": END OF LIFE " + rel.EndOfLife.Format("2006-01-02")
			}
		}
		m.Versions = append(m.Versions, mv)
		for _, rr := range r.Requirements {
			if results[rr.ID] == nil {
				results[rr.ID] = map[string]string{}
			}
			results[rr.ID][v] = rr.Result
		}
	}
	for _, req := range catalogue {
		row := MatrixRow{Requirement: req}
		for _, v := range versions {
			res := results[req.ID][v]
			if res == "" {
				res = "not run"
			}
			row.Results = append(row.Results, res)
			if res == "failed" && row.FirstFailed == "" {
				row.FirstFailed = v
			}
		}
		m.Rows = append(m.Rows, row)
	}
	return m
}

// Verdict is PASSED when every version passed.
func (m Matrix) Verdict() string {
	if len(m.Versions) == 0 {
		return "NO RUNS"
	}
	for _, v := range m.Versions {
		if v.Verdict != "PASSED" {
			return "FAILED"
		}
	}
	return "PASSED"
}

// versionLess orders v1.MINOR.PATCH numerically.
func versionLess(a, b string) bool {
	var a1, a2, a3, b1, b2, b3 int
	fmt.Sscanf(a, "v%d.%d.%d", &a1, &a2, &a3)
	fmt.Sscanf(b, "v%d.%d.%d", &b1, &b2, &b3)
	if a2 != b2 {
		return a2 < b2
	}
	if a3 != b3 {
		return a3 < b3
	}
	return a < b
}

// WriteMatrix writes matrix.json and matrix.html into dir.
func WriteMatrix(dir string, m Matrix) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "matrix.json"), data, 0o644); err != nil {
		return err
	}
	var html bytes.Buffer
	view := struct {
		Matrix
		Verdict string
	}{m, m.Verdict()}
	if err := template.Must(template.New("matrix.html").Funcs(funcs).ParseFS(templates, "templates/matrix.html")).Execute(&html, view); err != nil {
		return fmt.Errorf("rendering matrix.html: %w", err)
	}
	return os.WriteFile(filepath.Join(dir, "matrix.html"), html.Bytes(), 0o644)
}
