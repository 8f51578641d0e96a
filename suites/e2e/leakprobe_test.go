package e2e

import (
	"os"
	"path"
	"path/filepath"
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	"github.com/dsconform/dsconform/framework/provenance"
)

// Two probes of the suite's own safety, registered only when asked for.
//
// E2E_LEAK_PROBE=true: a spec leaves behind, on purpose, a taint whose key follows no
// convention of the suite; the run must then fail at the leak check, which goes by
// stamps, not names (and undoes it).
//
// E2E_KILL_PROBE=true: a spec makes a change of every kind a spec can make (joins a node,
// replaces the taint and label a user put on a node with its own values, writes a static
// pod file, moves kube-scheduler's manifest aside), writes $ARTIFACTS/kill-probe-ready and
// waits to be killed with SIGKILL. The next run's sweep must undo all of it and restore
// the user's values, leaving everything unstamped as found.
var _ = func() bool {
	if os.Getenv("E2E_LEAK_PROBE") == "true" {
		Describe("[self-test] The leak check", Label("self-test", "leak-probe"), func() {
			It("fails the run when a spec leaves a stamped change behind", func(ctx SpecContext) {
				ch := nodeChanges.New(provenance.Taint)
				ch.Taint = &corev1.Taint{Key: "example.com/left-on-purpose", Value: "probe", Effect: corev1.TaintEffectPreferNoSchedule}
				nodeChanges.ApplyWithoutUndo(ctx, eligibleNodes(ctx)[0], ch)
			})
		})
	}
	if os.Getenv("E2E_KILL_PROBE") == "true" {
		Describe("[self-test] A run killed mid-spec", Label("self-test", "kill-probe"), func() {
			It("leaves a change of every kind for the next run's sweep", func(ctx SpecContext) {
				requireKind()
				nodes := listNodes(ctx)
				var planted string // the node where the user put VIPOnly=true:NoSchedule and dsconform.e2e/owner=user
				for _, n := range nodes {
					if n.Labels["dsconform.e2e/owner"] == "user" && slices.ContainsFunc(n.Spec.Taints, func(t corev1.Taint) bool { return t.Key == "VIPOnly" }) && n.Spec.ProviderID != "" {
						planted = n.Name
					}
				}
				if planted == "" {
					Skip("plant a user's VIPOnly=true:NoSchedule taint and dsconform.e2e/owner=user label on a kind worker first")
				}
				nodeChanges.AddTaint(ctx, planted, corev1.Taint{Key: "VIPOnly", Value: "suite", Effect: corev1.TaintEffectNoSchedule})
				nodeChanges.SetLabel(ctx, planted, "dsconform.e2e/owner", "suite")
				ns := newNamespace(ctx, "sp-killprobe")
				sn := onNode(ctx, eligibleNodes(ctx)[0])
				file := sn.Write(ctx, ns+"-web.yaml", staticPod("web", ns))
				joined, _ := addWorker(ctx)
				cp := onNode(ctx, controlPlaneNames(ctx)[0])
				cp.MoveAside(ctx, path.Join(cp.Dir, "kube-scheduler.yaml"), "/etc/kubernetes/kube-scheduler.yaml.kill-probe")
				Expect(os.WriteFile(filepath.Join(cfg.Artifacts, "kill-probe-ready"), []byte(joined+" "+planted+" "+file+"\n"), 0o644)).To(Succeed())
				select {
				case <-ctx.Done():
				case <-time.After(10 * time.Minute):
				}
			}, NodeTimeout(15*time.Minute))
		})
	}
	return true
}()
