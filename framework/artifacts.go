package framework

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

const (
	cleanupTimeout   = 2 * time.Minute
	defaultSATimeout = 30 * time.Second
)

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// SpecDir returns (and creates) $ARTIFACTS/<spec>/ for a spec's diagnostics.
func SpecDir(artifacts, specText string) (string, error) {
	name := strings.Trim(unsafeChars.ReplaceAllString(specText, "_"), "_")
	if len(name) > 120 {
		name = name[:120]
	}
	dir := filepath.Join(artifacts, "specs", name)
	return dir, os.MkdirAll(dir, 0o755)
}
