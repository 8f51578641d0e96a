package report

import (
	"os"
	"testing"
)

func TestCPUUse(t *testing.T) {
	a, err := ParseCPUSample("cpu  100 0 50 800 50 0 0 0 30 0\ncpu0 1 2 3 4 5\n")
	if err != nil {
		t.Fatal(err)
	}
	if a.Busy != 150 || a.Total != 1000 {
		t.Fatalf("sample = %+v, want busy 150 of 1000 (guest time is in user already)", a)
	}
	b, _ := ParseCPUSample("cpu  400 0 150 1250 200 0 0 0 0 0")
	u := a.Until(b)
	if u.BusyPercent != 40 || u.BusySeconds != 4 {
		t.Errorf("use = %+v, want 40%% and 4 CPU seconds", u)
	}
	if _, err := ParseCPUSample("intr 1 2 3"); err == nil {
		t.Error("a /proc/stat without the cpu line must be an error")
	}
	dir := t.TempDir()
	if err := WriteCPU(dir, u); err != nil {
		t.Fatal(err)
	}
	if got := readCPU(dir); got == nil || got.BusyPercent != 40 || got.BusySeconds != 4 || got.CPUs != u.CPUs {
		t.Errorf("read back %+v", got)
	}
	if readCPU(os.DevNull) != nil {
		t.Error("no file, no use")
	}
}
