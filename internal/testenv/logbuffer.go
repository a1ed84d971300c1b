package testenv

import (
	"bytes"
	"sync"
)

// LogBuffer collects what a server or command under test writes (a
// log/slog handler's output, a command's stdout or stderr) while the test
// reads it: its Write and String take a lock, where a bare bytes.Buffer
// written from the server's goroutines and read from the test's is a data
// race. The zero value is empty and ready to use; a LogBuffer must not be
// copied after first use.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p; it never fails.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
