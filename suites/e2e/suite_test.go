// Package e2e is the conformance suite (`make e2e`; README.md). This file and
// hooks_test.go wire it into Ginkgo, helpers_test.go binds the framework to its clients
// and tiers, and every other file holds specs.
package e2e

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/dsconform/dsconform/framework"
	"github.com/dsconform/dsconform/framework/kindcluster"
	"github.com/dsconform/dsconform/framework/node"
	"github.com/dsconform/dsconform/framework/session"
)

var (
	cfg      = &framework.Config{}
	timeouts framework.Timeouts
	// sess is this process's view of the run (framework/session); the first process's
	// also holds the run's Lease.
	sess    *session.Session
	state   session.State
	clients *framework.Clients
	// cluster is the cluster under test when it is a kind cluster.
	cluster *kindcluster.Cluster
	// nodeChanges makes every change to a node, stamped with this run's ID.
	nodeChanges node.Changer
)

func init() {
	if err := cfg.RegisterFlags(flag.CommandLine); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(2)
	}
}

func TestE2E(t *testing.T) {
	// The launcher (make e2e, make e2e-run, the self-test, the suite image) always names
	// the results folder. A plain `go test ./...` does not, and would go on to reuse,
	// replace or create a kind cluster with the defaults: refuse, saying how to run it.
	named := false
	flag.Visit(func(f *flag.Flag) { named = named || f.Name == "e2e.artifacts" })
	if !named && os.Getenv("ARTIFACTS") == "" {
		t.Fatal("the e2e suite runs through its launcher: `make e2e` (a cluster and a report) or `make e2e-run` (README.md); " +
			"to run the test binary directly, name the results folder with -e2e.artifacts=DIR (or ARTIFACTS=DIR)")
	}
	RegisterFailHandler(Fail)
	// Ginkgo runs a suite from its package directory; paths are relative to the repo root.
	if root, err := filepath.Abs("../.."); err == nil {
		cfg.ResolvePaths(root)
	}
	timeouts = cfg.Timeouts()
	framework.UseTiers(timeouts)
	if err := os.MkdirAll(cfg.Artifacts, 0o755); err != nil {
		t.Fatalf("artifacts folder %s: %v", cfg.Artifacts, err)
	}
	// A named mode selects its specs here, in the suite, so that every entry point (make,
	// the suite image, Hydrophone's --focus) gets the same selection from one definition.
	suiteConfig, reporterConfig := GinkgoConfiguration()
	var err error
	if suiteConfig.LabelFilter, err = framework.SuiteLabelFilter(suiteConfig.LabelFilter, cfg.Mode); err != nil {
		t.Fatal(err)
	}
	RunSpecs(t, "DaemonSet and static pod conformance", suiteConfig, reporterConfig)
}

var _ = SynchronizedBeforeSuite(func(ctx SpecContext) []byte {
	if cfg.DryRun {
		return nil
	}
	suite, _ := GinkgoConfiguration()
	var err error
	sess, err = session.Start(ctx, cfg, timeouts, session.RunInfo{LabelFilter: suite.LabelFilter, RandomSeed: suite.RandomSeed,
		Procs: suite.ParallelTotal}, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	data, err := json.Marshal(sess.State)
	Expect(err).NotTo(HaveOccurred())
	return data
}, func(ctx SpecContext, data []byte) {
	if cfg.DryRun {
		return
	}
	if sess == nil { // a parallel process other than the first
		Expect(json.Unmarshal(data, &state)).To(Succeed())
		var err error
		sess, err = session.Join(cfg, timeouts, state)
		Expect(err).NotTo(HaveOccurred())
	}
	state, clients, cluster, nodeChanges = sess.State, sess.Clients, sess.Kind, sess.NodeChanges
	// The waits on the cluster's own timers follow what this cluster uses.
	timeouts = timeouts.For(state.Timers)
	sess.Timeouts = timeouts
	framework.UseTiers(timeouts)
}, NodeTimeout(framework.SuiteSetupLimit))

// Every process first removes its node of its own, then the first ends the run.
var _ = SynchronizedAfterSuite(func(ctx SpecContext) {
	if ownNodes != nil {
		Expect(ownNodes.Close(ctx)).To(Succeed())
	}
}, func(ctx SpecContext) {
	if cfg.DryRun || sess == nil {
		return
	}
	Expect(sess.Finish(ctx)).To(Succeed())
}, NodeTimeout(framework.SuiteSetupLimit))
