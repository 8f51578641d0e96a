package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	. "github.com/onsi/gomega"

	"github.com/dsconform/dsconform/framework"
	"github.com/dsconform/dsconform/framework/diagnostics"
	"github.com/dsconform/dsconform/framework/ownnode"
	"github.com/dsconform/dsconform/framework/report"
	"github.com/dsconform/dsconform/suites/requirements"
)

// The running spec's namespaces, and what its family adds to its diagnostics on failure.
var (
	specNamespaces   []string
	extraDiagnostics []func(context.Context, *diagnostics.Writer)
)

var _ = BeforeEach(func(ctx SpecContext) {
	specNamespaces, extraDiagnostics = nil, nil
	if cfg.DryRun {
		Skip("dry run: listed, not run")
	}
	// Serial specs run once every process has finished its parallel specs, while those
	// processes remove their nodes of their own: a Serial spec counts the nodes as they
	// are once that is done (seen: kube-proxy "not rolled out" on a node being removed).
	if CurrentSpecReport().IsSerial && ownNodesUsed() && clients != nil {
		Eventually(ctx, func(g Gomega) {
			g.Expect(ownnode.OthersNodes(listNodes(ctx), GinkgoParallelProcess())).To(BeEmpty(),
				"the other processes' nodes of their own should be removed before a Serial spec starts")
		}).WithTimeout(timeouts.Medium).WithPolling(timeouts.Poll).Should(Succeed())
	}
})

// Diagnostics are collected before any DeferCleanup of the spec runs, so they show the
// cluster as the failure left it.
var _ = AfterEach(func(ctx SpecContext) {
	r := CurrentSpecReport()
	if !r.Failed() || clients == nil {
		return
	}
	dir, err := framework.SpecDir(cfg.Artifacts, r.FullText())
	if err != nil {
		return
	}
	diagnostics.Collect(ctx, dir, clients.Kube, specNamespaces, extraDiagnostics...)
	AddReportEntry(framework.DiagnosticsEntry, dir, ReportEntryVisibilityNever)
}, NodeTimeout(framework.DiagnosticsLimit))

// Every spec must carry exactly one catalogued requirement ID: a report that cannot
// trace a result to a documented sentence is not one a certifier can use.
var _ = ReportBeforeSuite(func(r Report) {
	var problems []string
	for _, sr := range r.SpecReports {
		if sr.LeafNodeType != types.NodeTypeIt || slices.Contains(sr.Labels(), "self-test") {
			continue
		}
		if id := report.RequirementOf(sr.Labels()); !requirements.Known(id) {
			problems = append(problems, fmt.Sprintf("%q has requirement ID %q, which is not in suites/requirements", sr.FullText(), id))
		}
	}
	if len(problems) > 0 {
		Fail("specs without a catalogued requirement:\n" + strings.Join(problems, "\n"))
	}
	_ = report.StartProgress(cfg.Artifacts, r.PreRunStats.SpecsThatWillRun)
})

// Live progress, one line per finished spec (the launcher streams them); the report
// itself is written by the launcher from Ginkgo's JSON (scripts/internal/launch).
var _ = ReportAfterEach(func(r SpecReport) {
	if !cfg.DryRun && r.State != types.SpecStateSkipped {
		_ = report.AddProgress(cfg.Artifacts, r.State.String(), r.FullText(), r.RunTime.Seconds())
	}
})

// longestFirst starts the specs that wait minutes on the kubelet's sync or a node's timers before the others.
var longestFirst = SpecPriority(10)

var _ = ReportAfterSuite("dry-run listing", func(r Report) {
	if cfg.DryRun {
		fmt.Print(report.Listing(r, requirements.All()))
	}
})
