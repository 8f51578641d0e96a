package report

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// CPUFile is the side file the launcher leaves beside the Ginkgo report: how busy the
// machine's CPUs were while the suite ran (the specs wait on cluster timers with the
// CPUs idle; this says how much).
const CPUFile = "cpu.txt"

// CPUSample is the machine's CPU time so far, from /proc/stat, in clock ticks.
type CPUSample struct{ Busy, Total uint64 }

// CPUUse is the machine's CPU use between two samples.
type CPUUse struct {
	CPUs        int     `json:"cpus"`
	BusyPercent float64 `json:"busyPercent"` // of all CPUs' time
	BusySeconds float64 `json:"busySeconds"` // CPU seconds spent, all CPUs together
}

// ReadCPUSample reads /proc/stat's first line.
func ReadCPUSample() (CPUSample, error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return CPUSample{}, err
	}
	return ParseCPUSample(string(data))
}

// ParseCPUSample reads the aggregate "cpu" line of /proc/stat: idle and iowait are idle,
// the rest (user nice system irq softirq steal) busy; guest time is already in user.
func ParseCPUSample(stat string) (CPUSample, error) {
	line, _, _ := strings.Cut(stat, "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return CPUSample{}, fmt.Errorf("/proc/stat: no aggregate cpu line: %q", line)
	}
	var s CPUSample
	for i, v := range f[1:] {
		if i >= 8 { // guest, guest_nice: counted in user already
			break
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return CPUSample{}, fmt.Errorf("/proc/stat: %q: %w", line, err)
		}
		s.Total += n
		if i != 3 && i != 4 { // idle, iowait
			s.Busy += n
		}
	}
	return s, nil
}

// Until is the use from s to later, at 100 ticks a second (USER_HZ on Linux).
func (s CPUSample) Until(later CPUSample) CPUUse {
	u := CPUUse{CPUs: runtime.NumCPU()}
	if total := later.Total - s.Total; later.Total > s.Total {
		busy := later.Busy - s.Busy
		u.BusyPercent = 100 * float64(busy) / float64(total)
		u.BusySeconds = float64(busy) / 100
	}
	return u
}

// WriteCPU leaves the use in dir for RenderDir.
func WriteCPU(dir string, u CPUUse) error {
	return os.WriteFile(filepath.Join(dir, CPUFile),
		fmt.Appendf(nil, "cpus %d\nbusy-percent %.1f\nbusy-seconds %.1f\n", u.CPUs, u.BusyPercent, u.BusySeconds), 0o644)
}

// readCPU reads what WriteCPU left (nil without it).
func readCPU(dir string) *CPUUse {
	t := ReadTimings(filepath.Join(dir, CPUFile))
	if t == nil {
		return nil
	}
	return &CPUUse{CPUs: int(t["cpus"]), BusyPercent: t["busy-percent"], BusySeconds: t["busy-seconds"]}
}
