package main

import (
	"fmt"
	"io"

	"github.com/fakepypi/fakepypi/internal/version"
)

// printVersion is `fakeindex version` and `fakeindex --version`.
func printVersion(w io.Writer, name string) error {
	fmt.Fprintln(w, version.String(name))
	return nil
}
