package report

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

var colour = regexp.MustCompile("\x1b\\[[0-9;]*[A-Za-z]")

// PlainLog is the certification form of a run's console output: no colour codes, no
// "go: downloading" lines, and nothing after Ginkgo's last "SUCCESS!"/"FAIL!" line (the
// CLI's own trailer), so tools that read the "Ran N of M Specs" and result lines find
// them last. Output without a result line is kept whole.
func PlainLog(r io.Reader, w io.Writer) error {
	var lines []string
	last := -1
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		l := colour.ReplaceAllString(sc.Text(), "")
		if strings.HasPrefix(l, "go: downloading ") {
			continue
		}
		lines = append(lines, l)
		if strings.HasPrefix(l, "SUCCESS!") || strings.HasPrefix(l, "FAIL!") {
			last = len(lines)
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if last > 0 {
		lines = lines[:last]
	}
	_, err := io.WriteString(w, strings.Join(lines, "\n")+"\n")
	return err
}

// WritePlainLog turns dir/e2e.raw.log (the console as it was) into dir/e2e.log.
func WritePlainLog(dir string) error {
	raw := filepath.Join(dir, "e2e.raw.log")
	in, err := os.Open(raw)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(filepath.Join(dir, "e2e.log"))
	if err != nil {
		return err
	}
	if err := PlainLog(in, out); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Remove(raw)
}
