package e2e

import (
	"fmt"
	"regexp"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
)

// The documentation's typical uses of a DaemonSet, each run as the use it names.
var _ = Describe("[sig-apps] DaemonSet typical uses", Label("daemonset", "uses"), func() {
	It("runs a log collector on every node that reads that node's container logs through a hostPath mount of /var/log, and no other node's", Label("DS-USE-01"), func(ctx SpecContext) {
		nodes := eligibleNodes(ctx)
		ns := newNamespace(ctx, "ds-logs")
		logger := waitForRollout(ctx, createDaemonSet(ctx, newDaemonSet("logger", ns).WithArgs("log", "1s").Obj()))
		// The collector follows only the logger's container logs, in this spec's namespace:
		// never anybody else's, and never its own (which would feed on itself).
		glob := fmt.Sprintf("/host/var/log/pods/%s_logger-*/monitor/*.log", ns)
		collector := waitForRollout(ctx, createDaemonSet(ctx, newDaemonSet("log-collector", ns).WithArgs("collect", glob).
			WithHostPathVolume("varlog", "/var/log", "/host/var/log", true).Obj()))

		loggers := map[string]corev1.Pod{}
		for _, n := range nodes {
			loggers[n] = onePodOn(ctx, logger, n)
		}
		for _, n := range nodes {
			c := onePodOn(ctx, collector, n)
			own := loggers[n]
			dir := fmt.Sprintf("/host/var/log/pods/%s_%s_%s/monitor/", ns, own.Name, own.UID)
			Eventually(ctx, func(g Gomega) {
				log := podLog(ctx, ns, c.Name)
				g.Expect(log).To(MatchRegexp(`(?m)^%s\S+\.log: \S+ stdout F line \d+ from %s$`, regexp.QuoteMeta(dir), regexp.QuoteMeta(n)),
					"node %s: collector %s should print the lines of logger %s's container log, read from the node's /var/log/pods; its log so far:\n%s", n, c.Name, own.Name, lastLines(log, 10))
				for m, other := range loggers {
					if m == n {
						continue
					}
					g.Expect(log).NotTo(ContainSubstring(string(other.UID)), "node %s: collector %s reads its own node's /var/log; logger %s runs on node %s", n, c.Name, other.Name, m)
					g.Expect(log).NotTo(ContainSubstring("from "+m+"\n"), "node %s: collector %s printed a line logged on node %s", n, c.Name, m)
				}
			}).WithTimeout(timeouts.Medium).WithPolling(timeouts.Poll).Should(Succeed())
		}
	})
})

// lastLines is the end of a log, for a failure message.
func lastLines(log string, n int) string {
	lines := strings.Split(strings.TrimRight(log, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
