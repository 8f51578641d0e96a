package report

import (
	"bytes"
	"strings"
	"testing"
)

func TestPlainLog(t *testing.T) {
	for name, c := range map[string]struct{ in, want string }{
		"colour codes and build noise go, the trailer after the last result line goes": {
			in:   "go: downloading x\n\x1b[1mRan 2 of 2 Specs\x1b[0m\n\x1b[32mSUCCESS!\x1b[0m -- 2 Passed\nPASS\n\nGinkgo ran 1 suite\nTest Suite Passed\n",
			want: "Ran 2 of 2 Specs\nSUCCESS! -- 2 Passed\n",
		},
		"a failed run ends at FAIL!": {
			in:   "Ran 2 of 2 Specs\nFAIL! -- 1 Passed | 1 Failed\n--- FAIL: TestE2E\n",
			want: "Ran 2 of 2 Specs\nFAIL! -- 1 Passed | 1 Failed\n",
		},
		"no result line (interrupted before the end): kept whole": {
			in:   "[1/2] PASSED a\nInterrupted by User\n",
			want: "[1/2] PASSED a\nInterrupted by User\n",
		},
	} {
		var out bytes.Buffer
		if err := PlainLog(strings.NewReader(c.in), &out); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if out.String() != c.want {
			t.Errorf("%s:\n got %q\nwant %q", name, out.String(), c.want)
		}
	}
}
