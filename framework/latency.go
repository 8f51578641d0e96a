package framework

import (
	"fmt"
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

// DiagnosticsEntry is the report entry name of the folder holding a failed spec's
// diagnostics.
const DiagnosticsEntry = "diagnostics"

// ObservationEntry is the report entry name of a spec's findings worth keeping in the
// report (e.g. each node's static pod directory), shown under the spec.
const ObservationEntry = "observation"

// Observe attaches a finding to the current spec's report.
func Observe(format string, args ...any) {
	AddReportEntry(ObservationEntry, fmt.Sprintf(format, args...), ReportEntryVisibilityNever)
}

// RecordLatency attaches a measured latency to the current spec's report.
func RecordLatency(metric, node string, d time.Duration) {
	AddReportEntry(LatencyEntry, Latency{Metric: metric, Seconds: d.Seconds(), Node: node}, ReportEntryVisibilityNever)
}
