package report

import (
	"fmt"
	"sort"
	"strings"
)

// Repeat is the flake-budget view of N runs of the suite on one cluster (make e2e-repeat):
// for every spec, how many runs it passed and how long it took.
type Repeat struct {
	Runs  []RepeatRun  `json:"runs"`
	Specs []RepeatSpec `json:"specs"`
}

// RepeatRun is one run of the series.
type RepeatRun struct {
	Verdict     string  `json:"verdict"` // "NO REPORT" when the run left none
	WallSeconds float64 `json:"wallSeconds"`
	Passed      int     `json:"passed"`
	Failed      int     `json:"failed"`
	Skipped     int     `json:"skipped"`
}

// RepeatSpec is one spec across the runs.
type RepeatSpec struct {
	RequirementID string   `json:"requirementId"`
	Text          string   `json:"text"`
	Passed        int      `json:"passed"`
	Failed        int      `json:"failed"`
	Skipped       int      `json:"skipped"`
	NotRun        int      `json:"notRun"`
	MinSeconds    float64  `json:"minSeconds"`         // over the runs it passed
	MedianSeconds float64  `json:"medianSeconds"`      // over the runs it passed
	MaxSeconds    float64  `json:"maxSeconds"`         // over the runs it passed
	Failures      []string `json:"failures,omitempty"` // "run 3: <first line of the message>"
}

// Stable reports whether the spec passed in every run.
func (s RepeatSpec) Stable(runs int) bool { return s.Passed == runs }

// BuildRepeat lines up the runs' reports (in run order; a zero Report for a run that
// left none). A spec that is absent from a run's report, or filtered out of it, counts
// as not run there; a spec selected in no run is left out.
func BuildRepeat(runs []Report) Repeat {
	var rp Repeat
	type acc struct {
		RepeatSpec
		durations []float64
	}
	byKey := map[string]*acc{}
	var order []string
	for i, r := range runs {
		v := r.Verdict
		if v == "" {
			v = "NO REPORT"
		}
		rp.Runs = append(rp.Runs, RepeatRun{Verdict: v, WallSeconds: r.DurationSeconds,
			Passed: r.Totals.Passed, Failed: r.Totals.Failed, Skipped: r.Totals.Skipped})
		for _, s := range r.Specs {
			key := s.RequirementID + "\x00" + s.Text
			a := byKey[key]
			if a == nil {
				a = &acc{RepeatSpec: RepeatSpec{RequirementID: s.RequirementID, Text: s.Text}}
				byKey[key] = a
				order = append(order, key)
			}
			switch {
			case s.State == "passed":
				a.Passed++
				a.durations = append(a.durations, s.DurationSeconds)
			case (s.State == "skipped" || s.State == "pending") && s.SkipReason == "":
				// filtered out (label filter): not selected in this run
			case s.State == "skipped" || s.State == "pending":
				a.Skipped++
			default:
				a.Failed++
				msg, _, _ := strings.Cut(strings.TrimSpace(s.FailureMessage), "\n")
				a.Failures = append(a.Failures, fmt.Sprintf("run %d: %s: %s", i+1, s.State, msg))
			}
		}
	}
	sort.SliceStable(order, func(i, j int) bool { return byKey[order[i]].RequirementID < byKey[order[j]].RequirementID })
	for _, k := range order {
		a := byKey[k]
		if a.Passed+a.Failed+a.Skipped == 0 {
			continue // selected in no run
		}
		a.NotRun = len(runs) - a.Passed - a.Failed - a.Skipped
		if len(a.durations) > 0 {
			st := stat("", a.durations)
			a.MinSeconds, a.MedianSeconds, a.MaxSeconds = st.MinSeconds, st.MedianSeconds, st.MaxSeconds
		}
		rp.Specs = append(rp.Specs, a.RepeatSpec)
	}
	return rp
}

// Unstable lists the specs that did not pass in every run.
func (rp Repeat) Unstable() []RepeatSpec {
	var out []RepeatSpec
	for _, s := range rp.Specs {
		if !s.Stable(len(rp.Runs)) {
			out = append(out, s)
		}
	}
	return out
}

// Markdown renders the series as the table RESULTS.md records.
func (rp Repeat) Markdown() string {
	var b strings.Builder
	n := len(rp.Runs)
	fmt.Fprintf(&b, "| run | verdict | passed | failed | skipped | wall (s) |\n|---|---|---|---|---|---|\n")
	for i, r := range rp.Runs {
		fmt.Fprintf(&b, "| %d | %s | %d | %d | %d | %.1f |\n", i+1, r.Verdict, r.Passed, r.Failed, r.Skipped, r.WallSeconds)
	}
	fmt.Fprintf(&b, "\n| requirement | passed | min (s) | median (s) | max (s) |\n|---|---|---|---|---|\n")
	for _, s := range rp.Specs {
		mark := ""
		if !s.Stable(n) {
			mark = " **unstable**"
		}
		fmt.Fprintf(&b, "| %s | %d/%d%s | %.2f | %.2f | %.2f |\n", s.RequirementID, s.Passed, n, mark, s.MinSeconds, s.MedianSeconds, s.MaxSeconds)
	}
	if u := rp.Unstable(); len(u) > 0 {
		fmt.Fprintf(&b, "\nNot passing in every run:\n")
		for _, s := range u {
			fmt.Fprintf(&b, "- %s (%d passed, %d failed, %d skipped, %d not run)\n", s.RequirementID, s.Passed, s.Failed, s.Skipped, s.NotRun)
			for _, f := range s.Failures {
				fmt.Fprintf(&b, "  - %s\n", f)
			}
		}
	} else {
		fmt.Fprintf(&b, "\nEvery spec passed in all %d runs.\n", n)
	}
	return b.String()
}
