package leftovers

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/dsconform/dsconform/framework/nodeaccess"
	"github.com/dsconform/dsconform/framework/provenance"
)

type fakeHost struct {
	name string
	ran  *[]string
}

func (h fakeHost) Name() string { return h.name }
func (h fakeHost) Run(_ context.Context, _ []byte, name string, args ...string) (string, error) {
	*h.ran = append(*h.ran, strings.Join(append([]string{name}, args...), " "))
	return "", nil
}

type fakeContainers struct {
	stamped map[string]string
	removed []string
}

func (f *fakeContainers) StampedContainers(context.Context) (map[string]string, error) {
	return f.stamped, nil
}
func (f *fakeContainers) UnstampedLookAlikes(context.Context) ([]string, error) {
	return []string{"kind-e2e-user"}, nil
}
func (f *fakeContainers) RemoveNode(_ context.Context, name string) error {
	f.removed = append(f.removed, name)
	return nil
}

// stamped returns a node with the dead run's changes applied through provenance.Apply,
// as node.Stamp would have stored them.
func stamped(t *testing.T, n *corev1.Node, cs ...provenance.Change) *corev1.Node {
	t.Helper()
	for _, c := range cs {
		if _, err := provenance.Apply(n, c); err != nil {
			t.Fatal(err)
		}
	}
	return n
}

func val(s string) *string { return &s }

func cluster(t *testing.T) (*fake.Clientset, *corev1.Node) {
	userTaint := corev1.Taint{Key: "VIPOnly", Value: "true", Effect: corev1.TaintEffectNoSchedule}
	foreign := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "prod-e2e-pool-1"}}
	vip := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "vip-user-node", Labels: map[string]string{"dsconform.e2e/owner": "user"}},
		Spec: corev1.NodeSpec{Taints: []corev1.Taint{userTaint}}}
	w1 := stamped(t, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "w1"},
		Spec: corev1.NodeSpec{Taints: []corev1.Taint{{Key: "dsconform.e2e/nosched", Value: "earlier", Effect: corev1.TaintEffectNoSchedule}}}},
		provenance.Change{ID: "1.1", Run: "dead", Kind: provenance.Taint, Taint: &corev1.Taint{Key: "dsconform.e2e/nosched", Value: "x", Effect: corev1.TaintEffectNoSchedule}},
		provenance.Change{ID: "1.2", Run: "dead", Kind: provenance.Label, Key: "dsconform.e2e/select", Value: val("gold")},
		provenance.Change{ID: "1.3", Run: "dead", Kind: provenance.File, Path: "/etc/kubernetes/manifests/sp-x.yaml"},
		provenance.Change{ID: "1.4", Run: "live", Kind: provenance.Cordon},
	)
	joinedDead := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "kind-e2e-1-1", Labels: map[string]string{provenance.JoinedLabel: "dead"}}}
	joinedLive := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "kind-e2e-2-1", Labels: map[string]string{provenance.JoinedLabel: "live"}}}
	broken := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "w2", Annotations: map[string]string{provenance.ChangesAnnotation: "{not json"}},
		Spec: corev1.NodeSpec{Unschedulable: true}}
	nsDead := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ds-a-1-abcde", Labels: map[string]string{provenance.RunLabel: "dead"}}}
	nsLive := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ds-b-1-fghij", Labels: map[string]string{provenance.RunLabel: "live"}}}
	nsUser := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ds-user-1-klmno"}}
	return fake.NewClientset(foreign, vip, w1, joinedDead, joinedLive, broken, nsDead, nsLive, nsUser), vip
}

func TestSweepUndoesOnlyDeadRunsStampsAndRestoresEarlierValues(t *testing.T) {
	ctx := context.Background()
	c, vipBefore := cluster(t)
	var ran []string
	boxes := &fakeContainers{stamped: map[string]string{"kind-e2e-1-1": "dead", "kind-e2e-2-1": "live"}}
	r, err := Run(ctx, Input{Client: c, Runs: func(run string) bool { return provenance.Dead(run, "live") }, NodeChanges: true,
		Host:       func(_ context.Context, n string) (nodeaccess.Node, error) { return fakeHost{n, &ran}, nil },
		Containers: boxes})
	if err != nil {
		t.Fatal(err)
	}
	get := func(name string) *corev1.Node {
		n, err := c.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil
		}
		return n
	}
	// foreign state: untouched
	if get("prod-e2e-pool-1") == nil {
		t.Errorf("a Node named like a joined one but without the stamp was deleted")
	}
	if vip := get("vip-user-node"); vip == nil || len(vip.Spec.Taints) != 1 || vip.Spec.Taints[0] != vipBefore.Spec.Taints[0] || vip.Labels["dsconform.e2e/owner"] != "user" {
		t.Errorf("the user's VIPOnly taint or owner label changed: %+v", vip)
	}
	if _, err := c.CoreV1().Namespaces().Get(ctx, "ds-user-1-klmno", metav1.GetOptions{}); err != nil {
		t.Errorf("a namespace named like the suite's but unstamped was deleted")
	}
	// the dead run's: undone, earlier values back
	w1 := get("w1")
	if len(w1.Spec.Taints) != 1 || w1.Spec.Taints[0].Value != "earlier" {
		t.Errorf("w1 taints = %v, want the earlier dsconform.e2e/nosched=earlier back", w1.Spec.Taints)
	}
	if _, ok := w1.Labels["dsconform.e2e/select"]; ok {
		t.Errorf("w1 kept the dead run's label")
	}
	if len(ran) != 1 || !strings.Contains(ran[0], "rm -f '/etc/kubernetes/manifests/sp-x.yaml'") {
		t.Errorf("host commands = %q, want the static pod file removed", ran)
	}
	// the live run's: untouched
	if !w1.Spec.Unschedulable {
		t.Errorf("the live run's cordon was undone")
	}
	if cs, _ := provenance.Stamps(w1); len(cs) != 1 || cs[0].Run != "live" {
		t.Errorf("w1 stamps left = %+v, want only the live run's", cs)
	}
	if get("kind-e2e-1-1") != nil || get("kind-e2e-2-1") == nil {
		t.Errorf("joined nodes: the dead run's should be deleted, the live run's kept")
	}
	if len(boxes.removed) != 1 || boxes.removed[0] != "kind-e2e-1-1" {
		t.Errorf("containers removed = %v, want only the dead run's", boxes.removed)
	}
	if _, err := c.CoreV1().Namespaces().Get(ctx, "ds-a-1-abcde", metav1.GetOptions{}); err == nil {
		t.Errorf("the dead run's namespace was kept")
	}
	if _, err := c.CoreV1().Namespaces().Get(ctx, "ds-b-1-fghij", metav1.GetOptions{}); err != nil {
		t.Errorf("the live run's namespace was deleted")
	}
	// the unreadable stamp is reported, the node left as found
	if w2 := get("w2"); !w2.Spec.Unschedulable || len(r.Unreadable) != 1 || !strings.Contains(r.Unreadable[0], "w2") {
		t.Errorf("unreadable = %q, w2 unschedulable = %v", r.Unreadable, w2.Spec.Unschedulable)
	}
	notOurs := strings.Join(r.NotOurs, "\n")
	for _, want := range []string{"Node prod-e2e-pool-1", "taint VIPOnly=true:NoSchedule", "label dsconform.e2e/owner=user", "namespace ds-user-1-klmno", "node container kind-e2e-user"} {
		if !strings.Contains(notOurs, want) {
			t.Errorf("not ours should list %q; got:\n%s", want, notOurs)
		}
	}
	if len(r.Undone) != 6 { // the joined Node, 3 stamps on w1, the namespace, the container
		t.Errorf("undone:\n%s\nwant 6 entries", strings.Join(r.Undone, "\n"))
	}
}

func TestWithoutNodeChangesNodesAreOnlyListed(t *testing.T) {
	ctx := context.Background()
	c, _ := cluster(t)
	before, _ := c.CoreV1().Nodes().Get(ctx, "w1", metav1.GetOptions{})
	r, err := Run(ctx, Input{Client: c, Runs: func(run string) bool { return run == "dead" }})
	if err != nil {
		t.Fatal(err)
	}
	after, _ := c.CoreV1().Nodes().Get(ctx, "w1", metav1.GetOptions{})
	if after.Annotations[provenance.ChangesAnnotation] != before.Annotations[provenance.ChangesAnnotation] || len(after.Spec.Taints) != 1 || after.Spec.Taints[0].Value != "x" {
		t.Errorf("w1 changed without node changes allowed")
	}
	if _, err := c.CoreV1().Nodes().Get(ctx, "kind-e2e-1-1", metav1.GetOptions{}); err != nil {
		t.Errorf("the dead run's joined Node was deleted without node changes allowed")
	}
	if len(r.Pending) != 4 { // joined node + 3 stamps on w1
		t.Errorf("pending = %q, want the joined Node and the 3 stamps", r.Pending)
	}
	if _, err := c.CoreV1().Namespaces().Get(ctx, "ds-a-1-abcde", metav1.GetOptions{}); err == nil {
		t.Errorf("namespaces are not nodes: the dead run's should still be deleted")
	}
}

func TestLeakCheckFindsTheLiveRunsStampsWhateverTheirNames(t *testing.T) {
	ctx := context.Background()
	n := stamped(t, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "w1"}},
		provenance.Change{ID: "3.9", Run: "live", Kind: provenance.Taint, Taint: &corev1.Taint{Key: "example.com/left-on-purpose", Value: "probe", Effect: corev1.TaintEffectPreferNoSchedule}})
	c := fake.NewClientset(n)
	r, err := Run(ctx, Input{Client: c, Runs: func(run string) bool { return run == "live" }, NodeChanges: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.Empty() || len(r.Undone) != 1 || !strings.Contains(r.Undone[0], "example.com/left-on-purpose") {
		t.Fatalf("leak check result = %+v", r)
	}
	after, _ := c.CoreV1().Nodes().Get(ctx, "w1", metav1.GetOptions{})
	if len(after.Spec.Taints) != 0 {
		t.Errorf("the leaked taint should be undone: %v", after.Spec.Taints)
	}
}

func TestPriorityClassesGoByStampOnly(t *testing.T) {
	ctx := context.Background()
	pc := func(name string, labels map[string]string) *schedulingv1.PriorityClass {
		return &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}, Value: 1000}
	}
	c := fake.NewClientset(pc("dead-runs", provenance.ObjectLabels("dead")), pc("live-runs", provenance.ObjectLabels("live")),
		pc("dsconform-lookalike", nil))
	r, err := Run(ctx, Input{Client: c, Runs: func(run string) bool { return run == "dead" }})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Undone) != 1 || !strings.Contains(r.Undone[0], "PriorityClass dead-runs (run dead) deleted") {
		t.Errorf("sweep = %+v", r)
	}
	left, _ := c.SchedulingV1().PriorityClasses().List(ctx, metav1.ListOptions{})
	if len(left.Items) != 2 {
		t.Errorf("only the dead run's PriorityClass may go; left %d", len(left.Items))
	}
}
