package main

import (
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

// printVersion prints what the binary was built from, from the build
// information Go records: the module version ("(devel)" for a build in a
// checkout), the VCS revision, its time and whether the tree had local
// changes, and the Go version.
func printVersion(w io.Writer, name string) error {
	fmt.Fprintln(w, versionLine(name))
	return nil
}

func versionLine(name string) string {
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
