package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// Exit statuses, the same in fakeindex and fakeissuer: 0 for success and
// for asked-for help, 1 when the command failed, 2 for a command line it
// cannot run (an unknown flag, a bad value, a missing argument).
const (
	exitFailure = 1
	exitUsage   = 2
)

// exitStatus ends the process with that status and no message: the
// status of the command `fakeindex up -- COMMAND` ran, or a failure that
// was already explained on stderr.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// usageError is a command line fakeindex cannot run.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// exitCode reports err on stderr the way it should be seen and returns
// the process's exit status.
func exitCode(err error, stderr io.Writer) int {
	var status exitStatus
	var usage *usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &status):
		return int(status)
	case errors.As(err, &usage):
		// The flag package has printed its own line and the usage.
		if !errors.Is(err, errFlagPrinted) {
			fmt.Fprintln(stderr, "fakeindex:", err)
		}
		return exitUsage
	}
	fmt.Fprintln(stderr, "fakeindex:", err)
	return exitFailure
}

// errFlagPrinted marks a flag error the flag package already printed.
var errFlagPrinted = errors.New("bad flag")

// configFileError explains a configuration file that could not be used:
// a missing file says where it was looked for and what to do instead.
func configFileError(flagName, path string, err error, todo string) error {
	if os.IsNotExist(err) {
		return missingFile(flagName, path, err, todo)
	}
	return err
}
