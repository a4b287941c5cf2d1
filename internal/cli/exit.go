package cli

import (
	"errors"
	"fmt"
)

// Exit codes, documented in the root command's help and in the README.
const (
	ExitOK       = 0 // nothing at or above the gate
	ExitFindings = 1 // findings at or above --fail-on, or a policy refusal
	ExitUsage    = 2 // bad flag, unknown transport, malformed reference, unparsable input file
	ExitRuntime  = 3 // the work itself failed: unreadable image, registry error, corrupt layer
)

// ErrFindings is returned by a command whose gate failed. The report has already been written.
var ErrFindings = errors.New("findings at or above the --fail-on severity")

// UsageError marks an error the user can fix by changing the command line.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef builds a UsageError.
func Usagef(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// PolicyError is a refusal by policy (a mutable repository, a tag that would be overwritten).
// It maps to exit code 1 like a failed gate.
type PolicyError struct{ Err error }

func (e *PolicyError) Error() string { return e.Err.Error() }
func (e *PolicyError) Unwrap() error { return e.Err }

// ExitCode maps an error returned by a command to the process exit code.
func ExitCode(err error) int {
	var ue *UsageError
	var pe *PolicyError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, ErrFindings), errors.As(err, &pe):
		return ExitFindings
	case errors.As(err, &ue):
		return ExitUsage
	default:
		return ExitRuntime
	}
}
