// Command selftest is the suite's fault matrix (make e2e-selftest). For each fault in
// fixtures/failure-injection/faults.yaml it breaks the kind cluster as the fault says,
// runs the affected specs (through scripts/internal/launch, against the existing cluster), restores
// the cluster, waits until it is healthy again, and checks with framework/selftest that
// exactly the predicted requirements failed, with messages that say what was wrong.
//
// It writes $ARTIFACTS/selftest/<fault>/ (each run's reports), sensitivity.md,
// sensitivity.html and sensitivity.json. Before the first fault it runs every fault's
// (idempotent) restore steps, so a killed self-test's leftovers are undone. SIGINT or
// SIGTERM stops the running specs, restores the cluster and exits 130/143.
//
//	FAULTS="id,id"          run only these faults (default: all)
//	E2E_TIMEOUT_SCALE=0.5   the specs' timeout scale under a fault (default 0.5)
//	SELFTEST_CLUSTERS=2     break and restore this many clusters at once, each fault on one
//	                        (default 1): the configured cluster and <name>-st2..., created from
//	                        the same node image and kind config and deleted afterwards
//	                        (unless E2E_KEEP_CLUSTER=true); kubeconfigs in selftest/clusters/
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"sigs.k8s.io/kind/pkg/cluster/nodes"

	"github.com/dsconform/dsconform/framework"
	"github.com/dsconform/dsconform/framework/kindcluster"
	"github.com/dsconform/dsconform/framework/report"
	"github.com/dsconform/dsconform/framework/selftest"
	"github.com/dsconform/dsconform/scripts/internal/launch"
	"github.com/dsconform/dsconform/suites/requirements"
)

const table = "fixtures/failure-injection/faults.yaml"

// untilLimit bounds a step with `until` (framework/selftest.Step).
const untilLimit = 3 * time.Minute

// lastSignal is the signal that stopped the self-test, if any.
var lastSignal atomic.Value

func main() { os.Exit(run()) }

// run is the self-test; its deferred steps (deleting the extra clusters) run before the exit.
func run() int {
	cfg, err := framework.ParseConfig("selftest", os.Args[1:])
	if err != nil {
		fail(err.Error())
	}
	root, _ := os.Getwd()
	faults, err := selftest.Load(table)
	if err != nil {
		fail(err.Error())
	}
	tableFaults := faults
	if faults, err = selected(faults, os.Getenv("FAULTS")); err != nil {
		fail(err.Error())
	}

	out := filepath.Join(cfg.Artifacts, "selftest")
	if err := os.MkdirAll(out, 0o755); err != nil {
		fail(err.Error())
	}
	lanes, err := laneCount(os.Getenv("SELFTEST_CLUSTERS"), len(faults))
	if err != nil {
		fail(err.Error())
	}
	first := &lane{name: cfg.ClusterName, kind: kindcluster.New(cfg.ClusterName, nil), kubeconfig: filepath.Join(cfg.Artifacts, "kubeconfig")}
	if ok, err := first.kind.Exists(); err != nil || !ok {
		fail(fmt.Sprintf("no kind cluster %s: run 'make cluster' first (the self-test breaks and restores a kind cluster)", cfg.ClusterName))
	}
	all := []*lane{first}
	for i := 2; i <= lanes; i++ {
		name := laneName(cfg.ClusterName, i)
		all = append(all, &lane{name: name, kind: kindcluster.New(name, nil), kubeconfig: filepath.Join(out, "clusters", name, "kubeconfig"), extra: true})
	}
	defer func() { // the extra clusters go with the self-test, whatever happened
		for _, l := range all {
			if l.created && !cfg.KeepCluster {
				say("deleting cluster %s (E2E_KEEP_CLUSTER=true keeps it)", l.name)
				if err := l.kind.Delete(""); err != nil {
					say("deleting cluster %s: %v", l.name, err)
				}
			}
		}
	}()

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	sigs := make(chan os.Signal, 2)
	for _, l := range all {
		l.signals = make(chan os.Signal, 2)
	}
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		for s := range sigs {
			lastSignal.Store(s)
			stop()
			for _, l := range all { // to the running specs, if any (each lane stops after them)
				select {
				case l.signals <- s:
				default:
				}
			}
		}
	}()
	images := map[string]string{}
	for _, f := range []string{"node-image", "workload-image"} {
		if data, err := os.ReadFile(filepath.Join(cfg.Artifacts, f)); err == nil {
			images[f] = strings.TrimSpace(string(data))
		}
	}
	// One compiled suite for every fault and cluster: Ginkgo compiling ./suites/e2e per run
	// writes and removes one binary in the source tree, which lanes running at once share.
	suite := filepath.Join(out, "e2e.test")
	say("compiling the suite into %s", suite)
	build := exec.Command("go", "test", "-c", "-o", suite, "./suites/e2e")
	build.Dir, build.Stdout, build.Stderr = root, os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fail("compiling the suite: " + err.Error())
	}
	where := launch.Where{Ginkgo: []string{"go", "tool", "ginkgo"}, Suite: suite, Dir: root}
	var problems []string
	var mu sync.Mutex
	eachLane(all, func(l *lane) {
		if err := l.prepare(ctx, cfg, images, faults); err != nil {
			mu.Lock()
			problems = append(problems, err.Error())
			mu.Unlock()
		}
	})
	if len(problems) > 0 {
		fmt.Fprintln(os.Stderr, "error:", strings.Join(problems, "; "))
		return 1
	}

	queue := make(chan selftest.Fault, len(faults))
	for _, f := range faults {
		queue <- f
	}
	close(queue)
	results := map[string]selftest.Outcome{}
	interrupted := 0
	eachLane(all, func(l *lane) {
		for f := range queue {
			if ctx.Err() != nil {
				return
			}
			o, code, err := l.runFault(ctx, cfg, where, images, filepath.Join(out, f.ID), f)
			mu.Lock()
			if code == 130 || code == 143 {
				interrupted = code
			}
			if err != nil { // the lane's cluster is left broken: no more faults anywhere
				problems = append(problems, err.Error())
				stop()
			} else {
				results[f.ID] = o
			}
			mu.Unlock()
			if err != nil {
				return
			}
		}
	})
	var outcomes []selftest.Outcome
	for _, f := range faults { // the table's order, whichever cluster ran a fault
		if o, ok := results[f.ID]; ok {
			outcomes = append(outcomes, o)
		}
	}
	ran := len(outcomes) // this run's, before the earlier runs' outcomes are merged in

	if os.Getenv("FAULTS") != "" {
		outcomes = withEarlier(filepath.Join(out, "sensitivity.json"), outcomes, tableFaults)
	}
	s := selftest.BuildSensitivity(outcomes, requirements.All())
	if err := write(out, s); err != nil {
		fail(err.Error())
	}
	if len(problems) > 0 {
		say("stopped: %s", strings.Join(problems, "; "))
		return 1
	}
	// The suite's own report, if a run left one here, gets the "seen to fail under" column.
	if _, err := os.Stat(filepath.Join(cfg.Artifacts, "ginkgo-report.json")); err == nil {
		if _, err := report.RenderDir(cfg.Artifacts, requirements.All()); err != nil {
			say("re-rendering %s/report.html with the self-test: %v", cfg.Artifacts, err)
		}
	}
	ok := 0
	for _, o := range outcomes {
		if o.OK() {
			ok++
		}
	}
	fmt.Printf("%s: %d of %d faults as predicted; %d of %d requirements caught by a targeted fault\n",
		filepath.Join(out, "sensitivity.html"), ok, len(outcomes), s.Proven(), len(s.Rows))
	for _, u := range s.NoFault {
		say("no fault possible (disputed): %s: %s", u.ID, u.NoFault)
	}
	if len(s.Unproven) > 0 {
		ids := make([]string, len(s.Unproven))
		for i, u := range s.Unproven {
			ids[i] = u.ID
		}
		if len(outcomes) == len(tableFaults) {
			say("proven by no targeted fault (a fault under which most of the specs it runs still pass): %s", strings.Join(ids, " "))
		} else {
			say("not proven by the %d of %d faults on record (this run's and the last self-test's here; run them all to judge): %s", len(outcomes), len(tableFaults), strings.Join(ids, " "))
		}
	}
	if s, _ := lastSignal.Load().(os.Signal); s != nil && interrupted == 0 {
		interrupted = map[bool]int{true: 143, false: 130}[s == syscall.SIGTERM]
	}
	switch {
	case interrupted != 0:
		say("interrupted: the cluster was restored; %d of %d faults ran", ran, len(faults))
		return interrupted
	case ok != len(outcomes) || len(outcomes) < len(faults):
		return 1
	case len(s.Unproven) > 0 && len(outcomes) == len(tableFaults):
		return 1 // the whole table ran (or is on record) and some requirement is still unproven
	}
	return 0
}

// withEarlier keeps, for a run of some faults (FAULTS=...), the outcomes the last self-test
// recorded for the table's other faults, so the page still covers the whole table.
func withEarlier(path string, now []selftest.Outcome, table []selftest.Fault) []selftest.Outcome {
	var prev selftest.Sensitivity
	data, err := os.ReadFile(path)
	if err != nil || json.Unmarshal(data, &prev) != nil {
		return now
	}
	ran := map[string]selftest.Outcome{}
	for _, o := range now {
		ran[o.Fault] = o
	}
	earlier := map[string]selftest.Outcome{}
	for _, o := range prev.Faults {
		earlier[o.Fault] = o
	}
	var out []selftest.Outcome
	for _, f := range table {
		if o, ok := ran[f.ID]; ok {
			out = append(out, o)
		} else if o, ok := earlier[f.ID]; ok {
			say("%s: kept from the previous self-test (%s)", f.ID, map[bool]string{true: "as predicted", false: "NOT as predicted"}[o.OK()])
			out = append(out, o)
		}
	}
	return out
}

func selected(faults []selftest.Fault, only string) ([]selftest.Fault, error) {
	if only == "" {
		return faults, nil
	}
	byID := map[string]selftest.Fault{}
	for _, f := range faults {
		byID[f.ID] = f
	}
	var out []selftest.Fault
	var unknown []string
	for _, id := range strings.Split(only, ",") {
		id = strings.TrimSpace(id)
		if id == "" {
			continue
		}
		f, ok := byID[id]
		if !ok {
			unknown = append(unknown, id)
			continue
		}
		out = append(out, f)
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("FAULTS names no such fault: %s (the ids are the \"- id:\" lines of %s)", strings.Join(unknown, ", "), table)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("FAULTS=%s matches no fault in %s", only, table)
	}
	return out, nil
}

// nodeRoles resolves the table's node names: the first control-plane node and the first
// worker, by name.
func nodeRoles(all []nodes.Node) (map[string]nodes.Node, error) {
	sort.Slice(all, func(i, j int) bool { return all[i].String() < all[j].String() })
	roles := map[string]nodes.Node{}
	for _, n := range all {
		r, err := n.Role()
		if err != nil {
			return nil, err
		}
		key := map[string]string{"control-plane": "control-plane", "worker": "first-worker"}[r]
		if _, seen := roles[key]; key != "" && !seen {
			roles[key] = n
		}
	}
	if roles["control-plane"] == nil || roles["first-worker"] == nil {
		return nil, errors.New("the self-test needs a kind cluster with a control-plane node and a worker")
	}
	return roles, nil
}

func runSteps(ctx context.Context, roles map[string]nodes.Node, steps []selftest.Step) error {
	for _, s := range steps {
		n := roles[s.Node]
		var stdin []byte
		if s.Stdin != "" {
			data, err := os.ReadFile(s.Stdin)
			if err != nil {
				return err
			}
			stdin = data
		}
		if !s.Until {
			if out, err := kindcluster.Run(ctx, n, stdin, "sh", "-c", s.Command()); err != nil {
				return fmt.Errorf("on %s: %s: %v: %s", n, s.Sh, err, strings.TrimSpace(out))
			}
			continue
		}
		if err := framework.Poll(ctx, 2*time.Second, untilLimit, func() error {
			_, err := kindcluster.Run(ctx, n, stdin, "sh", "-c", s.Command())
			return err
		}); err != nil {
			return fmt.Errorf("on %s: waiting for: %s: %w", n, s.Sh, err)
		}
	}
	return nil
}

// runSpecs runs the specs against the existing cluster through the suite's launcher
// and returns the run's exit code; signals go on to the specs, which clean up.
func (l *lane) runSpecs(cfg *framework.Config, images map[string]string, where launch.Where, dir, filter string, scale float64) int {
	env := append(os.Environ(), "ARTIFACTS="+dir, "E2E_USE_EXISTING_CLUSTER=true", "KUBECONFIG="+l.kubeconfig, "E2E_CLUSTER_NAME="+l.name)
	// The compiled suite runs in its own folder: paths go to it resolved.
	for name, path := range map[string]string{"E2E_KIND_CONFIG": cfg.KindConfig, "E2E_PRODUCT_FILE": cfg.ProductFile} {
		if path != "" {
			env = append(env, name+"="+path)
		}
	}
	for f, image := range images {
		env = append(env, strings.ToUpper(strings.ReplaceAll(f, "-", "_"))+"="+image)
	}
	switch {
	case os.Getenv("E2E_TIMEOUT_SCALE") != "":
	case scale > 0: // the fault's own scale: every spec it runs is meant to fail
		env = append(env, fmt.Sprintf("E2E_TIMEOUT_SCALE=%g", scale))
	default:
		// A fault makes specs run into their timeouts: halve every tier so the matrix
		// takes minutes, not an hour. The specs each fault runs pass at this scale.
		env = append(env, "E2E_TIMEOUT_SCALE=0.5")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 1
	}
	log, err := os.Create(filepath.Join(dir, "console.log"))
	if err != nil {
		return 1
	}
	defer log.Close()
	s := launch.Settings{Results: dir, Procs: 3, Timeout: "80m", LabelFilter: filter}
	r, err := launch.Run(launch.Input{Settings: s, Where: where, Out: log, Signals: l.signals, Env: env})
	if err != nil {
		say("%s: %v", dir, err)
	}
	return r.Code
}

func write(dir string, s selftest.Sensitivity) error {
	js, _ := json.MarshalIndent(s, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "sensitivity.json"), js, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "sensitivity.md"), []byte(s.Markdown()), 0o644); err != nil {
		return err
	}
	page, err := s.HTML()
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "sensitivity.html"), page, 0o644)
}

func say(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "error:", msg)
	os.Exit(1)
}

// A lane is one kind cluster the self-test breaks and restores, one fault at a time.
type lane struct {
	name       string
	kind       *kindcluster.Cluster
	kubeconfig string
	extra      bool // created by the self-test (SELFTEST_CLUSTERS), not by make cluster
	created    bool // this run created it
	roles      map[string]nodes.Node
	nodes      int
	signals    chan os.Signal
}

// laneName is the name of the self-test's i-th cluster (i ≥ 2) beside the configured one.
func laneName(cluster string, i int) string { return fmt.Sprintf("%s-st%d", cluster, i) }

// laneCount reads SELFTEST_CLUSTERS: 1 when unset, never more than there are faults.
func laneCount(v string, faults int) (int, error) {
	if v == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 4 {
		return 0, fmt.Errorf("SELFTEST_CLUSTERS=%s: give a number of clusters from 1 to 4 (each is a whole kind cluster on this machine)", v)
	}
	return min(n, faults), nil
}

// prepare brings the lane's cluster up (an extra one from the same node image and kind
// config as the configured cluster), resolves its nodes, and undoes what an earlier
// self-test may have left on it.
func (l *lane) prepare(ctx context.Context, cfg *framework.Config, images map[string]string, faults []selftest.Fault) error {
	if l.extra {
		say("cluster %s: creating or reusing it for the self-test", l.name)
		created, err := l.kind.Up(ctx, kindcluster.UpInput{ConfigPath: cfg.KindConfig, NodeImage: images["node-image"],
			KubeconfigPath: l.kubeconfig, WaitForReady: cfg.Timeouts().ClusterReady})
		l.created = created
		if err != nil {
			return fmt.Errorf("cluster %s: %v", l.name, err)
		}
		if err := l.kind.LoadImage(images["workload-image"]); err != nil {
			return fmt.Errorf("cluster %s: %v", l.name, err)
		}
	}
	all, err := l.kind.Nodes()
	if err != nil {
		return fmt.Errorf("cluster %s: %v", l.name, err)
	}
	if l.roles, err = nodeRoles(all); err != nil {
		return fmt.Errorf("cluster %s: %v", l.name, err)
	}
	l.nodes = len(all)
	say("cluster %s: clearing what an earlier self-test may have left", l.name)
	for _, f := range faults {
		if err := runSteps(context.Background(), l.roles, f.Restore); err != nil {
			return fmt.Errorf("cluster %s: restoring %s before the self-test: %v", l.name, f.ID, err)
		}
	}
	if err := l.kind.WaitHealthy(context.Background(), l.kubeconfig, l.nodes, cfg.Timeouts().ClusterReady); err != nil {
		return fmt.Errorf("cluster %s is not healthy before the self-test: %v", l.name, err)
	}
	return nil
}

// runFault injects f, runs its specs, restores the cluster and evaluates the run. It returns
// the specs' exit code, and an error when the cluster could not be restored to health.
func (l *lane) runFault(ctx context.Context, cfg *framework.Config, where launch.Where, images map[string]string, dir string, f selftest.Fault) (selftest.Outcome, int, error) {
	start := time.Now()
	say("=== %s on %s (%s): %s; running %s", f.ID, l.name, f.Area, f.What, f.Run)
	_ = os.RemoveAll(dir)
	o := selftest.Outcome{Fault: f.ID, Area: f.Area, What: f.What}
	code := 0
	if err := runSteps(ctx, l.roles, f.Inject); err != nil { // an interrupt stops the injection; the restore below runs anyway
		o.Problem = "injecting the fault failed: " + err.Error()
	} else {
		code = l.runSpecs(cfg, images, where, dir, f.Run, f.TimeoutScale)
		if r, err := report.Load(filepath.Join(dir, "report.json")); err != nil {
			o.Problem = fmt.Sprintf("the run left no report (exit %d)", code)
		} else {
			names := map[string]string{}
			for role, n := range l.roles {
				names[role] = n.String()
			}
			o = selftest.Evaluate(f.On(l.name, names), r)
		}
	}
	// Restore whatever happened, with a context of its own: an interrupt must not stop it.
	if err := runSteps(context.Background(), l.roles, f.Restore); err != nil {
		return o, code, fmt.Errorf("restoring cluster %s after %s failed: %v; it is left broken: delete it (make cluster-delete E2E_CLUSTER_NAME=%s) and run again", l.name, f.ID, err, l.name)
	}
	if err := l.kind.WaitHealthy(context.Background(), l.kubeconfig, l.nodes, cfg.Timeouts().ClusterReady); err != nil {
		return o, code, fmt.Errorf("cluster %s is not healthy after restoring %s: %v", l.name, f.ID, err)
	}
	o.Seconds = time.Since(start).Seconds()
	verdict := "as predicted"
	if !o.OK() {
		verdict = fmt.Sprintf("NOT as predicted (missed %v, unexpected %v, vague %v) %s", o.Missed, o.Unexpected, o.Vague, o.Problem)
	}
	say("%s: %s; caught %v; %.0fs including restore (on %s)", f.ID, verdict, o.Caught, o.Seconds, l.name)
	return o, code, nil
}

// eachLane runs fn once per lane, all at once, and waits for them.
func eachLane(lanes []*lane, fn func(*lane)) {
	var wg sync.WaitGroup
	for _, l := range lanes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(l)
		}()
	}
	wg.Wait()
}
