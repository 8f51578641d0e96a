// Package selftest is the suite's fault matrix: a table of faults, each breaking one
// behaviour area of a kind cluster, and the pure check of what a run under a fault
// must show: exactly the expected requirements failed, with messages that say why.
// `make e2e-selftest` (scripts/cmd/selftest) injects each fault, runs the affected specs,
// restores the cluster and evaluates the run with Evaluate.
package selftest

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"os"
	"regexp"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/dsconform/dsconform/framework/report"
)

// Step is one command of an injection or a restore, run on a node of the kind cluster.
type Step struct {
	// Node is "control-plane" (the first control-plane node) or "first-worker" (the
	// first node, by name, without the control-plane role).
	Node string `json:"node"`
	// Sh is a shell command run on the node (as Command gives it: with STATIC_POD_DIR
	// set); Stdin, if set, is a fixture file fed to it.
	Sh    string `json:"sh"`
	Stdin string `json:"stdin,omitempty"`
	// Until makes the step a wait: Sh is retried every 2 s until it succeeds, for up to
	// three minutes.
	Until bool `json:"until,omitempty"`
}

// staticPodDir sets STATIC_POD_DIR, for every step and loop, to the node's static pod
// directory as its kubelet's configuration file names it (kind's when the file names
// none): the one place the fixtures look it up.
func staticPodDir(kubeletConfig string) string {
	return fmt.Sprintf(`d=$(sed -n 's/^staticPodPath: *//p' %s 2>/dev/null); `+
		`STATIC_POD_DIR=${d:-/etc/kubernetes/manifests}; export STATIC_POD_DIR; `, kubeletConfig)
}

// Command is the shell command the step runs on its node: Sh, with STATIC_POD_DIR set.
func (s Step) Command() string { return staticPodDir("/var/lib/kubelet/config.yaml") + s.Sh }

// Fault is one row of the table.
type Fault struct {
	ID      string `json:"id"`
	Area    string `json:"area"` // controllers, garbage collection, eviction, scheduling, ...
	What    string `json:"what"`
	Inject  []Step `json:"inject"`
	Restore []Step `json:"restore"` // idempotent: also run before the first fault, to clear a killed self-test's leftovers
	// Run is the Ginkgo label filter of the specs run while the fault is in place.
	Run string `json:"run"`
	// Fails lists the requirement IDs that must fail; every other spec run must pass.
	Fails []string `json:"fails"`
	// Message is a regular expression every expected failure's message must match:
	// the failure must say what was wrong, not only that something timed out. It names
	// the cluster's nodes by placeholder ({cluster}, {control-plane}, {first-worker}),
	// which On fills in for the cluster the fault runs on.
	Message string `json:"message"`
	// TimeoutScale, if set, replaces the self-test's timeout scale (0.5) for this fault:
	// a fault under which every spec run must fail can fail them sooner.
	TimeoutScale float64 `json:"timeoutScale,omitempty"`
	// Loop, if set, is a script run on a node as a transient systemd unit for as long as the
	// fault is in place: Load turns it into the steps that install, start and wait for it
	// (before Inject) and the step that stops and removes it (before Restore).
	Loop *Loop `json:"loop,omitempty"`
	// Kubelet, if set, is a DSCONFORM_KUBELET_FAULT behaviour of the self-test's kubelet
	// (SelfTestKubelet), run on the first worker while the fault is in place: Load turns it
	// into the steps that put it there (before Inject) and take it away (before Restore).
	Kubelet string `json:"kubelet,omitempty"`
}

// SelfTestKubelet is the self-test's kubelet binary (make selftest-kubelet): the node's
// kubelet version with fixtures/failure-injection/kubelet/dsconform_fault.go.txt added.
const SelfTestKubelet = "_bin/selftest-kubelet"

// Loop is a fault's script that runs on a node until the fault is restored, with
// STATIC_POD_DIR set as for a step.
type Loop struct {
	Node   string `json:"node"`
	Script string `json:"script"` // a fixture file
}

// expandLoop gives a fault with a Loop the steps that run it, as a systemd unit named
// after the fault.
func expandLoop(f *Fault) {
	if f.Loop == nil {
		return
	}
	unit := "dsconform-selftest-" + f.ID
	bin := "/usr/local/bin/" + unit
	n := f.Loop.Node
	f.Inject = append([]Step{
		{Node: n, Stdin: f.Loop.Script, Sh: fmt.Sprintf("cat >%s && chmod +x %s", bin, bin)},
		{Node: n, Sh: fmt.Sprintf(`systemd-run --unit %s --setenv=STATIC_POD_DIR="$STATIC_POD_DIR" %s >/dev/null 2>&1`, unit, bin)},
		{Node: n, Until: true, Sh: fmt.Sprintf("systemctl is-active %s >/dev/null", unit)},
	}, f.Inject...)
	f.Restore = append([]Step{
		{Node: n, Sh: fmt.Sprintf("systemctl stop %s 2>/dev/null; systemctl reset-failed %s 2>/dev/null; rm -f %s", unit, unit, bin)},
	}, f.Restore...)
}

// expandKubelet gives a fault with a Kubelet behaviour the steps that run the self-test's
// kubelet on the first worker: copied there (refused unless its version is the node's),
// bind-mounted over the node's kubelet with a systemd drop-in that sets the behaviour, and
// the kubelet restarted; at restore the kubelet is stopped (its binary keeps the mount
// busy), unmounted, restarted as it was. Pods keep running across both restarts.
func expandKubelet(f *Fault) {
	if f.Kubelet == "" {
		return
	}
	const (
		n      = "first-worker"
		bin    = "/usr/local/bin/dsconform-selftest-kubelet"
		dropIn = "/etc/systemd/system/kubelet.service.d/99-dsconform-selftest.conf"
		pid    = "/proc/$(pgrep -xo kubelet)/environ"
		health = "curl -sf http://127.0.0.1:10248/healthz >/dev/null"
	)
	env := "DSCONFORM_KUBELET_FAULT=" + f.Kubelet
	f.Inject = append([]Step{
		{Node: n, Stdin: SelfTestKubelet, Sh: fmt.Sprintf(`cat >%[1]s && chmod +x %[1]s && { [ "$(%[1]s --version)" = "$(kubelet --version)" ] || `+
			`{ echo "the self-test kubelet is $(%[1]s --version), the node runs $(kubelet --version): make selftest-kubelet KUBERNETES_VERSION=<the node's>" >&2; rm -f %[1]s; exit 1; }; }`, bin)},
		{Node: n, Sh: fmt.Sprintf(`printf '[Service]
Environment=%s
' >%s && mount --bind %s "$(command -v kubelet)" && systemctl daemon-reload && systemctl restart kubelet`, env, dropIn, bin)},
		{Node: n, Until: true, Sh: fmt.Sprintf("grep -qz %s %s && %s", env, pid, health)},
	}, f.Inject...)
	f.Restore = append([]Step{
		{Node: n, Sh: fmt.Sprintf(`rm -f %s; k=$(command -v kubelet); changed=; `+
			`mounted() { awk -v k="$k" '$5 == k {f=1} END {exit !f}' /proc/self/mountinfo; }; `+
			`if mounted; then changed=1; systemctl stop kubelet; while mounted; do umount "$k" || exit 1; done; fi; `+
			`test ! -e %[2]s || { changed=1; rm -f %[2]s; }; `+
			`test -z "$changed" || { systemctl daemon-reload && systemctl restart kubelet; }`, dropIn, bin)},
		{Node: n, Until: true, Sh: fmt.Sprintf("! grep -qz DSCONFORM_KUBELET_FAULT %s && %s", pid, health)},
	}, f.Restore...)
}

// Load reads and checks the fault table.
func Load(path string) ([]Fault, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var faults []Fault
	if err := yaml.UnmarshalStrict(data, &faults); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	for i := range faults {
		expandLoop(&faults[i])
		expandKubelet(&faults[i])
	}
	return faults, Validate(faults)
}

var idPattern = regexp.MustCompile(`^[a-z0-9-]+$`)

// Validate checks the table is usable: unique IDs, something to inject and restore,
// specs to run, expected failures among them, a message pattern that compiles.
func Validate(faults []Fault) error {
	seen := map[string]bool{}
	for _, f := range faults {
		switch {
		case !idPattern.MatchString(f.ID):
			return fmt.Errorf("fault %q: the id must be lower-case words joined by dashes", f.ID)
		case seen[f.ID]:
			return fmt.Errorf("fault %s is listed twice", f.ID)
		case f.Area == "" || f.What == "":
			return fmt.Errorf("fault %s needs an area and a description (what)", f.ID)
		case len(f.Inject) == 0 || len(f.Restore) == 0:
			return fmt.Errorf("fault %s needs inject and restore steps", f.ID)
		case f.Run == "" || len(f.Fails) == 0:
			return fmt.Errorf("fault %s needs specs to run and the requirement IDs that must fail", f.ID)
		case f.TimeoutScale < 0 || f.TimeoutScale > 1:
			return fmt.Errorf("fault %s: timeoutScale %v must be in (0, 1]", f.ID, f.TimeoutScale)
		}
		seen[f.ID] = true
		if _, err := regexp.Compile(f.On("kind", map[string]string{"control-plane": "kind-control-plane", "first-worker": "kind-worker"}).Message); err != nil {
			return fmt.Errorf("fault %s: message pattern: %v", f.ID, err)
		}
		for _, id := range f.Fails {
			if !strings.Contains(f.Run, id) {
				return fmt.Errorf("fault %s expects %s to fail but does not run it (run: %s)", f.ID, id, f.Run)
			}
		}
		for _, s := range append(append([]Step{}, f.Inject...), f.Restore...) {
			if s.Node != "control-plane" && s.Node != "first-worker" {
				return fmt.Errorf("fault %s: step node %q: want control-plane or first-worker", f.ID, s.Node)
			}
			if s.Sh == "" {
				return fmt.Errorf("fault %s: a step without a command", f.ID)
			}
		}
	}
	return nil
}

// Outcome is what one fault's run showed.
type Outcome struct {
	Fault      string            `json:"fault"`
	Area       string            `json:"area"`
	What       string            `json:"what"`
	Verdict    string            `json:"verdict"`          // the run's verdict
	Results    map[string]string `json:"results"`          // requirement -> passed, failed, skipped
	Caught     []string          `json:"caught"`           // expected failures that failed with a message naming the fault
	Missed     []string          `json:"missed,omitempty"` // expected failures that did not fail
	Unexpected []string          `json:"unexpected,omitempty"`
	Vague      []string          `json:"vague,omitempty"` // failed, but the message does not match the fault's pattern
	Seconds    float64           `json:"seconds"`
	Problem    string            `json:"problem,omitempty"` // injection or restore failed: the run proves nothing
}

// OK reports whether the run showed exactly what the fault predicts.
func (o Outcome) OK() bool {
	return o.Problem == "" && len(o.Missed) == 0 && len(o.Unexpected) == 0 && len(o.Vague) == 0 && len(o.Caught) > 0
}

// Targeted reports whether the fault broke its behaviour and little else: most of the
// specs it ran still passed. Only a targeted fault proves a requirement; a fault that
// fails everything (the DaemonSet controller switched off) shows a spec can fail, not
// that it checks its own behaviour.
func (o Outcome) Targeted() bool {
	t := o.Tally()
	return t.Passed > t.Failed
}

// Tally counts the specs a fault ran that passed and that failed (skips are neither).
type Tally struct{ Passed, Failed int }

// Tally counts the outcome's results.
func (o Outcome) Tally() Tally {
	var t Tally
	for _, r := range o.Results {
		switch r {
		case "passed":
			t.Passed++
		case "failed":
			t.Failed++
		}
	}
	return t
}

// On fills the placeholders of the fault's message pattern for a cluster: {cluster} with
// its name, {control-plane} and {first-worker} with the names of the nodes the table's
// steps run on (roles), each as a literal.
func (f Fault) On(cluster string, roles map[string]string) Fault {
	pairs := []string{"{cluster}", regexp.QuoteMeta(cluster)}
	for role, node := range roles {
		pairs = append(pairs, "{"+role+"}", regexp.QuoteMeta(node))
	}
	f.Message = strings.NewReplacer(pairs...).Replace(f.Message)
	return f
}

// Evaluate compares a run under a fault with the fault's prediction (its message pattern
// filled in by On).
func Evaluate(f Fault, r report.Report) Outcome {
	o := Outcome{Fault: f.ID, Area: f.Area, What: f.What, Verdict: r.Verdict, Results: map[string]string{}, Seconds: r.DurationSeconds}
	msg := regexp.MustCompile(f.Message)
	expected := map[string]bool{}
	for _, id := range f.Fails {
		expected[id] = true
	}
	for _, s := range r.Specs {
		if s.RequirementID == "" || (s.State == "skipped" && s.SkipReason == "") {
			continue // not selected
		}
		failed := s.State != "passed" && s.State != "skipped"
		o.Results[s.RequirementID] = map[bool]string{true: "failed", false: s.State}[failed]
		switch {
		case failed && expected[s.RequirementID] && msg.MatchString(s.FailureMessage):
			o.Caught = append(o.Caught, s.RequirementID)
		case failed && expected[s.RequirementID]:
			o.Vague = append(o.Vague, s.RequirementID)
		case failed:
			o.Unexpected = append(o.Unexpected, s.RequirementID)
		}
	}
	for _, id := range f.Fails {
		if o.Results[id] != "failed" {
			o.Missed = append(o.Missed, id)
		}
	}
	sort.Strings(o.Caught)
	sort.Strings(o.Unexpected)
	return o
}

// Sensitivity is the fault × requirement page: which fault makes which requirement fail,
// and which requirements no fault has been seen to catch.
type Sensitivity struct {
	Faults   []Outcome            `json:"faults"`
	Rows     []SensitivityRow     `json:"requirements"`
	Unproven []report.Requirement `json:"unproven"`
	// ProvenBy is, per requirement ID, the targeted faults that caught it: what the
	// suite's report shows beside each requirement (report.ReadProvenBy).
	ProvenBy map[string][]string `json:"provenBy"`
	// BluntOnly are the unproven requirements some fault caught, but only a fault under
	// which most specs failed.
	BluntOnly []report.Requirement `json:"bluntOnly,omitempty"`
	// NoFault are the requirements no fault caught whose catalogue entry says why no
	// fault of a real cluster can break them (report.Requirement.NoFault).
	NoFault []report.Requirement `json:"noFault,omitempty"`
}

// SensitivityRow is one requirement across the faults: "caught", "caught (blunt)" (by a
// fault that is not Targeted), "passed", "skipped", "failed" (unexpectedly or vaguely)
// or "" (not run under that fault).
type SensitivityRow struct {
	report.Requirement
	Cells []string `json:"cells"`
}

// BuildSensitivity lines up the outcomes against the catalogue.
func BuildSensitivity(outcomes []Outcome, catalogue []report.Requirement) Sensitivity {
	s := Sensitivity{Faults: outcomes, ProvenBy: map[string][]string{}}
	for _, req := range catalogue {
		row := SensitivityRow{Requirement: req}
		blunt := false
		for _, o := range outcomes {
			cell := o.Results[req.ID]
			for _, c := range o.Caught {
				switch {
				case c != req.ID || o.Problem != "":
				case o.Targeted():
					cell = "caught"
					s.ProvenBy[req.ID] = append(s.ProvenBy[req.ID], o.Fault)
				default:
					cell, blunt = "caught (blunt)", true
				}
			}
			row.Cells = append(row.Cells, cell)
		}
		s.Rows = append(s.Rows, row)
		switch {
		case len(s.ProvenBy[req.ID]) > 0:
		case req.NoFault != "":
			s.NoFault = append(s.NoFault, req)
		default:
			s.Unproven = append(s.Unproven, req)
			if blunt {
				s.BluntOnly = append(s.BluntOnly, req)
			}
		}
	}
	return s
}

// Proven counts the requirements some targeted fault caught.
func (s Sensitivity) Proven() int { return len(s.Rows) - len(s.Unproven) - len(s.NoFault) }

// Markdown renders the page as RESULTS.md and the closing note quote it.
func (s Sensitivity) Markdown() string {
	var b strings.Builder
	b.WriteString("| fault | area | result | targeted (passed/failed) | caught | missed | unexpected | vague | run (s) |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, o := range s.Faults {
		res := "as predicted"
		if !o.OK() {
			res = "**NOT as predicted**"
			if o.Problem != "" {
				res += ": " + o.Problem
			}
		}
		t := o.Tally()
		fmt.Fprintf(&b, "| %s | %s | %s | %s (%d/%d) | %s | %s | %s | %s | %.0f |\n", o.Fault, o.Area, res,
			map[bool]string{true: "yes", false: "no"}[o.Targeted()], t.Passed, t.Failed,
			strings.Join(o.Caught, " "), strings.Join(o.Missed, " "), strings.Join(o.Unexpected, " "), strings.Join(o.Vague, " "), o.Seconds)
	}
	b.WriteString("\n| requirement |")
	for _, o := range s.Faults {
		b.WriteString(" " + o.Fault + " |")
	}
	b.WriteString("\n|---|" + strings.Repeat("---|", len(s.Faults)) + "\n")
	for _, r := range s.Rows {
		fmt.Fprintf(&b, "| %s | %s |\n", r.ID, strings.Join(r.Cells, " | "))
	}
	fmt.Fprintf(&b, "\n%d of %d requirements caught by a targeted fault; not yet proven sensitive:", s.Proven(), len(s.Rows))
	for _, u := range s.Unproven {
		b.WriteString(" " + u.ID)
	}
	for _, u := range s.NoFault {
		fmt.Fprintf(&b, "\n\nno fault possible, disputed: %s: %s", u.ID, u.NoFault)
	}
	if len(s.BluntOnly) > 0 {
		b.WriteString("\n\ncaught only by a fault under which most specs failed:")
		for _, u := range s.BluntOnly {
			b.WriteString(" " + u.ID)
		}
	}
	b.WriteString("\n")
	return b.String()
}

//go:embed sensitivity.html
var sensitivityPage string

var page = template.Must(template.New("sensitivity").Parse(sensitivityPage))

// HTML is sensitivity.html: the fault table's outcomes and the requirement × fault matrix.
func (s Sensitivity) HTML() ([]byte, error) {
	var b bytes.Buffer
	if err := page.Execute(&b, s); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
