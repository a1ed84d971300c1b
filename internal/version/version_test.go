package version

import (
	"runtime"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	s := String("fakeindex")
	if !strings.HasPrefix(s, "fakeindex ") || !strings.HasSuffix(s, runtime.Version()) {
		t.Fatalf("%q", s)
	}
}
