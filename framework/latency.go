package framework

import (
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive
)

// LatencyEntry is the report entry name the report generator collects latencies from.
const LatencyEntry = "latency"

// Latency is one measured interval, e.g. "node label change → pod created".
type Latency struct {
	Metric  string  `json:"metric"`
	Seconds float64 `json:"seconds"`
	Node    string  `json:"node,omitempty"`
}

// RecordLatency attaches a measured latency to the current spec's report.
func RecordLatency(metric, node string, d time.Duration) {
	AddReportEntry(LatencyEntry, Latency{Metric: metric, Seconds: d.Seconds(), Node: node}, ReportEntryVisibilityNever)
}
