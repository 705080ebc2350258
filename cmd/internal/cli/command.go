package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Command is one subcommand of a binary, e.g. "key generate".
type Command struct {
	// Name is the space-separated command path, e.g. "record create".
	Name string
	// Summary is one line for the command list.
	Summary string
	// Run executes the command with the arguments that follow its name.
	Run func(env *Env, args []string) error
}

// Registry holds a binary's commands. Files of package main add theirs from
// an init function with Register, so command groups live in separate files.
type Registry struct {
	cmds map[string]*Command
}

// Register adds c; a duplicate name is a programming error and panics at
// start-up.
func (r *Registry) Register(c *Command) {
	if r.cmds == nil {
		r.cmds = map[string]*Command{}
	}
	if _, dup := r.cmds[c.Name]; dup {
		panic("cli: command registered twice: " + c.Name)
	}
	r.cmds[c.Name] = c
}

// Lookup finds the longest registered command path that prefixes args and
// returns it with the remaining arguments.
func (r *Registry) Lookup(args []string) (*Command, []string) {
	for n := len(args); n > 0; n-- {
		if c, ok := r.cmds[strings.Join(args[:n], " ")]; ok {
			return c, args[n:]
		}
	}
	return nil, args
}

// Usage writes the sorted command list.
func (r *Registry) Usage(w io.Writer) {
	names := make([]string, 0, len(r.cmds))
	for n := range r.cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-22s %s\n", n, r.cmds[n].Summary)
	}
}

// Main runs the command named by args and returns the process exit code.
// header is printed above the command list by --help; footer below it.
func (r *Registry) Main(env *Env, args []string, header, footer string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		w := env.Stdout
		code := ExitOK
		if len(args) == 0 {
			w, code = env.Stderr, ExitUsage
		}
		fmt.Fprint(w, header)
		r.Usage(w)
		fmt.Fprint(w, footer)
		return code
	}
	c, rest := r.Lookup(args)
	if c == nil {
		return env.Report(&Error{Code: ExitUsage,
			Err:  fmt.Errorf("unknown command %q", strings.Join(args[:min(len(args), 2)], " ")),
			Hint: "run '" + env.Prog + " --help' for the list of commands"})
	}
	err := c.Run(env, rest)
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	return env.Report(err)
}

// FlagSet returns a flag set for command name that reports errors instead of
// exiting, and prints its usage on env.Stderr.
func FlagSet(env *Env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "usage: %s %s %s\n", env.Prog, name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// Parse parses args into fs; a parse error becomes a usage error (exit 2)
// and -h/--help returns flag.ErrHelp, which Main maps to exit 0.
func Parse(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return err
	}
	return &Error{Code: ExitUsage, Err: err}
}
