package tarball

import (
	"os"
	"path/filepath"
	"testing"
)

func TestPackThenUnpack(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	for name, content := range map[string]string{"e2e.log": "Ran 1 of 1 Specs", "specs/a/pods.yaml": "kind: Pod", "done": "x"} {
		p := filepath.Join(src, name)
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := Pack(src, "e2e.tar.gz", "done"); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(src, "e2e.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := Unpack(f, dst); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"e2e.log": "Ran 1 of 1 Specs", "specs/a/pods.yaml": "kind: Pod"} {
		if got, _ := os.ReadFile(filepath.Join(dst, name)); string(got) != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	for _, name := range []string{"done", "e2e.tar.gz", "e2e.tar.gz.tmp"} {
		if _, err := os.Stat(filepath.Join(dst, name)); err == nil {
			t.Errorf("%s should not be in the tarball", name)
		}
	}
}
