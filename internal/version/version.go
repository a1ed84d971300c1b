// Package version is the --version line of both binaries.
package version

import (
	"runtime/debug"
	"strings"
)

// String says what the running binary was built from, from the build
// information Go records: "NAME VERSION [revision REV [(modified)]] [TIME]
// GOVERSION". VERSION is the module version for `go install ...@vX`, or
// "(devel)" for a build in a checkout; the revision and its time are there
// when the build stamped VCS information (go build -buildvcs).
func String(name string) string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return name + " (no build information)"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	parts := []string{name, v}
	var rev, when, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = " (modified)"
			}
		}
	}
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		parts = append(parts, "revision "+rev+dirty)
	}
	if when != "" {
		parts = append(parts, when)
	}
	parts = append(parts, bi.GoVersion)
	return strings.Join(parts, " ")
}
