package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// fakeindexBinary builds the fakeindex binary once per test run, into a
// directory removed when the package's tests end (TestMain), and returns
// its path. Tests that need the real process (exit status, signals, the
// README's commands) share it.
func fakeindexBinary(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	buildOnce()
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBinary
}

var (
	binDir      string
	builtBinary string
	buildErr    error
	buildOnce   = sync.OnceFunc(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		builtBinary = filepath.Join(binDir, "fakeindex")
		if out, err := exec.Command(goTool, "build", "-o", builtBinary, ".").CombinedOutput(); err != nil {
			buildErr = &buildError{err, out}
		}
	})
)

type buildError struct {
	err error
	out []byte
}

func (e *buildError) Error() string { return "go build: " + e.err.Error() + "\n" + string(e.out) }

func TestMain(m *testing.M) {
	var err error
	if binDir, err = os.MkdirTemp("", "fakeindex-bin-"); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(binDir)
	os.Exit(code)
}
