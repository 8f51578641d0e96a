// Package provenance defines what marks a thing as the suite's: the stamps written at
// the moment the suite creates or changes something, and how a change is undone from
// its stamp alone. Cleanup, the start-of-run sweep and the end-of-run leak check act on
// these stamps and on nothing else: never on a name pattern.
//
// The stamps:
//   - RunLabel on every object the suite creates (namespaces, and anything cluster-scoped),
//     valued with the run's ID;
//   - JoinedLabel on a Node the suite joins, set by the kubelet when it registers (the
//     node container carries ContainerLabel from the moment it is started);
//   - ChangesAnnotation on a Node the suite changes: one Change per taint, label, cordon,
//     file, moved file or iptables rule, written in the same update as the change (API
//     changes) or before it is made (host changes), recording what was there before.
//
// This package is pure: it parses, applies and undoes stamps on Node objects in memory
// and renders the host commands that undo host changes. framework/node writes them
// through the API; framework/leftovers sweeps them.
package provenance

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// Prefix starts every key the suite writes on objects it does not own.
	Prefix = "dsconform.e2e/"
	// SuiteLabel marks every object the suite creates, whatever the run.
	SuiteLabel = Prefix + "suite"
	// RunLabel names the run that created an object.
	RunLabel = Prefix + "run"
	// JoinedLabel names the run that joined a Node; the kubelet sets it at registration.
	JoinedLabel = Prefix + "joined-by"
	// ContainerLabel is the docker label on a node container the suite starts.
	ContainerLabel = Prefix + "run"
	// ChangesAnnotation holds, on a Node, the JSON list of the suite's changes to it.
	ChangesAnnotation = Prefix + "changes"
	// OwnNodeTaintKey is the NoSchedule taint a node joined for one Ginkgo process's
	// node-changing specs registers with (framework/ownnode): its value names the process,
	// and no pod of any other spec tolerates it.
	OwnNodeTaintKey = Prefix + "own-node"
)

// ObjectLabels are the labels that stamp an object the run creates.
func ObjectLabels(run string) map[string]string {
	return map[string]string{SuiteLabel: "true", RunLabel: run}
}

// Kind is what a Change changed.
type Kind string

const (
	Taint     Kind = "taint"     // a taint added (or replaced: Prev holds the one it replaced)
	Untaint   Kind = "untaint"   // a taint removed (Prev holds it)
	Label     Kind = "label"     // a label set or removed (Value nil); Prev holds the earlier value
	Cordon    Kind = "cordon"    // spec.unschedulable set
	File      Kind = "file"      // a file written on the node's host (it did not exist before)
	Dir       Kind = "dir"       // a directory made on the node's host (it did not exist before)
	Moved     Kind = "moved"     // a file moved from From to Path on the host
	IPTables  Kind = "iptables"  // an iptables rule inserted on the host (Rule, without -I/-A)
	IP6Tables Kind = "ip6tables" // the same for IPv6
	Stopped   Kind = "stopped"   // a systemd service stopped on the host (Service)
)

// Change is one stamp: what one run changed on one node and what was there before.
type Change struct {
	ID   string `json:"id"`  // unique within the run: undo finds its stamp by it
	Run  string `json:"run"` // the run's ID
	Kind Kind   `json:"kind"`

	Taint     *corev1.Taint `json:"taint,omitempty"`     // Taint, Untaint: the taint added or removed
	PrevTaint *corev1.Taint `json:"prevTaint,omitempty"` // Taint: the taint with the same key and effect it replaced

	Key   string  `json:"key,omitempty"`   // Label
	Value *string `json:"value,omitempty"` // Label: nil when the change removed the label
	Prev  *string `json:"prev,omitempty"`  // Label: the earlier value, nil when there was none

	Path    string   `json:"path,omitempty"`    // File, Dir, Moved: where the file (directory) is now
	From    string   `json:"from,omitempty"`    // Moved: where it was
	Rule    []string `json:"rule,omitempty"`    // IPTables: chain and match, as given to iptables -I
	Service string   `json:"service,omitempty"` // Stopped: the systemd unit

	// Lapses (IPTables, IP6Tables): when the node's host undoes the change by itself, a
	// systemd timer (LapseUnit) set before the change was made. A change that may cut the
	// suite off from the host (a node cut off from the API server cannot be reached
	// through an agent pod's exec) lapses, so it cannot outlive a run that loses the node.
	Lapses *metav1.Time `json:"lapses,omitempty"`
}

// LapseUnit is the transient systemd unit on the node's host that undoes a lapsing
// change by itself (LapseUnit(c)+".timer" fires it).
func LapseUnit(c Change) string {
	return "dsconform-lapse-" + c.Run + "-" + strings.ReplaceAll(c.ID, ".", "-")
}

// OnHost reports whether the change is on the node's host rather than in the Node object.
func (c Change) OnHost() bool {
	return c.Kind == File || c.Kind == Dir || c.Kind == Moved || c.Kind == IPTables || c.Kind == IP6Tables || c.Kind == Stopped
}

// String says what the change is, in the words the report uses.
func (c Change) String() string {
	switch c.Kind {
	case Taint:
		s := "taint " + taintString(c.Taint)
		if c.PrevTaint != nil {
			s += " (replacing " + taintString(c.PrevTaint) + ")"
		}
		return s
	case Untaint:
		return "removal of taint " + taintString(c.Taint)
	case Label:
		v := "removed"
		if c.Value != nil {
			v = "=" + *c.Value
		}
		if c.Prev != nil {
			return fmt.Sprintf("label %s%s (was %q)", c.Key, v, *c.Prev)
		}
		return fmt.Sprintf("label %s%s (was absent)", c.Key, v)
	case Cordon:
		return "cordon"
	case File:
		return "file " + c.Path
	case Dir:
		return "directory " + c.Path
	case Moved:
		return fmt.Sprintf("file %s moved to %s", c.From, c.Path)
	case IPTables, IP6Tables:
		return string(c.Kind) + " rule " + strings.Join(c.Rule, " ")
	case Stopped:
		return "service " + c.Service + " stopped"
	}
	return string(c.Kind)
}

func taintString(t *corev1.Taint) string {
	if t == nil {
		return "<none>"
	}
	if t.Value == "" {
		return t.Key + ":" + string(t.Effect)
	}
	return t.Key + "=" + t.Value + ":" + string(t.Effect)
}

// Validate says what is wrong with a stamp, so that one the suite cannot act on is
// reported rather than guessed at.
func (c Change) Validate() error {
	if c.ID == "" || c.Run == "" {
		return fmt.Errorf("stamp %q of run %q: id and run are required", c.ID, c.Run)
	}
	switch c.Kind {
	case Taint, Untaint:
		if c.Taint == nil || c.Taint.Key == "" || c.Taint.Effect == "" {
			return fmt.Errorf("stamp %s: a %s stamp needs a taint with a key and an effect", c.ID, c.Kind)
		}
	case Label:
		if c.Key == "" {
			return fmt.Errorf("stamp %s: a label stamp needs a key", c.ID)
		}
	case Cordon:
	case File, Dir:
		if !strings.HasPrefix(c.Path, "/") || c.Path == "/" {
			return fmt.Errorf("stamp %s: a %s stamp needs an absolute path, got %q", c.ID, c.Kind, c.Path)
		}
	case Moved:
		if !strings.HasPrefix(c.Path, "/") || !strings.HasPrefix(c.From, "/") {
			return fmt.Errorf("stamp %s: a moved-file stamp needs absolute paths, got %q → %q", c.ID, c.From, c.Path)
		}
	case IPTables, IP6Tables:
		if len(c.Rule) < 2 {
			return fmt.Errorf("stamp %s: an iptables stamp needs a chain and a match, got %q", c.ID, c.Rule)
		}
		if c.Lapses != nil && strings.ContainsAny(c.Run+c.ID, " /;'\"$\\") {
			return fmt.Errorf("stamp %s of run %s: a lapsing change needs an ID and run fit for a unit name", c.ID, c.Run)
		}
	case Stopped:
		if c.Service == "" || strings.ContainsAny(c.Service, " /;'\"$") {
			return fmt.Errorf("stamp %s: a stopped-service stamp needs a unit name, got %q", c.ID, c.Service)
		}
	default:
		return fmt.Errorf("stamp %s: unknown kind %q", c.ID, c.Kind)
	}
	return nil
}

// Parse reads a Node's ChangesAnnotation. An annotation that does not parse, or holds a
// stamp that does not validate, is an error: the caller reports it and leaves the node
// as it is.
func Parse(annotation string) ([]Change, error) {
	if strings.TrimSpace(annotation) == "" {
		return nil, nil
	}
	var out []Change
	dec := json.NewDecoder(strings.NewReader(annotation))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("annotation %s does not parse as the suite's stamps: %v", ChangesAnnotation, err)
	}
	for _, c := range out {
		if err := c.Validate(); err != nil {
			return nil, fmt.Errorf("annotation %s: %v", ChangesAnnotation, err)
		}
	}
	return out, nil
}

// Stamps returns the node's stamps.
func Stamps(n *corev1.Node) ([]Change, error) {
	return Parse(n.Annotations[ChangesAnnotation])
}

func setStamps(n *corev1.Node, cs []Change) {
	if len(cs) == 0 {
		delete(n.Annotations, ChangesAnnotation)
		return
	}
	data, _ := json.Marshal(cs) // Change marshals without error
	if n.Annotations == nil {
		n.Annotations = map[string]string{}
	}
	n.Annotations[ChangesAnnotation] = string(data)
}

// Apply makes the change on the node object and stamps it there, in one step, filling
// in what was there before (PrevTaint, Prev). A host change is only stamped: the caller
// makes it after the stamp is stored. It returns the completed stamp.
func Apply(n *corev1.Node, c Change) (Change, error) {
	if err := c.Validate(); err != nil {
		return c, err
	}
	cs, err := Stamps(n)
	if err != nil {
		return c, err
	}
	if slices.ContainsFunc(cs, func(x Change) bool { return x.ID == c.ID }) {
		return c, fmt.Errorf("stamp %s is already on node %s", c.ID, n.Name)
	}
	switch c.Kind {
	case Taint:
		t := *c.Taint
		c.PrevTaint = nil
		if i := findTaint(n.Spec.Taints, t); i >= 0 {
			prev := n.Spec.Taints[i]
			c.PrevTaint = &prev
			n.Spec.Taints = slices.Delete(slices.Clone(n.Spec.Taints), i, i+1)
		}
		n.Spec.Taints = append(n.Spec.Taints, t)
	case Untaint:
		i := findTaint(n.Spec.Taints, *c.Taint)
		if i < 0 {
			return c, fmt.Errorf("node %s has no taint %s to remove", n.Name, taintString(c.Taint))
		}
		removed := n.Spec.Taints[i]
		c.Taint = &removed
		n.Spec.Taints = slices.Delete(slices.Clone(n.Spec.Taints), i, i+1)
	case Label:
		c.Prev = nil
		if v, ok := n.Labels[c.Key]; ok {
			c.Prev = &v
		}
		setLabel(n, c.Key, c.Value)
	case Cordon:
		if n.Spec.Unschedulable {
			return c, fmt.Errorf("node %s is already cordoned: not ours to cordon", n.Name)
		}
		n.Spec.Unschedulable = true
	}
	setStamps(n, append(cs, c))
	return c, nil
}

// Undo reverses the stamped change with this ID on the node object and removes its
// stamp, restoring what was there before. A change that was later changed again by
// something else is left as it is found (a taint whose value someone edited stays), so
// the suite never overwrites what it did not write. It reports whether the stamp was
// there. Host changes are only unstamped: the caller undoes them on the host first.
func Undo(n *corev1.Node, id string) (bool, error) {
	cs, err := Stamps(n)
	if err != nil {
		return false, err
	}
	i := slices.IndexFunc(cs, func(x Change) bool { return x.ID == id })
	if i < 0 {
		return false, nil
	}
	c := cs[i]
	switch c.Kind {
	case Taint:
		if j := findTaint(n.Spec.Taints, *c.Taint); j >= 0 && n.Spec.Taints[j].Value == c.Taint.Value {
			n.Spec.Taints = slices.Delete(slices.Clone(n.Spec.Taints), j, j+1)
			if c.PrevTaint != nil {
				n.Spec.Taints = append(n.Spec.Taints, *c.PrevTaint)
			}
		}
	case Untaint:
		if findTaint(n.Spec.Taints, *c.Taint) < 0 {
			n.Spec.Taints = append(n.Spec.Taints, *c.Taint)
		}
	case Label:
		cur, has := n.Labels[c.Key]
		ours := (c.Value == nil && !has) || (c.Value != nil && has && cur == *c.Value)
		if ours {
			setLabel(n, c.Key, c.Prev)
		}
	case Cordon:
		n.Spec.Unschedulable = false
	}
	setStamps(n, slices.Delete(cs, i, i+1))
	return true, nil
}

// setLabel sets the label to *value, or removes it when value is nil.
func setLabel(n *corev1.Node, key string, value *string) {
	if value == nil {
		delete(n.Labels, key)
		return
	}
	if n.Labels == nil {
		n.Labels = map[string]string{}
	}
	n.Labels[key] = *value
}

// findTaint finds the taint with t's key and effect (the API's identity of a taint).
func findTaint(ts []corev1.Taint, t corev1.Taint) int {
	return slices.IndexFunc(ts, func(x corev1.Taint) bool { return x.Key == t.Key && x.Effect == t.Effect })
}

// Latest returns the run's most recent stamp on the node that matches, if any: what
// a spec's "remove the taint I added" undoes.
func Latest(n *corev1.Node, run string, match func(Change) bool) (Change, bool) {
	cs, err := Stamps(n)
	if err != nil {
		return Change{}, false
	}
	for i := len(cs) - 1; i >= 0; i-- {
		if cs[i].Run == run && match(cs[i]) {
			return cs[i], true
		}
	}
	return Change{}, false
}

// HostUndo is the shell command that undoes a host change, idempotently: a file already
// gone, a file already moved back or a rule already deleted is not an error. It prints
// one line saying what it did, or nothing when there was nothing left to undo.
func HostUndo(c Change) (string, error) {
	if err := c.Validate(); err != nil {
		return "", err
	}
	switch c.Kind {
	case File:
		return fmt.Sprintf(`if [ -e %[1]s ]; then rm -f %[1]s && echo "removed file %[2]s"; fi`, shellQuote(c.Path), c.Path), nil
	case Dir: // only when empty: what the run wrote in it is stamped and undone before it
		return fmt.Sprintf(`if [ -d %[1]s ]; then rmdir %[1]s && echo "removed directory %[2]s"; fi`, shellQuote(c.Path), c.Path), nil
	case Moved:
		return fmt.Sprintf(`if [ -e %[1]s ] && [ ! -e %[2]s ]; then mv %[1]s %[2]s && echo "moved %[3]s back to %[4]s"; fi`,
			shellQuote(c.Path), shellQuote(c.From), c.Path, c.From), nil
	case IPTables, IP6Tables:
		rule := quoteAll(c.Rule)
		stop := ""
		if c.Lapses != nil { // its timer must not fire later on a rule another change inserted
			stop = fmt.Sprintf("systemctl stop %s 2>/dev/null; ", shellQuote(LapseUnit(c)+".timer"))
		}
		return fmt.Sprintf(`%[4]sif %[3]s -C %[1]s 2>/dev/null; then %[3]s -D %[1]s && echo "deleted %[3]s rule %[2]s"; fi`,
			rule, strings.Join(c.Rule, " "), c.Kind, stop), nil
	case Stopped:
		return fmt.Sprintf(`if ! systemctl is-active --quiet %[1]s; then systemctl start %[1]s && echo "started %[1]s"; fi`, c.Service), nil
	}
	return "", fmt.Errorf("stamp %s (%s) is not a host change", c.ID, c.Kind)
}

// HostLapsingInsert is the shell command that makes a lapsing iptables change on the
// host: it sets the host's timer first (so the rule is never in place without it), then
// inserts the rule, and stops the timer again if the insert fails. The timer deletes the
// rule after the given time, whatever became of the run.
func HostLapsingInsert(c Change, after time.Duration) (string, error) {
	if err := c.Validate(); err != nil {
		return "", err
	}
	if c.Lapses == nil || (c.Kind != IPTables && c.Kind != IP6Tables) {
		return "", fmt.Errorf("stamp %s (%s): only an iptables change with a lapse time lapses", c.ID, c.Kind)
	}
	if after <= 0 {
		return "", fmt.Errorf("stamp %s: a lapse of %s is not a time in the future", c.ID, after)
	}
	unit, rule := shellQuote(LapseUnit(c)), quoteAll(c.Rule)
	return fmt.Sprintf(`systemd-run --quiet --unit=%[1]s --on-active=%[2]ds --timer-property=AccuracySec=1s %[3]s -D %[4]s && `+
		`{ %[3]s -I %[4]s || { systemctl stop %[1]s.timer; exit 1; }; }`, unit, int(math.Ceil(after.Seconds())), c.Kind, rule), nil
}

func quoteAll(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = shellQuote(a)
	}
	return strings.Join(q, " ")
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// Dead reports whether a stamp of run belongs to a run that is over. One run holds a
// cluster at a time (the run Lease), so while live holds it every other run is dead.
func Dead(run, live string) bool { return run != live }

// The names the suite happens to use. They decide nothing about what is ours: they only
// find things that look like the suite's but carry no stamp, so that the report can say
// they were left as found.
const (
	joinedNameMark = "-e2e-"
	vipOnlyKey     = "VIPOnly"
)

// LookAlikes lists what on the node looks like the suite's but carries no stamp of it:
// a Node named like a joined one without JoinedLabel, and taints and labels with the
// suite's keys that no stamp accounts for. The sweep leaves them as found.
func LookAlikes(n *corev1.Node) []string {
	var out []string
	if LooksLikeJoinedName(n.Name) && n.Labels[JoinedLabel] == "" {
		out = append(out, fmt.Sprintf("Node %s: named like a node the suite joins, but without label %s", n.Name, JoinedLabel))
	}
	cs, _ := Stamps(n) // an unreadable annotation is reported by the sweep itself
	for i := range n.Spec.Taints {
		t := n.Spec.Taints[i]
		if !strings.HasPrefix(t.Key, Prefix) && t.Key != vipOnlyKey {
			continue
		}
		stamped := slices.ContainsFunc(cs, func(c Change) bool {
			return c.Kind == Taint && c.Taint.Key == t.Key && c.Taint.Effect == t.Effect && c.Taint.Value == t.Value
		})
		if !stamped {
			out = append(out, fmt.Sprintf("node %s: taint %s has no stamp of the suite", n.Name, taintString(&t)))
		}
	}
	for k, v := range n.Labels {
		if !strings.HasPrefix(k, Prefix) || k == JoinedLabel {
			continue
		}
		stamped := slices.ContainsFunc(cs, func(c Change) bool { return c.Kind == Label && c.Key == k && c.Value != nil && *c.Value == v })
		if !stamped {
			out = append(out, fmt.Sprintf("node %s: label %s=%s has no stamp of the suite", n.Name, k, v))
		}
	}
	slices.Sort(out)
	return out
}

// LooksLikeJoinedName reports whether a node is named the way the suite names the
// nodes it joins.
func LooksLikeJoinedName(name string) bool { return strings.Contains(name, joinedNameMark) }

// LooksLikeOurNamespace reports whether a namespace without RunLabel is named the way
// the suite names its own ("<base>-<process>-<random>" or "dsconform-…").
func LooksLikeOurNamespace(name string) bool {
	if strings.HasPrefix(name, "dsconform-") {
		return true
	}
	parts := strings.Split(name, "-")
	if len(parts) < 4 || (parts[0] != "ds" && parts[0] != "sp") {
		return false
	}
	proc := parts[len(parts)-2]
	return proc != "" && strings.Trim(proc, "0123456789") == "" && len(parts[len(parts)-1]) == 5
}
