package issuer

import (
	"testing"
	"time"

	"github.com/fakepypi/fakepypi/internal/fuzzseed"
)

// FuzzConfig: any bytes given as fakeissuer's --config are refused with
// an error, or make a configuration that Validate (what New checks)
// accepts or refuses cleanly. (New itself also makes RSA keys: too slow
// to fuzz; the tests start servers from configurations.)
func FuzzConfig(f *testing.F) {
	for _, s := range fuzzseed.Strings(f, "config_test.go") {
		f.Add([]byte(s))
	}
	f.Add([]byte("seed: x\nkeys: 2\nlifetime: 10m\ncontext: {github: {repository: a/b, ref: refs/tags/v1}}\nfaults: [expired, \"claim:actor=eve\"]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzseed.Within(t, 20*time.Second, string(data), func() {
			cfg, err := ParseConfig("x.yaml", data)
			if err != nil {
				return
			}
			if cfg.Validate() == nil {
				rc := cfg.Context.clone()
				rc.fill()
			}
		})
	})
}

// FuzzFaults: fault names from --fault, /_fake/faults or ?fault= parse or
// are refused; a parsed one applies to a real token without a panic.
func FuzzFaults(f *testing.F) {
	for _, s := range fuzzseed.Strings(f, "faults_test.go") {
		f.Add(s)
	}
	for name := range FaultNames() {
		f.Add(name)
	}
	s, err := New(Config{Seed: "fuzz"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, name string) {
		faults, err := ParseFaults([]string{name})
		if err != nil {
			return
		}
		fuzzseed.Within(t, 10*time.Second, name, func() { s.TokenFor(t.Context(), GitHub, "pypi", faults...) })
	})
}
