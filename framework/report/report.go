// Package report turns a Ginkgo run into what a certifier reads: report.json,
// report.html, summary.md and junit_01.xml, each tracing every spec to the
// documented requirement it proves.
package report

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/dsconform/dsconform/framework"
)

// Requirement is one documented behaviour from the suite's catalogue.
type Requirement struct {
	ID        string `json:"id"`
	Area      string `json:"area"`
	Statement string `json:"statement"`
	Source    string `json:"source"`
	// NoFault, when set, says why no fault of a real cluster can break the requirement
	// (a dispute, with its evidence): the self-test lists it apart instead of as unproven.
	NoFault string `json:"noFault,omitempty"`
}

// Report is report.json.
type Report struct {
	SuiteDescription string              `json:"suiteDescription"`
	Verdict          string              `json:"verdict"` // PASSED, FAILED, INTERRUPTED or NO SPECS RAN
	Started          time.Time           `json:"started"`
	Ended            time.Time           `json:"ended"`
	DurationSeconds  float64             `json:"durationSeconds"`
	Environment      *Environment        `json:"environment,omitempty"`
	SetupSeconds     map[string]float64  `json:"setupSeconds,omitempty"`
	Totals           Totals              `json:"totals"`
	Specs            []Spec              `json:"specs"`
	Requirements     []RequirementResult `json:"requirements"`
	Latencies        []LatencyStat       `json:"latencies"`
	SpecialFailures  []string            `json:"suiteFailures,omitempty"`     // setup/teardown failures
	Interrupted      string              `json:"interruptedDuring,omitempty"` // the spec running when the run was interrupted
	SelfTest         string              `json:"selfTest,omitempty"`          // the self-test's sensitivity page, relative to the report
	// Headline is the verdict as a certifier reads it: a PASSED run that skipped
	// selected specs at run time says how many requirements it did not prove, and why.
	Headline    string      `json:"headline"`
	NotProven   []NotProven `json:"notProven,omitempty"`
	Performance Performance `json:"performance"`
}

// Performance is how the run used its time: measured, never asserted by a spec.
type Performance struct {
	WallSeconds          float64 `json:"wallSeconds"`          // the suite, first spec to last
	LongestSpec          string  `json:"longestSpec"`          // requirement ID and text
	LongestSpecSeconds   float64 `json:"longestSpecSeconds"`   // the floor of any wall time
	WallToLongest        float64 `json:"wallToLongest"`        // 1 is the best any order can do
	SerialSpecSeconds    float64 `json:"serialSpecSeconds"`    // sum over Serial specs (they run one at a time)
	ParallelSpecSeconds  float64 `json:"parallelSpecSeconds"`  // sum over the others
	SerialSpecs          int     `json:"serialSpecs"`          // how many ran Serial
	ParallelSpecsRunning int     `json:"parallelSpecsRunning"` // how many ran in parallel
	// MachineCPU is how busy the machine's CPUs were during the run (the launcher's
	// cpu.txt), nil when not measured.
	MachineCPU *CPUUse `json:"machineCpu,omitempty"`
}

// performanceOf measures the specs that ran.
func performanceOf(specs []Spec, wall float64) Performance {
	p := Performance{WallSeconds: wall}
	for _, s := range specs {
		if s.State == "skipped" || s.State == "pending" {
			continue
		}
		if s.DurationSeconds > p.LongestSpecSeconds {
			p.LongestSpecSeconds, p.LongestSpec = s.DurationSeconds, strings.TrimSpace(s.RequirementID+" "+s.Text)
		}
		if s.Serial {
			p.SerialSpecSeconds += s.DurationSeconds
			p.SerialSpecs++
		} else {
			p.ParallelSpecSeconds += s.DurationSeconds
			p.ParallelSpecsRunning++
		}
	}
	if p.LongestSpecSeconds > 0 {
		p.WallToLongest = wall / p.LongestSpecSeconds
	}
	return p
}

// NotProven is a selected spec that skipped itself at run time, with its reason.
type NotProven struct {
	RequirementID string `json:"requirementId"`
	Spec          string `json:"spec"`
	Reason        string `json:"reason"`
}

type Totals struct {
	Selected int `json:"selected"`
	Passed   int `json:"passed"`
	Failed   int `json:"failed"`
	Skipped  int `json:"skipped"`
	Pending  int `json:"pending"`
	Flaked   int `json:"flaked"`
}

type Spec struct {
	Text            string              `json:"text"`
	RequirementID   string              `json:"requirementId"`
	Labels          []string            `json:"labels"`
	Serial          bool                `json:"serial"`
	State           string              `json:"state"`
	DurationSeconds float64             `json:"durationSeconds"`
	Attempts        int                 `json:"attempts"`
	FailureMessage  string              `json:"failureMessage,omitempty"`
	FailureLocation string              `json:"failureLocation,omitempty"`
	SkipReason      string              `json:"skipReason,omitempty"`
	Diagnostics     string              `json:"diagnostics,omitempty"`
	Latencies       []framework.Latency `json:"latencies,omitempty"`
	Observations    []string            `json:"observations,omitempty"`
}

type RequirementResult struct {
	Requirement
	Specs  []string `json:"specs"`
	Result string   `json:"result"` // passed, failed, skipped, not run
	// ProvenBy lists the self-test's faults under which the requirement's specs were seen
	// to fail as predicted (make e2e-selftest): evidence that they can fail.
	ProvenBy []string `json:"provenBy,omitempty"`
}

type LatencyStat struct {
	Metric        string  `json:"metric"`
	Count         int     `json:"count"`
	MinSeconds    float64 `json:"minSeconds"`
	MedianSeconds float64 `json:"medianSeconds"`
	MaxSeconds    float64 `json:"maxSeconds"`
}

var requirementID = regexp.MustCompile(`^(DS|SP)-[A-Z]+-[0-9]{2}$`)

// RequirementOf returns the requirement ID among a spec's labels.
func RequirementOf(labels []string) string {
	for _, l := range labels {
		if requirementID.MatchString(l) {
			return l
		}
	}
	return ""
}

// Build makes the report from Ginkgo's report, the requirement catalogue, the
// environment (environment.json) and setup timings.
func Build(gr types.Report, catalogue []Requirement, env *Environment, setup map[string]float64) Report {
	r := Report{SuiteDescription: gr.SuiteDescription, Started: gr.StartTime, Ended: gr.EndTime,
		DurationSeconds: gr.RunTime.Seconds(), Environment: env, SetupSeconds: setup}
	r.Totals.Selected = gr.PreRunStats.SpecsThatWillRun
	byReq := map[string][]Spec{}
	samples := map[string][]float64{}
	for _, sr := range gr.SpecReports {
		if sr.LeafNodeType != types.NodeTypeIt {
			if sr.State.Is(types.SpecStateFailureStates) {
				r.SpecialFailures = append(r.SpecialFailures, sr.LeafNodeType.String()+": "+sr.Failure.Message)
			}
			continue
		}
		s := specOf(sr)
		if gr.SuiteConfig.DryRun { // Ginkgo reports listed specs as passed
			s.State = "listed (dry run)"
			r.Specs = append(r.Specs, s)
			continue
		}
		r.Specs = append(r.Specs, s)
		byReq[s.RequirementID] = append(byReq[s.RequirementID], s)
		for _, l := range s.Latencies {
			samples[l.Metric] = append(samples[l.Metric], l.Seconds)
		}
		switch {
		case sr.State == types.SpecStatePassed:
			r.Totals.Passed++
			if sr.NumAttempts > 1 {
				r.Totals.Flaked++
			}
		case sr.State == types.SpecStatePending:
			r.Totals.Pending++
		case sr.State == types.SpecStateSkipped:
			r.Totals.Skipped++
		default:
			r.Totals.Failed++
		}
	}
	// Failures first, then by requirement ID: the order a reader triages in.
	sort.SliceStable(r.Specs, func(i, j int) bool {
		fi, fj := isFailure(r.Specs[i].State), isFailure(r.Specs[j].State)
		if fi != fj {
			return fi
		}
		return r.Specs[i].RequirementID < r.Specs[j].RequirementID
	})
	for _, req := range catalogue {
		rr := RequirementResult{Requirement: req, Result: "not run"}
		for _, s := range byReq[req.ID] {
			rr.Specs = append(rr.Specs, s.Text)
			rr.Result = worse(rr.Result, s.State)
		}
		r.Requirements = append(r.Requirements, rr)
	}
	for metric, xs := range samples {
		r.Latencies = append(r.Latencies, stat(metric, xs))
	}
	sort.Slice(r.Latencies, func(i, j int) bool { return r.Latencies[i].Metric < r.Latencies[j].Metric })
	r.Verdict = verdict(gr, r.Totals, len(r.SpecialFailures))
	for _, sp := range r.Specs {
		if sp.State == "interrupted" {
			r.Interrupted = sp.RequirementID + " " + sp.Text
		}
		if sp.State == "skipped" && sp.SkipReason != "" { // filtered-out specs carry no reason
			r.NotProven = append(r.NotProven, NotProven{RequirementID: sp.RequirementID, Spec: sp.Text, Reason: sp.SkipReason})
		}
	}
	r.Headline = headline(r)
	r.Performance = performanceOf(r.Specs, r.DurationSeconds)
	return r
}

func specOf(sr types.SpecReport) Spec {
	s := Spec{Text: sr.FullText(), Labels: sr.Labels(), Serial: sr.IsSerial, State: sr.State.String(),
		DurationSeconds: sr.RunTime.Seconds(), Attempts: sr.NumAttempts}
	s.RequirementID = RequirementOf(s.Labels)
	if sr.State.Is(types.SpecStateFailureStates) {
		s.FailureMessage = sr.Failure.Message
		s.FailureLocation = sr.Failure.Location.String()
	}
	if sr.State == types.SpecStateSkipped {
		s.SkipReason = sr.Failure.Message
	}
	for _, e := range sr.ReportEntries {
		switch e.Name {
		case framework.LatencyEntry:
			var l framework.Latency
			if json.Unmarshal([]byte(e.Value.AsJSON), &l) == nil {
				s.Latencies = append(s.Latencies, l)
			}
		case framework.ObservationEntry:
			var o string
			if json.Unmarshal([]byte(e.Value.AsJSON), &o) == nil {
				s.Observations = append(s.Observations, o)
			}
		case framework.DiagnosticsEntry:
			_ = json.Unmarshal([]byte(e.Value.AsJSON), &s.Diagnostics)
		}
	}
	return s
}

func isFailure(state string) bool {
	return state != "passed" && state != "skipped" && state != "pending"
}

// worse combines results: any failure fails the requirement; passed beats skipped.
func worse(cur, state string) string {
	switch {
	case isFailure(state) || cur == "failed":
		return "failed"
	case state == "passed" || cur == "passed":
		return "passed"
	default:
		return "skipped"
	}
}

func verdict(gr types.Report, t Totals, special int) string {
	switch {
	case gr.SuiteConfig.DryRun:
		return "DRY RUN: nothing ran"
	case gr.SpecialSuiteFailureReasons != nil && containsInterrupt(gr.SpecialSuiteFailureReasons):
		return "INTERRUPTED"
	case t.Failed > 0 || special > 0 || !gr.SuiteSucceeded:
		return "FAILED"
	case t.Passed == 0:
		return "NO SPECS RAN"
	default:
		return "PASSED"
	}
}

// headline: "PASSED 52/56 — 4 not proven: <reason> (DS-NODE-01, …); …" when a passing
// run skipped selected specs; otherwise the verdict.
func headline(r Report) string {
	if r.Verdict != "PASSED" || len(r.NotProven) == 0 {
		return r.Verdict
	}
	var reasons []string
	byReason := map[string][]string{}
	for _, np := range r.NotProven {
		if _, ok := byReason[np.Reason]; !ok {
			reasons = append(reasons, np.Reason)
		}
		byReason[np.Reason] = append(byReason[np.Reason], np.RequirementID)
	}
	var parts []string
	for _, why := range reasons {
		parts = append(parts, fmt.Sprintf("%s (%s)", why, strings.Join(byReason[why], ", ")))
	}
	return fmt.Sprintf("PASSED %d/%d — %d not proven: %s", r.Totals.Passed, r.Totals.Passed+len(r.NotProven), len(r.NotProven), strings.Join(parts, "; "))
}

func containsInterrupt(reasons []string) bool {
	for _, r := range reasons {
		if strings.Contains(strings.ToLower(r), "interrupt") {
			return true
		}
	}
	return false
}

func stat(metric string, xs []float64) LatencyStat {
	sort.Float64s(xs)
	med := xs[len(xs)/2]
	if len(xs)%2 == 0 {
		med = (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
	}
	return LatencyStat{Metric: metric, Count: len(xs), MinSeconds: xs[0], MedianSeconds: med, MaxSeconds: xs[len(xs)-1]}
}

// FailedRequirements returns the requirement IDs of the report's failed specs, as
// a Ginkgo label filter that re-runs exactly those.
func (r Report) FailedRequirements() string {
	var ids []string
	for _, s := range r.Specs {
		if isFailure(s.State) && s.RequirementID != "" {
			ids = append(ids, s.RequirementID)
		}
	}
	return strings.Join(ids, " || ")
}

// Listing is what a dry run prints: every spec that would run, with the requirement it
// proves.
func Listing(gr types.Report, catalogue []Requirement) string {
	byID := map[string]Requirement{}
	for _, r := range catalogue {
		byID[r.ID] = r
	}
	var b strings.Builder
	b.WriteString("\nSpecs that would run, with the requirement each proves:\n")
	n := 0
	for _, sr := range gr.SpecReports {
		if sr.LeafNodeType != types.NodeTypeIt || sr.State == types.SpecStatePending || sr.State == types.SpecStateSkipped {
			continue
		}
		id := RequirementOf(sr.Labels())
		serial := ""
		if sr.IsSerial {
			serial = " [Serial]"
		}
		n++
		fmt.Fprintf(&b, "%3d. %-12s %s%s\n       %s\n", n, id, sr.FullText(), serial, byID[id].Statement)
	}
	fmt.Fprintf(&b, "%d specs\n", n)
	return b.String()
}

// Bench is the run's benchmark as `make bench` prints it: measured, never asserted.
func Bench(r Report) string {
	p := r.Performance
	var b strings.Builder
	fmt.Fprintf(&b, "run:              %s, %d passed, %d failed, %d skipped (%s)\n", r.Started.Format("2006-01-02 15:04"), r.Totals.Passed, r.Totals.Failed, r.Totals.Skipped, r.Verdict)
	if r.Environment != nil {
		fmt.Fprintf(&b, "cluster:          %s, Kubernetes %s, %d nodes, %d parallel processes\n", r.Environment.ClusterName, r.Environment.ServerVersion, len(r.Environment.Nodes), r.Environment.ParallelProcs)
	}
	fmt.Fprintf(&b, "wall time:        %.1f s\n", p.WallSeconds)
	fmt.Fprintf(&b, "longest spec:     %.1f s  %s\n", p.LongestSpecSeconds, p.LongestSpec)
	fmt.Fprintf(&b, "wall ÷ longest:   %.1f\n", p.WallToLongest)
	fmt.Fprintf(&b, "Serial specs:     %d, %.1f s in all\n", p.SerialSpecs, p.SerialSpecSeconds)
	fmt.Fprintf(&b, "parallel specs:   %d, %.1f s in all\n", p.ParallelSpecsRunning, p.ParallelSpecSeconds)
	if c := p.MachineCPU; c != nil {
		fmt.Fprintf(&b, "machine CPU use:  %.0f%% of %d CPUs, %.0f CPU seconds\n", c.BusyPercent, c.CPUs, c.BusySeconds)
	} else {
		b.WriteString("machine CPU use:  not measured\n")
	}
	return b.String()
}

// failureLineMax bounds a failure line: the message's first line, cut, so that the tail
// of a console (what a CI system shows) still names what failed and why.
const failureLineMax = 600

// FailureLines is one line per failed spec and per suite-level failure: the requirement,
// the spec and the first line of its failure message, for the end of a console.
func (r Report) FailureLines() []string {
	var lines []string
	for _, s := range r.Specs {
		if !isFailure(s.State) || s.FailureMessage == "" && s.FailureLocation == "" {
			continue
		}
		id := s.RequirementID
		if id == "" {
			id = "-"
		}
		lines = append(lines, fmt.Sprintf("%s %s: %s: %s", strings.ToUpper(s.State), id, s.Text, firstLine(s.FailureMessage)))
	}
	for _, f := range r.SpecialFailures {
		lines = append(lines, "SUITE: "+firstLine(f))
	}
	return lines
}

func firstLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	s = lines[0]
	// A timed-out Eventually says what failed on the line after "… with:".
	if strings.HasPrefix(s, "Timed out after") || strings.HasPrefix(s, "Context was cancelled") {
		for i := 1; i+1 < len(lines); i++ {
			if strings.HasSuffix(lines[i], " with:") {
				s += " " + strings.TrimSpace(lines[i+1])
				lines = lines[:i+2]
				break
			}
		}
	}
	if len(lines) > 1 {
		s += " …"
	}
	if len(s) > failureLineMax {
		s = s[:failureLineMax] + " …"
	}
	return s
}
