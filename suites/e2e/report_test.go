package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	. "github.com/onsi/ginkgo/v2"

	"github.com/dsconform/dsconform/framework/report"
	"github.com/dsconform/dsconform/suites/requirements"
)

// Every spec must carry exactly one catalogued requirement ID: a report that
// cannot trace a result to a documented sentence is not one a certifier can use.
var _ = ReportBeforeSuite(func(r Report) {
	var problems []string
	for _, sr := range r.SpecReports {
		if sr.LeafNodeType.String() != "It" || slices.Contains(sr.Labels(), "self-test") {
			continue
		}
		id := report.RequirementOf(sr.Labels())
		if _, ok := requirements.Lookup(id); !ok {
			problems = append(problems, fmt.Sprintf("%q has requirement ID %q, which is not in suites/requirements", sr.FullText(), id))
		}
	}
	if len(problems) > 0 {
		Fail("specs without a catalogued requirement:\n" + strings.Join(problems, "\n"))
	}
})

var _ = ReportAfterSuite("certification report", func(r Report) {
	if cfg.DryRun {
		printDryRun(r)
		return
	}
	env, _ := os.ReadFile(filepath.Join(cfg.Artifacts, "environment.json"))
	if !json.Valid(env) {
		env = nil
	}
	rep := report.Build(r, requirements.All(), env, report.ReadTimings(filepath.Join(cfg.Artifacts, "timings.txt")))
	if err := report.WriteAll(cfg.Artifacts, rep, r); err != nil {
		fmt.Fprintf(os.Stderr, "writing the report: %v\n", err)
		return
	}
	fmt.Printf("\nReport: %s (%s) — %d passed, %d failed, %d skipped\n",
		filepath.Join(cfg.Artifacts, "report.html"), rep.Headline, rep.Totals.Passed, rep.Totals.Failed, rep.Totals.Skipped)
})

func printDryRun(r Report) {
	fmt.Println("\nSpecs that would run, with the requirement each proves:")
	n := 0
	for _, sr := range r.SpecReports {
		if sr.LeafNodeType.String() != "It" || sr.State.String() == "pending" {
			continue
		}
		id := report.RequirementOf(sr.Labels())
		req, _ := requirements.Lookup(id)
		serial := ""
		if sr.IsSerial {
			serial = " [Serial]"
		}
		n++
		fmt.Printf("%3d. %-12s %s%s\n       %s\n", n, id, sr.FullText(), serial, req.Statement)
	}
	fmt.Printf("%d specs\n", n)
}
