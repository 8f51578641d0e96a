package framework

import (
	"io"
	"sync"
)

// SyncWriter serialises writes to W from several goroutines (an exec's stdout and
// stderr into one buffer, a launcher's output and its progress lines into one console).
// A plain bytes.Buffer shared by an exec's two streams lost or garbled output: 7 of 20
// short commands came back empty before this.
type SyncWriter struct {
	mu sync.Mutex
	W  io.Writer
}

func (s *SyncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.W.Write(p)
}
