package report

import (
	"os"
	"path/filepath"
	"testing"
)

func TestProgress(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ProgressFile), []byte("[9/9] PASSED an earlier run (1.0s)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := StartProgress(dir, 2); err != nil {
		t.Fatal(err)
	}
	_ = AddProgress(dir, "passed", "a", 1.25)
	_ = AddProgress(dir, "failed", "b", 120)
	got, _ := os.ReadFile(filepath.Join(dir, ProgressFile))
	if want := "[1/2] PASSED a (1.2s)\n[2/2] FAILED b (120.0s)\n"; string(got) != want {
		t.Errorf("progress = %q, want %q", got, want)
	}
}
