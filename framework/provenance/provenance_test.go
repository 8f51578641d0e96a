package provenance

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func ptr(s string) *string { return &s }

func nodeWith(taints []corev1.Taint, labels map[string]string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "w1", Labels: labels}, Spec: corev1.NodeSpec{Taints: taints}}
}

func TestTaintReplacingAnEarlierValueIsRestored(t *testing.T) {
	user := corev1.Taint{Key: "VIPOnly", Value: "true", Effect: corev1.TaintEffectNoSchedule}
	other := corev1.Taint{Key: "other", Effect: corev1.TaintEffectNoExecute}
	n := nodeWith([]corev1.Taint{user, other}, nil)
	ours := corev1.Taint{Key: "VIPOnly", Value: "suite", Effect: corev1.TaintEffectNoSchedule}
	got, err := Apply(n, Change{ID: "1.1", Run: "r1", Kind: Taint, Taint: &ours})
	if err != nil {
		t.Fatal(err)
	}
	if got.PrevTaint == nil || *got.PrevTaint != user {
		t.Fatalf("PrevTaint = %v, want the user's %v", got.PrevTaint, user)
	}
	if len(n.Spec.Taints) != 2 || n.Spec.Taints[1] != ours {
		t.Fatalf("taints after apply = %v", n.Spec.Taints)
	}
	// the stamp survives a round trip through the annotation
	stamps, err := Stamps(n)
	if err != nil || len(stamps) != 1 || stamps[0].PrevTaint == nil || stamps[0].PrevTaint.Value != "true" {
		t.Fatalf("stamps = %+v, %v", stamps, err)
	}
	found, err := Undo(n, "1.1")
	if err != nil || !found {
		t.Fatalf("Undo = %v, %v", found, err)
	}
	if len(n.Spec.Taints) != 2 || !containsTaint(n.Spec.Taints, user) || !containsTaint(n.Spec.Taints, other) {
		t.Fatalf("taints after undo = %v, want the user's VIPOnly=true and other", n.Spec.Taints)
	}
	if _, ok := n.Annotations[ChangesAnnotation]; ok {
		t.Fatalf("the stamp annotation should be gone once the last stamp is undone")
	}
}

func containsTaint(ts []corev1.Taint, t corev1.Taint) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}

func TestLabelsRestoreEarlierValueOrAbsenceInReverseOrder(t *testing.T) {
	n := nodeWith(nil, map[string]string{"dsconform.e2e/owner": "user"})
	a, _ := Apply(n, Change{ID: "1", Run: "r", Kind: Label, Key: "dsconform.e2e/owner", Value: ptr("suite")})
	b, _ := Apply(n, Change{ID: "2", Run: "r", Kind: Label, Key: "dsconform.e2e/owner"}) // removed
	c, _ := Apply(n, Change{ID: "3", Run: "r", Kind: Label, Key: "dsconform.e2e/select", Value: ptr("gold")})
	if a.Prev == nil || *a.Prev != "user" || b.Prev == nil || *b.Prev != "suite" || c.Prev != nil {
		t.Fatalf("prev values: %v %v %v", a.Prev, b.Prev, c.Prev)
	}
	for _, id := range []string{"3", "2", "1"} {
		if found, err := Undo(n, id); !found || err != nil {
			t.Fatalf("Undo(%s) = %v, %v", id, found, err)
		}
	}
	if len(n.Labels) != 1 || n.Labels["dsconform.e2e/owner"] != "user" {
		t.Fatalf("labels after undo = %v, want only the user's owner=user", n.Labels)
	}
}

func TestUndoLeavesWhatSomeoneElseChangedSince(t *testing.T) {
	n := nodeWith(nil, nil)
	ours := corev1.Taint{Key: "dsconform.e2e/x", Value: "a", Effect: corev1.TaintEffectNoSchedule}
	Apply(n, Change{ID: "1", Run: "r", Kind: Taint, Taint: &ours})
	Apply(n, Change{ID: "2", Run: "r", Kind: Label, Key: "k", Value: ptr("v")})
	n.Spec.Taints[0].Value = "edited-by-user"
	n.Labels["k"] = "edited"
	Undo(n, "2")
	Undo(n, "1")
	if n.Spec.Taints[0].Value != "edited-by-user" || n.Labels["k"] != "edited" {
		t.Fatalf("undo overwrote a later edit: taints %v labels %v", n.Spec.Taints, n.Labels)
	}
}

func TestCordonAndUntaint(t *testing.T) {
	user := corev1.Taint{Key: "u", Effect: corev1.TaintEffectNoSchedule}
	n := nodeWith([]corev1.Taint{user}, nil)
	if _, err := Apply(n, Change{ID: "1", Run: "r", Kind: Cordon}); err != nil || !n.Spec.Unschedulable {
		t.Fatalf("cordon: %v", err)
	}
	if _, err := Apply(n, Change{ID: "2", Run: "r", Kind: Cordon}); err == nil {
		t.Fatalf("cordoning a cordoned node should be refused: not ours to undo")
	}
	if _, err := Apply(n, Change{ID: "3", Run: "r", Kind: Untaint, Taint: &corev1.Taint{Key: "u", Effect: corev1.TaintEffectNoSchedule}}); err != nil || len(n.Spec.Taints) != 0 {
		t.Fatalf("untaint: %v, %v", err, n.Spec.Taints)
	}
	Undo(n, "3")
	Undo(n, "1")
	if n.Spec.Unschedulable || len(n.Spec.Taints) != 1 || n.Spec.Taints[0] != user {
		t.Fatalf("after undo: unschedulable=%v taints=%v", n.Spec.Unschedulable, n.Spec.Taints)
	}
}

func TestParseRefusesWhatItCannotRead(t *testing.T) {
	for _, bad := range []string{
		`not json`,
		`[{"id":"1","run":"r","kind":"taint"}]`,                   // no taint
		`[{"id":"1","run":"r","kind":"teleport"}]`,                // unknown kind
		`[{"id":"1","run":"r","kind":"file","path":"rel/x"}]`,     // relative path
		`[{"id":"1","run":"r","kind":"cordon","extra":true}]`,     // unknown field
		`[{"id":"1","run":"r","kind":"stopped","service":"a;b"}]`, // not a unit name
	} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%s) should fail", bad)
		}
	}
	if cs, err := Parse(""); err != nil || cs != nil {
		t.Errorf("an absent annotation is no stamps: %v %v", cs, err)
	}
}

func TestHostUndoIsIdempotentShell(t *testing.T) {
	cases := map[string]Change{
		"if [ -e '/etc/kubernetes/manifests/it'\\''s.yaml' ]; then rm -f": {ID: "1", Run: "r", Kind: File, Path: "/etc/kubernetes/manifests/it's.yaml"},
		"mv '/etc/kubernetes/kube-scheduler.yaml.aside' '/etc/kubernetes/manifests/kube-scheduler.yaml'": {ID: "2", Run: "r", Kind: Moved,
			From: "/etc/kubernetes/manifests/kube-scheduler.yaml", Path: "/etc/kubernetes/kube-scheduler.yaml.aside"},
		"if iptables -C 'OUTPUT' '-p' 'tcp' '-j' 'REJECT' 2>/dev/null; then iptables -D 'OUTPUT'": {ID: "3", Run: "r", Kind: IPTables, Rule: []string{"OUTPUT", "-p", "tcp", "-j", "REJECT"}},
		"systemctl start kubelet": {ID: "4", Run: "r", Kind: Stopped, Service: "kubelet"},
		"if [ -d '/etc/dsconform-static' ]; then rmdir '/etc/dsconform-static'": {ID: "6", Run: "r", Kind: Dir, Path: "/etc/dsconform-static"},
	}
	for want, c := range cases {
		got, err := HostUndo(c)
		if err != nil || !strings.Contains(got, want) {
			t.Errorf("HostUndo(%s) = %q, %v; want it to contain %q", c.Kind, got, err, want)
		}
	}
	lapsing := Change{ID: "3.7", Run: "1764", Kind: IP6Tables, Rule: []string{"OUTPUT", "-j", "REJECT"}, Lapses: &metav1.Time{}}
	if got, err := HostUndo(lapsing); err != nil || !strings.HasPrefix(got, "systemctl stop 'dsconform-lapse-1764-3-7.timer' 2>/dev/null; if ip6tables -C 'OUTPUT'") {
		t.Errorf("the undo of a lapsing change stops its timer first (it must not fire on a later rule): %q, %v", got, err)
	}
	if _, err := HostUndo(Change{ID: "7", Run: "r", Kind: Dir, Path: "/"}); err == nil {
		t.Errorf("a directory stamp on / is refused")
	}
	if _, err := HostUndo(Change{ID: "5", Run: "r", Kind: Cordon}); err == nil {
		t.Errorf("a cordon is not a host change")
	}
}

func TestLookAlikesAreListedNotClaimed(t *testing.T) {
	n := nodeWith([]corev1.Taint{{Key: "VIPOnly", Value: "true", Effect: corev1.TaintEffectNoSchedule}}, map[string]string{"dsconform.e2e/owner": "user"})
	n.Name = "prod-e2e-pool-1"
	got := LookAlikes(n)
	if len(got) != 3 {
		t.Fatalf("LookAlikes = %q, want the name, the taint and the label", got)
	}
	ours := corev1.Taint{Key: "dsconform.e2e/x", Effect: corev1.TaintEffectNoSchedule}
	m := nodeWith(nil, nil)
	Apply(m, Change{ID: "1", Run: "r", Kind: Taint, Taint: &ours})
	m.Labels = map[string]string{JoinedLabel: "r"}
	m.Name = "dsconform-e2e-1-1"
	if got := LookAlikes(m); len(got) != 0 {
		t.Fatalf("stamped things are not look-alikes: %q", got)
	}
}

func TestLooksLikeOurNamespace(t *testing.T) {
	for name, want := range map[string]bool{"ds-nodeadd-1-x7k2p": true, "sp-mix-3-abcde": true, "dsconform-agents-17": true,
		"ds-prod": false, "kube-system": false, "sp-team-a-b": false} {
		if got := LooksLikeOurNamespace(name); got != want {
			t.Errorf("LooksLikeOurNamespace(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestHostLapsingInsertSetsTheTimerBeforeTheRule(t *testing.T) {
	c := Change{ID: "2.4", Run: "99", Kind: IPTables, Rule: []string{"OUTPUT", "-p", "tcp", "--dport", "6443", "-j", "REJECT"}, Lapses: &metav1.Time{}}
	got, err := HostLapsingInsert(c, 90500*time.Millisecond)
	want := "systemd-run --quiet --unit='dsconform-lapse-99-2-4' --on-active=91s --timer-property=AccuracySec=1s iptables -D 'OUTPUT' '-p' 'tcp' '--dport' '6443' '-j' 'REJECT' && " +
		"{ iptables -I 'OUTPUT' '-p' 'tcp' '--dport' '6443' '-j' 'REJECT' || { systemctl stop 'dsconform-lapse-99-2-4'.timer; exit 1; }; }"
	if err != nil || got != want {
		t.Errorf("HostLapsingInsert =\n%q, %v\nwant\n%q", got, err, want)
	}
	c.Lapses = nil
	if _, err := HostLapsingInsert(c, time.Minute); err == nil {
		t.Errorf("a change without a lapse time is refused")
	}
	c.Lapses, c.Kind, c.Service, c.Rule = &metav1.Time{}, Stopped, "kubelet", nil
	if _, err := HostLapsingInsert(c, time.Minute); err == nil {
		t.Errorf("only iptables changes lapse")
	}
	c.Kind, c.Rule = IPTables, []string{"OUTPUT", "-j", "DROP"}
	if _, err := HostLapsingInsert(c, 0); err == nil {
		t.Errorf("a lapse must lie in the future")
	}
}
