package report

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"
)

// failing-run.json is a real run of the suite with seven failing specs.
func recorded(t *testing.T, name string) types.Report {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var reports []types.Report
	if err := json.Unmarshal(data, &reports); err != nil || len(reports) != 1 {
		t.Fatalf("%s: %v", name, err)
	}
	return reports[0]
}

var catalogue = []Requirement{
	{ID: "DS-PLACE-01", Area: "placement", Statement: "one pod per node", Source: "https://example.invalid/ds"},
	{ID: "DS-UPD-01", Area: "updates", Statement: "rolling update", Source: "https://example.invalid/ds"},
	{ID: "SP-NEVER-01", Area: "x", Statement: "a requirement no spec covers", Source: "https://example.invalid/sp"},
}

func TestBuildFailingRun(t *testing.T) {
	r := Build(recorded(t, "failing-run.json"), catalogue, &Environment{ServerVersion: "v1.34.4"}, map[string]float64{"cluster-up": 62})
	if r.Verdict != "FAILED" {
		t.Errorf("verdict %q, want FAILED", r.Verdict)
	}
	if r.Totals.Passed != 38 || r.Totals.Failed != 7 || r.Totals.Selected != 45 {
		t.Errorf("totals %+v, want 38 passed, 7 failed of 45", r.Totals)
	}
	for i := 0; i < 7; i++ {
		if !isFailure(r.Specs[i].State) || r.Specs[i].FailureMessage == "" || r.Specs[i].FailureLocation == "" {
			t.Errorf("spec %d (%s, %s) should be a failure with message and location: failures come first", i, r.Specs[i].Text, r.Specs[i].State)
		}
	}
	want := map[string]string{"DS-PLACE-01": "passed", "DS-UPD-01": "failed", "SP-NEVER-01": "not run"}
	for _, rr := range r.Requirements {
		if rr.Result != want[rr.ID] {
			t.Errorf("requirement %s: %s, want %s", rr.ID, rr.Result, want[rr.ID])
		}
	}
	if len(r.Latencies) == 0 {
		t.Error("the recorded run measured latencies; the report lost them")
	}
	for _, l := range r.Latencies {
		if !(l.MinSeconds <= l.MedianSeconds && l.MedianSeconds <= l.MaxSeconds) || l.Count == 0 {
			t.Errorf("latency %+v is not min <= median <= max", l)
		}
	}
	if f := r.FailedRequirements(); !strings.Contains(f, "DS-UPD-01") || strings.Contains(f, "DS-PLACE-01") {
		t.Errorf("failed-filter %q should select the failed specs only", f)
	}
}

func TestBuildPassingInterruptedAndEmpty(t *testing.T) {
	gr := recorded(t, "failing-run.json")
	passing := gr
	passing.SpecReports = nil
	for _, sr := range gr.SpecReports {
		if sr.State == types.SpecStatePassed {
			passing.SpecReports = append(passing.SpecReports, sr)
		}
	}
	passing.SuiteSucceeded = true
	pr := Build(passing, catalogue, nil, nil)
	if pr.Verdict != "PASSED" || pr.Headline != "PASSED" {
		t.Errorf("all-passed run: verdict %q, headline %q", pr.Verdict, pr.Headline)
	}
	dry := passing
	dry.SuiteConfig.DryRun = true // Ginkgo reports every listed spec as passed
	dr := Build(dry, catalogue, nil, nil)
	if dr.Verdict != "DRY RUN: nothing ran" || dr.Totals.Passed != 0 || dr.Specs[0].State != "listed (dry run)" {
		t.Errorf("dry run: verdict %q, %d passed, first spec %q", dr.Verdict, dr.Totals.Passed, dr.Specs[0].State)
	}
	if err := WriteAll(t.TempDir(), dr, dry); err != nil { // no environment recorded
		t.Errorf("writing a dry run's report without an environment: %v", err)
	}
	withSkips := passing
	withSkips.SpecReports = append(types.SpecReports{}, passing.SpecReports...)
	var anIt types.SpecReport
	for _, sr := range passing.SpecReports {
		if sr.LeafNodeType == types.NodeTypeIt {
			anIt = sr
			break
		}
	}
	filtered := anIt
	filtered.State = types.SpecStateSkipped // a label filter's skip: no reason, not counted
	skipped := anIt
	skipped.State, skipped.Failure.Message = types.SpecStateSkipped, "nodes cannot be added to this cluster"
	withSkips.SpecReports = append(withSkips.SpecReports, filtered, skipped, skipped)
	sr := Build(withSkips, catalogue, nil, nil)
	if sr.Verdict != "PASSED" || len(sr.NotProven) != 2 || !strings.HasPrefix(sr.Headline, fmt.Sprintf("PASSED %d/%d — 2 not proven: nodes cannot be added to this cluster (", pr.Totals.Passed, pr.Totals.Passed+2)) {
		t.Errorf("passing run with run-time skips: verdict %q, headline %q, notProven %v", sr.Verdict, sr.Headline, sr.NotProven)
	}

	interrupted := gr
	interrupted.SpecialSuiteFailureReasons = []string{"Interrupted by User"}
	interrupted.SpecReports = append(types.SpecReports{}, gr.SpecReports...)
	var victim string
	for i, sr := range interrupted.SpecReports {
		if sr.LeafNodeType == types.NodeTypeIt {
			interrupted.SpecReports[i].State = types.SpecStateInterrupted
			victim = sr.LeafNodeText
			break
		}
	}
	ir := Build(interrupted, catalogue, nil, nil)
	if ir.Verdict != "INTERRUPTED" {
		t.Errorf("interrupted run: verdict %q", ir.Verdict)
	}
	if !strings.Contains(ir.Interrupted, victim) {
		t.Errorf("interrupted run: interruptedDuring %q, want the spec %q", ir.Interrupted, victim)
	}

	empty := gr
	empty.SpecReports, empty.SuiteSucceeded = nil, true
	r := Build(empty, catalogue, nil, nil)
	if r.Verdict != "NO SPECS RAN" {
		t.Errorf("empty run: verdict %q", r.Verdict)
	}
	for _, rr := range r.Requirements {
		if rr.Result != "not run" {
			t.Errorf("empty run: requirement %s is %s", rr.ID, rr.Result)
		}
	}
}

func TestWriteAll(t *testing.T) {
	gr := recorded(t, "failing-run.json")
	dir := t.TempDir()
	r := Build(gr, catalogue, &Environment{ServerVersion: "v1.34.4", Nodes: []NodeSummary{{Name: "n1", Roles: []string{"control-plane"}}}}, nil)
	if err := WriteAll(dir, r, gr); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"report.json", "report.html", "summary.md", "junit_01.xml"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s missing or empty: %v", f, err)
		}
	}
	html, _ := os.ReadFile(filepath.Join(dir, "report.html"))
	for _, want := range []string{`id="verdict"`, "FAILED", "DS-UPD-01", "rolling update", "v1.34.4"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	if strings.Contains(string(html), "http://") || strings.Contains(string(html), "<script src") || strings.Contains(string(html), "<link") {
		t.Error("report.html must be self-contained: no external assets")
	}
	junit, _ := os.ReadFile(filepath.Join(dir, "junit_01.xml"))
	if got := strings.Count(string(junit), "<testcase "); got != 45 {
		t.Errorf("junit has %d testcases, want 45 (one per spec, no setup nodes)", got)
	}
	if !strings.Contains(string(junit), "[sig-apps] DaemonSet") {
		t.Error("junit testcase names should carry the [sig-*] prefix")
	}
	back, err := Load(filepath.Join(dir, "report.json"))
	if err != nil || back.Totals != r.Totals {
		t.Errorf("report.json round trip: %v, %+v", err, back.Totals)
	}
}

// TestHTMLInBrowser opens report.html in headless Chromium and checks, in the
// rendered page, that the verdict, the totals and a failure are visible.
func TestHTMLInBrowser(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (apt-get install chromium); `make test-browser` installs it")
	}
	gr := recorded(t, "failing-run.json")
	dir := t.TempDir()
	if err := WriteAll(dir, Build(gr, catalogue, nil, nil), gr); err != nil {
		t.Fatal(err)
	}
	page := "file://" + filepath.Join(dir, "report.html")
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--user-data-dir=" + t.TempDir()}
	dom, err := exec.Command(chromium, append(args, "--dump-dom", page)...).Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom: %v", err)
	}
	for _, want := range []string{"FAILED", "Passed<b class=\"passed\">38</b>", "Failed<b class=\"failed\">7</b>", "✗ DS-UPD-01"} {
		if !strings.Contains(string(dom), want) {
			t.Errorf("rendered page lacks %q", want)
		}
	}
	shot := filepath.Join(os.Getenv("REPORT_SCREENSHOT_DIR"), "report.png")
	if os.Getenv("REPORT_SCREENSHOT_DIR") == "" {
		shot = filepath.Join(dir, "report.png")
	}
	if out, err := exec.Command(chromium, append(args, "--window-size=1280,1400", "--screenshot="+shot, page)...).CombinedOutput(); err != nil {
		t.Fatalf("chromium --screenshot: %v\n%s", err, out)
	}
	if fi, err := os.Stat(shot); err != nil || fi.Size() < 10_000 {
		t.Fatalf("screenshot %s missing or blank: %v", shot, err)
	}
}

func TestPerformanceOf(t *testing.T) {
	specs := []Spec{
		{RequirementID: "DS-A-01", Text: "a", State: "passed", DurationSeconds: 100, Serial: true},
		{RequirementID: "DS-B-01", Text: "b", State: "passed", DurationSeconds: 30},
		{RequirementID: "DS-C-01", Text: "c", State: "failed", DurationSeconds: 20},
		{RequirementID: "DS-D-01", Text: "d", State: "skipped", DurationSeconds: 500},
	}
	p := performanceOf(specs, 250)
	if p.LongestSpec != "DS-A-01 a" || p.LongestSpecSeconds != 100 || p.WallToLongest != 2.5 {
		t.Errorf("longest = %q %v, ratio %v", p.LongestSpec, p.LongestSpecSeconds, p.WallToLongest)
	}
	if p.SerialSpecs != 1 || p.SerialSpecSeconds != 100 || p.ParallelSpecsRunning != 2 || p.ParallelSpecSeconds != 50 {
		t.Errorf("sums = %+v (a skipped spec does not count)", p)
	}
}

func TestBench(t *testing.T) {
	r := Report{Verdict: "PASSED", Performance: Performance{WallSeconds: 250, LongestSpec: "DS-A-01 a", LongestSpecSeconds: 100, WallToLongest: 2.5,
		SerialSpecs: 2, SerialSpecSeconds: 30, ParallelSpecsRunning: 5, ParallelSpecSeconds: 400, MachineCPU: &CPUUse{CPUs: 2, BusyPercent: 37.4, BusySeconds: 187}},
		Environment: &Environment{ClusterName: "dsconform", ServerVersion: "v1.37.2", ParallelProcs: 3}}
	got := Bench(r)
	for _, want := range []string{"wall time:        250.0 s", "wall ÷ longest:   2.5", "Serial specs:     2, 30.0 s", "machine CPU use:  37% of 2 CPUs, 187 CPU seconds", "v1.37.2"} {
		if !strings.Contains(got, want) {
			t.Errorf("bench lacks %q:\n%s", want, got)
		}
	}
	r.Performance.MachineCPU = nil
	if !strings.Contains(Bench(r), "not measured") {
		t.Error("a run without cpu.txt must say its CPU use was not measured")
	}
}

func TestFailureLines(t *testing.T) {
	long := strings.Repeat("x", failureLineMax+10)
	r := Report{
		Specs: []Spec{
			{RequirementID: "DS-A-01", Text: "a", State: "passed"},
			{RequirementID: "SP-B-01", Text: "b", State: "failed", FailureMessage: "node n1: expected 1, found 2\nfull diff"},
			{Text: "c", State: "timedout", FailureMessage: long},
			{RequirementID: "DS-D-01", Text: "d", State: "listed (dry run)"},
			{RequirementID: "DS-E-01", Text: "e", State: "failed", FailureMessage: "Timed out after 120.001s.\nThe function passed to Eventually failed at x.go:9 with:\nnode n2: should report PIDPressure\nExpected\n  False"},
		},
		SpecialFailures: []string{"BeforeSuite: no cluster"},
	}
	got := r.FailureLines()
	want := []string{
		"FAILED SP-B-01: b: node n1: expected 1, found 2 …",
		"TIMEDOUT -: c: " + long[:failureLineMax] + " …",
		"FAILED DS-E-01: e: Timed out after 120.001s. node n2: should report PIDPressure …",
		"SUITE: BeforeSuite: no cluster",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("FailureLines:\n got %q\nwant %q", got, want)
	}
}
