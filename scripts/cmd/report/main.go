// Command report works with a finished run's report.json.
//
//	report failed-filter <report.json>   print a Ginkgo label filter selecting the failed specs
//	report matrix <matrix-dir>           build matrix.html and matrix.json from <matrix-dir>/<version>/report.json
//	report repeat <repeat-dir>           build repeat.md and repeat.json from <repeat-dir>/run-<i>/report.json
//	report render <artifacts-dir>        rebuild report.json, report.html, summary.md and
//	                                      junit_01.xml from that folder's ginkgo-report.json,
//	                                      environment.json and timings.txt, as the launcher
//	                                      (scripts/internal/launch) wrote them after the run
//	report product <PRODUCT.yaml>        check a PRODUCT.yaml by the CNCF bot's rules
//	report bench <report.json>           print the run's benchmark: wall time, longest spec,
//	                                      their ratio, Serial and parallel sums, CPU use
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/dsconform/dsconform/framework/report"
	"github.com/dsconform/dsconform/suites/requirements"
)

func main() {
	if len(os.Args) != 3 {
		fail("usage: report failed-filter <report.json> | report bench <report.json> | report product <PRODUCT.yaml> | report render <artifacts-dir> | report matrix <matrix-dir> | report repeat <repeat-dir>")
	}
	switch os.Args[1] {
	case "failed-filter":
		r, err := report.Load(os.Args[2])
		if err != nil {
			fail(fmt.Sprintf("cannot read %s (%v): run 'make e2e' first", os.Args[2], err))
		}
		f := r.FailedRequirements()
		if f == "" {
			fail(fmt.Sprintf("%s has no failed specs: nothing to re-run", os.Args[2]))
		}
		fmt.Println(f)
	case "bench":
		r, err := report.Load(os.Args[2])
		if err != nil {
			fail(fmt.Sprintf("cannot read %s (%v): run 'make e2e-run' first", os.Args[2], err))
		}
		fmt.Print(report.Bench(r))
	case "product":
		data, err := os.ReadFile(os.Args[2])
		if err != nil {
			fail(fmt.Sprintf("E2E_PRODUCT_FILE: %v", err))
		}
		if _, err := report.ParseProduct(data); err != nil {
			fail(fmt.Sprintf("%s: %v", os.Args[2], err))
		}
	case "matrix":
		dir := os.Args[2]
		entries, err := os.ReadDir(dir)
		if err != nil {
			fail(fmt.Sprintf("cannot read %s (%v): run 'make e2e-matrix' first", dir, err))
		}
		runs, paths := map[string]report.Report{}, map[string]string{}
		for _, e := range entries {
			if !e.IsDir() || !strings.HasPrefix(e.Name(), "v1.") {
				continue
			}
			r, err := report.Load(filepath.Join(dir, e.Name(), "report.json"))
			if err == nil {
				paths[e.Name()] = e.Name() + "/report.html"
			}
			runs[e.Name()] = r // a zero Report when the run left none
		}
		m := report.BuildMatrix(runs, paths, requirements.All())
		if err := report.WriteMatrix(dir, m); err != nil {
			fail(err.Error())
		}
		fmt.Printf("%s: %s\n", filepath.Join(dir, "matrix.html"), m.Verdict())
	case "repeat":
		dir := os.Args[2]
		var runs []report.Report
		for i := 1; ; i++ {
			d := filepath.Join(dir, fmt.Sprintf("run-%d", i))
			if _, err := os.Stat(d); err != nil {
				break
			}
			r, _ := report.Load(filepath.Join(d, "report.json")) // a zero Report when the run left none
			runs = append(runs, r)
		}
		if len(runs) == 0 {
			fail(fmt.Sprintf("%s has no run-1: run 'make e2e-repeat' first", dir))
		}
		rp := report.BuildRepeat(runs)
		js, _ := json.MarshalIndent(rp, "", "  ")
		if err := os.WriteFile(filepath.Join(dir, "repeat.json"), js, 0o644); err != nil {
			fail(err.Error())
		}
		if err := os.WriteFile(filepath.Join(dir, "repeat.md"), []byte(rp.Markdown()), 0o644); err != nil {
			fail(err.Error())
		}
		fmt.Printf("%s: %d runs, %d of %d specs passed in every run\n", filepath.Join(dir, "repeat.md"),
			len(runs), len(rp.Specs)-len(rp.Unstable()), len(rp.Specs))
		if len(rp.Unstable()) > 0 {
			os.Exit(1)
		}
	case "render":
		dir := os.Args[2]
		r, err := report.RenderDir(dir, requirements.All())
		if err != nil {
			fail(err.Error())
		}
		fmt.Printf("%s: %s\n", filepath.Join(dir, "report.html"), r.Headline)
	default:
		fail("unknown command " + os.Args[1])
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "error:", msg)
	os.Exit(1)
}
