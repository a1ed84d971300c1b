package testenv

import "testing"

func TestSlowEnabled(t *testing.T) {
	t.Setenv("CI", "")
	t.Setenv("FAKEPYPI_SLOW", "")
	if SlowEnabled() {
		t.Fatal("slow tests enabled with neither CI nor FAKEPYPI_SLOW")
	}
	t.Setenv("FAKEPYPI_SLOW", "1")
	if !SlowEnabled() {
		t.Fatal("FAKEPYPI_SLOW=1 did not enable slow tests")
	}
	t.Setenv("FAKEPYPI_SLOW", "")
	t.Setenv("CI", "true")
	if !SlowEnabled() || !OnCI() {
		t.Fatal("CI=true did not enable slow tests")
	}
}

func TestNeedCommandFindsSh(t *testing.T) {
	if p := NeedCommand(t, "sh", "a POSIX shell"); p == "" {
		t.Fatal("empty path for sh")
	}
}
