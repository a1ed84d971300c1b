package fakepypi

import (
	"context"
	"os"
	"strings"
	"testing"
)

// TestHostHint: inside a container with no override, a failed start says
// which variable to set; a set override is named back.
func TestHostHint(t *testing.T) {
	if v, set := os.LookupEnv(hostOverride); set {
		t.Cleanup(func() { os.Setenv(hostOverride, v) })
	} else {
		t.Cleanup(func() { os.Unsetenv(hostOverride) })
	}
	os.Unsetenv(hostOverride)
	if inContainer() {
		if h := hostHint(""); !strings.Contains(h, hostOverride+"=localhost") {
			t.Errorf("in a container, no override: hint %q", h)
		}
	} else if h := hostHint(""); h != "" {
		t.Errorf("not in a container: hint %q", h)
	}
	os.Setenv(hostOverride, "198.51.100.7")
	if h := hostHint(""); !strings.Contains(h, hostOverride+"=198.51.100.7") {
		t.Errorf("with an override: hint %q", h)
	}
	if h := hostHint("a note"); h != "\n(a note)" {
		t.Errorf("with a note: %q", h)
	}
}

// TestDetectHost: detection never overrides a user's setting, and when it
// sets localhost it says why.
func TestDetectHost(t *testing.T) {
	if v, set := os.LookupEnv(hostOverride); set {
		t.Cleanup(func() { os.Setenv(hostOverride, v) })
	} else {
		t.Cleanup(func() { os.Unsetenv(hostOverride) })
	}
	os.Setenv(hostOverride, "198.51.100.7")
	if note := detectHost(context.Background()); note != "" || os.Getenv(hostOverride) != "198.51.100.7" {
		t.Fatalf("overrode the user's setting: %q", note)
	}
	os.Unsetenv(hostOverride)
	note := detectHost(context.Background())
	t.Logf("in a container: %v; detection: %q", inContainer(), note)
	if note != "" && os.Getenv(hostOverride) != "localhost" {
		t.Errorf("note %q but %s=%q", note, hostOverride, os.Getenv(hostOverride))
	}
	if note == "" && !inContainer() {
		if _, set := os.LookupEnv(hostOverride); set {
			t.Errorf("set %s outside a container", hostOverride)
		}
	}
}
