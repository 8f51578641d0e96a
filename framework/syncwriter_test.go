package framework

import (
	"bytes"
	"sync"
	"testing"
)

// stdout and stderr of an exec are written by two goroutines into one buffer.
func TestSyncWriterKeepsEveryWrite(t *testing.T) {
	var buf bytes.Buffer
	w := &SyncWriter{W: &buf}
	var wg sync.WaitGroup
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				_, _ = w.Write([]byte("0123456789"))
			}
		}()
	}
	wg.Wait()
	if got := buf.Len(); got != 20000 {
		t.Fatalf("two writers of 1000×10 bytes: buffer holds %d bytes, want 20000", got)
	}
}
