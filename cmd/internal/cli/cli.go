// Package cli is the plumbing shared by the dossier binaries: the process
// environment a command runs in, the "prog: error:" / "prog: hint:" convention,
// and the mapping from errors to the documented exit codes.
//
// Commands never call os.Exit, read os.Args or touch os.Stdout directly; they
// receive an *Env so tests can run them in-process.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"golang.org/x/term"
)

// Exit codes shared by every dossier binary. They are documented in README.md
// and in each binary's --help; never renumber them.
const (
	ExitOK           = 0 // the command did what was asked; a verification passed
	ExitFailed       = 1 // a check ran and failed: rejected signature, changed file, lint findings
	ExitUsage        = 2 // bad flags or arguments
	ExitInconclusive = 3 // I/O or internal error: nothing could be concluded
)

// Env is the world a command sees. Zero fields are filled by Default.
type Env struct {
	Prog   string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	Now    func() time.Time
	// StderrIsTTY reports whether progress bars may be drawn on Stderr.
	StderrIsTTY bool
	// ReadPassword reads a secret from the controlling terminal; nil when
	// there is none.
	ReadPassword func(prompt string) ([]byte, error)
}

// Default returns the Env of the running process.
func Default(prog string) *Env {
	e := &Env{
		Prog:        prog,
		Stdin:       os.Stdin,
		Stdout:      os.Stdout,
		Stderr:      os.Stderr,
		Getenv:      os.Getenv,
		Now:         time.Now,
		StderrIsTTY: term.IsTerminal(int(os.Stderr.Fd())),
	}
	if term.IsTerminal(int(os.Stdin.Fd())) {
		e.ReadPassword = func(prompt string) ([]byte, error) {
			fmt.Fprint(os.Stderr, prompt)
			defer fmt.Fprintln(os.Stderr)
			return term.ReadPassword(int(os.Stdin.Fd()))
		}
	}
	return e
}

// Error is an error that carries the exit code it maps to and an optional
// hint telling the user what to do next. Library code never builds one; the
// command layer wraps library errors with it.
type Error struct {
	Code int
	Err  error
	Hint string
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Usage reports a usage error (exit 2).
func Usage(format string, args ...any) error {
	return &Error{Code: ExitUsage, Err: fmt.Errorf(format, args...)}
}

// Failed reports a check that ran and failed (exit 1).
func Failed(err error, hint string) error {
	return &Error{Code: ExitFailed, Err: err, Hint: hint}
}

// Inconclusive reports an I/O or internal error (exit 3).
func Inconclusive(err error, hint string) error {
	return &Error{Code: ExitInconclusive, Err: err, Hint: hint}
}

// WithHint attaches a hint to err, keeping its exit code (3 when err is not
// already an *Error).
func WithHint(err error, hint string) error {
	var ce *Error
	if errors.As(err, &ce) {
		return &Error{Code: ce.Code, Err: ce.Err, Hint: hint}
	}
	return &Error{Code: ExitInconclusive, Err: err, Hint: hint}
}

// Report prints err as "prog: error: ..." (and "prog: hint: ..." when there is
// one) on Stderr and returns the exit code it maps to. A nil err returns 0.
func (e *Env) Report(err error) int {
	if err == nil {
		return ExitOK
	}
	code := ExitInconclusive
	hint := ""
	var ce *Error
	if errors.As(err, &ce) {
		code, hint = ce.Code, ce.Hint
	}
	fmt.Fprintf(e.Stderr, "%s: error: %s\n", e.Prog, err)
	for _, line := range strings.Split(hint, "\n") {
		if line != "" {
			fmt.Fprintf(e.Stderr, "%s: hint: %s\n", e.Prog, line)
		}
	}
	return code
}

// Warnf prints a diagnostic on Stderr.
func (e *Env) Warnf(format string, args ...any) {
	fmt.Fprintf(e.Stderr, "%s: warning: %s\n", e.Prog, fmt.Sprintf(format, args...))
}

// Infof prints progress information on Stderr (never data).
func (e *Env) Infof(format string, args ...any) {
	fmt.Fprintf(e.Stderr, format+"\n", args...)
}

// VersionString returns v (set at build time with -ldflags "-X main.version=...")
// or, when empty, the module version from the build information ("devel"
// for a build from a work tree).
func VersionString(v string) string {
	if v != "" {
		return v
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// IsVersionFlag reports whether args ask only for the version.
func IsVersionFlag(args []string) bool {
	return len(args) == 1 && (args[0] == "--version" || args[0] == "-version" || args[0] == "version")
}
