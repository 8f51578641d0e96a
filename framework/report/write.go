package report

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	texttemplate "text/template"

	"github.com/onsi/ginkgo/v2/reporters"
	"github.com/onsi/ginkgo/v2/types"
)

//go:embed templates/*
var templates embed.FS

var funcs = map[string]any{
	"rel": func(dir, path string) string {
		if r, err := filepath.Rel(dir, path); err == nil {
			return r
		}
		return path
	},
	"secs":      func(f float64) string { return fmt.Sprintf("%.1fs", f) },
	"failed":    isFailure,
	"lower":     strings.ToLower,
	"firstLine": func(s string) string { return strings.SplitN(strings.TrimSpace(s), "\n", 2)[0] },
	"split":     strings.Fields,
	"contains":  func(s any, sub string) bool { return strings.Contains(fmt.Sprint(s), sub) },
	"mdEscape":  func(s string) string { return strings.NewReplacer("|", "\\|", "\n", " ").Replace(s) },
}

// WriteAll writes report.json, report.html, summary.md and junit_01.xml into dir.
func WriteAll(dir string, r Report, gr types.Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), data, 0o644); err != nil {
		return err
	}
	view := struct {
		Report
		Dir string
	}{r, dir}
	var html bytes.Buffer
	if err := template.Must(template.New("report.html").Funcs(funcs).ParseFS(templates, "templates/report.html")).Execute(&html, view); err != nil {
		return fmt.Errorf("rendering report.html: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "report.html"), html.Bytes(), 0o644); err != nil {
		return err
	}
	var md bytes.Buffer
	if err := texttemplate.Must(texttemplate.New("summary.md").Funcs(funcs).ParseFS(templates, "templates/summary.md")).Execute(&md, view); err != nil {
		return fmt.Errorf("rendering summary.md: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "summary.md"), md.Bytes(), 0o644); err != nil {
		return err
	}
	// Upstream's shape: one testcase per spec, full output only where something went wrong.
	return reporters.GenerateJUnitReportWithConfig(gr, filepath.Join(dir, "junit_01.xml"), reporters.JunitReportConfig{
		OmitTimelinesForSpecState: types.SpecStatePassed | types.SpecStateSkipped,
		OmitCapturedStdOutErr:     false,
		OmitLeafNodeType:          true,
		OmitSuiteSetupNodes:       true,
	})
}

// Load reads a report.json.
func Load(path string) (Report, error) {
	var r Report
	data, err := os.ReadFile(path)
	if err != nil {
		return r, err
	}
	return r, json.Unmarshal(data, &r)
}

// ReadTimings reads the "label seconds" lines the Makefile appends during setup.
func ReadTimings(path string) map[string]float64 {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) == 2 {
			if v, err := strconv.ParseFloat(f[1], 64); err == nil {
				out[f[0]] = v
			}
		}
	}
	return out
}

// RenderDir (re)builds report.json, report.html, summary.md and junit_01.xml in dir
// from the ginkgo-report.json, environment.json and timings.txt there: Ginkgo's merged
// JSON is the complete record of a parallel run.
func RenderDir(dir string, catalogue []Requirement) (Report, error) {
	data, err := os.ReadFile(filepath.Join(dir, "ginkgo-report.json"))
	if err != nil {
		return Report{}, err
	}
	var reports []types.Report
	if err := json.Unmarshal(data, &reports); err != nil || len(reports) == 0 {
		return Report{}, fmt.Errorf("%s/ginkgo-report.json is not a Ginkgo JSON report", dir)
	}
	env, err := ReadEnvironment(filepath.Join(dir, EnvironmentFile))
	if err != nil {
		return Report{}, err
	}
	r := Build(reports[0], catalogue, env, ReadTimings(filepath.Join(dir, "timings.txt")))
	r.Performance.MachineCPU = readCPU(dir)
	if provenBy, ok := ReadProvenBy(filepath.Join(dir, "selftest", "sensitivity.json")); ok {
		r.SelfTest = "selftest/sensitivity.html"
		for i := range r.Requirements {
			r.Requirements[i].ProvenBy = provenBy[r.Requirements[i].ID]
		}
	}
	return r, WriteAll(dir, r, reports[0])
}

// ReadProvenBy reads the "provenBy" of a self-test's sensitivity.json (make e2e-selftest;
// framework/selftest.Sensitivity fills it): per requirement ID, the faults that caught
// it. False when there is no such file or it carries no provenBy.
func ReadProvenBy(path string) (map[string][]string, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, false
	}
	var s struct {
		ProvenBy map[string][]string `json:"provenBy"`
	}
	if json.Unmarshal(data, &s) != nil || s.ProvenBy == nil {
		return nil, false
	}
	return s.ProvenBy, true
}

// EnvironmentFile is where the suite records its Environment before the first spec.
const EnvironmentFile = "environment.json"

// WriteEnvironment writes env to path.
func WriteEnvironment(path string, env Environment) error {
	data, err := json.MarshalIndent(env, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// ReadEnvironment reads what WriteEnvironment wrote; nil when there is no such file (a
// run that stopped before its setup ended).
func ReadEnvironment(path string) (*Environment, error) {
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var env Environment
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &env, nil
}
