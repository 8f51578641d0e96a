package report

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ProgressFile is where finished specs are announced, one line each, as they finish:
// `make e2e` streams it to the console (Ginkgo holds back parallel processes' output
// until a spec fails) and the suite image's runner serves its last line.
const ProgressFile = "progress.log"

// StartProgress empties the progress file of dir and records how many specs will run.
func StartProgress(dir string, total int) error {
	p := filepath.Join(dir, ProgressFile)
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		return err
	}
	return os.WriteFile(p+"-total", []byte(fmt.Sprint(total)), 0o644)
}

// AddProgress appends "[done/total] STATE text (duration)" for a finished spec. The
// parallel processes append to one file: an O_APPEND write of one short line is atomic.
func AddProgress(dir, state, text string, seconds float64) error {
	p := filepath.Join(dir, ProgressFile)
	data, _ := os.ReadFile(p)
	total, _ := os.ReadFile(p + "-total")
	line := fmt.Sprintf("[%d/%s] %s %s (%.1fs)\n", strings.Count(string(data), "\n")+1, strings.TrimSpace(string(total)), strings.ToUpper(state), text, seconds)
	f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteString(line)
	return err
}
