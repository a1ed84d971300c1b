package indexconfig

import (
	"os"
	"testing"
	"time"

	"github.com/fakepypi/fakepypi/internal/fuzzseed"
)

// FuzzParse: any bytes given as fakeindex's --config are refused with an
// error naming the file, or parsed into a setup that validates again;
// never a panic or a hang (YAML anchors and aliases included).
func FuzzParse(f *testing.F) {
	for _, p := range []string{"../../examples/demo.yaml", "../harness/demo.yaml"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, s := range fuzzseed.Strings(f, "indexconfig_test.go", "validate_test.go") {
		f.Add([]byte(s))
	}
	f.Add([]byte("a: &a [*a, *a]\nusers: *a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var cfg *File
		var err error
		fuzzseed.Within(t, 10*time.Second, string(data), func() { cfg, err = Parse("x.yaml", data) })
		if err != nil {
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("a parsed setup does not validate again: %v", err)
		}
	})
}
