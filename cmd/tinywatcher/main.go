// Command tinywatcher watches logs and alerts people when rules match.
package main

import (
	"errors"
	"fmt"
	"os"
)

// Exit codes: scripts and service managers tell a bad config (fix the file)
// from a runtime failure (retry later).
const (
	exitOK      = 0
	exitRuntime = 1
	exitConfig  = 2
)

// exitError carries an exit code through cobra's error return.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func configError(err error) error  { return &exitError{exitConfig, err} }
func runtimeError(err error) error { return &exitError{exitRuntime, err} }

func main() {
	cmd := newRootCommand()
	err := cmd.Execute()
	if err == nil {
		os.Exit(exitOK)
	}
	fmt.Fprintln(os.Stderr, "tinywatcher:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		os.Exit(ee.code)
	}
	// Flag and argument errors are usage errors, as bad as a bad config.
	os.Exit(exitConfig)
}
