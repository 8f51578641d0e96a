package framework

import . "github.com/onsi/gomega"

// UseTiers makes the tiers Gomega's defaults: Medium and Poll for Eventually, Hold and
// HoldPoll for Consistently, also for waits given a context. Without the last, Gomega
// applies no default timeout to an Eventually given the spec's context (which has no
// deadline): 58 waits without WithTimeout were unbounded, and under a fault the
// self-test saw one poll for 8 minutes instead of failing at Medium.
func UseTiers(t Timeouts) {
	SetDefaultEventuallyTimeout(t.Medium)
	SetDefaultEventuallyPollingInterval(t.Poll)
	SetDefaultConsistentlyDuration(t.Hold)
	SetDefaultConsistentlyPollingInterval(t.HoldPoll)
	EnforceDefaultTimeoutsWhenUsingContexts()
}
