// Package testenv is how tests ask for what lies outside the Go toolchain:
// a real client (twine, pip, curl, chromium, docker), a Python module, or the
// time a slow test needs.
//
// The rule it enforces: on a developer's machine a test whose client is
// missing skips, saying what to install; under CI=true (.ci/run sets it)
// the same test fails, because a missing client there is a broken runner
// and a skip would hide an unchecked promise. Slow tests (oracles, long
// matrices) skip unless CI=true or FAKEPYPI_SLOW=1, so `go test ./...`
// stays quick on a laptop.
package testenv

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// OnCI reports whether the tests run under CI (CI=true), where missing
// clients fail instead of skipping.
func OnCI() bool { return os.Getenv("CI") == "true" }

// SlowEnabled reports whether slow tests run: under CI, or with
// FAKEPYPI_SLOW=1.
func SlowEnabled() bool { return OnCI() || os.Getenv("FAKEPYPI_SLOW") == "1" }

// Slow skips a slow test unless CI=true or FAKEPYPI_SLOW=1.
func Slow(t testing.TB) {
	t.Helper()
	if !SlowEnabled() {
		t.Skip("slow test: set FAKEPYPI_SLOW=1 to run it (CI=true runs it)")
	}
}

// Unavailable skips the test with msg, or fails it under CI.
func Unavailable(t testing.TB, msg string) {
	t.Helper()
	if OnCI() {
		t.Fatal("CI=true: " + msg)
	}
	t.Skip(msg)
}

// NeedCommand returns the path of the named program, skipping (or failing
// under CI) when it is not on PATH. hint says how to install it, e.g.
// "apt-get install twine".
func NeedCommand(t testing.TB, name, hint string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		Unavailable(t, name+" not found on PATH ("+hint+")")
	}
	return path
}

// Python is the interpreter the real-client tests use: Debian's, whose
// packages .ci/run installs (a pyenv or venv python on PATH would not see
// them).
const Python = "/usr/bin/python3"

// NeedPython returns Python when it can import every named module,
// skipping (or failing under CI) otherwise. hint names the Debian
// packages, e.g. "apt-get install python3-jwt".
func NeedPython(t testing.TB, hint string, modules ...string) string {
	t.Helper()
	if _, err := os.Stat(Python); err != nil {
		Unavailable(t, Python+" not found ("+hint+")")
	}
	if len(modules) > 0 {
		out, err := exec.Command(Python, "-c", "import "+strings.Join(modules, ", ")).CombinedOutput()
		if err != nil {
			Unavailable(t, "python modules "+strings.Join(modules, ", ")+" not importable ("+hint+"): "+strings.TrimSpace(string(out)))
		}
	}
	return Python
}
