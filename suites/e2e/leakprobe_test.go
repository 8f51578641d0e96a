package e2e

import (
	"os"

	. "github.com/onsi/ginkgo/v2"
	corev1 "k8s.io/api/core/v1"

	"github.com/dsconform/dsconform/framework/provenance"
)

// The leak probe shows that the leak check goes by stamps, not names: with
// E2E_LEAK_PROBE=true this spec leaves behind, on purpose, a taint whose key follows no
// convention of the suite, and the run must then fail at the leak check (which undoes it).
var _ = func() bool {
	if os.Getenv("E2E_LEAK_PROBE") != "true" {
		return false
	}
	Describe("[self-test] The leak check", Label("self-test", "leak-probe"), func() {
		It("fails the run when a spec leaves a stamped change behind", func(ctx SpecContext) {
			requireNodeChanges()
			ch := nodeChanges.New(provenance.Taint)
			ch.Taint = &corev1.Taint{Key: "example.com/left-on-purpose", Value: "probe", Effect: corev1.TaintEffectPreferNoSchedule}
			nodeChanges.ApplyWithoutUndo(ctx, eligibleNodes(ctx)[0], ch)
		})
	})
	return true
}()
