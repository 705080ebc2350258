package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/dossier-audit/dossier/cmd/internal/cli"
	"github.com/dossier-audit/dossier/pkg/record"
)

func init() {
	commands.Register(&cli.Command{Name: "predicate init",
		Summary: "print a filled-in example predicate of a record kind", Run: predicateInit})
	commands.Register(&cli.Command{Name: "predicate lint",
		Summary: "check predicate or statement JSON files (exit 1 on findings)", Run: predicateLint})
	commands.Register(&cli.Command{Name: "predicate list",
		Summary: "list the record kinds and their predicate type URIs", Run: predicateList})
}

func unknownKind(kind string) error {
	return &cli.Error{Code: cli.ExitUsage, Err: fmt.Errorf("unknown record kind %q", kind),
		Hint: "known kinds: " + strings.Join(record.KindNames(), ", ")}
}

func predicateInit(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "predicate init", "KIND")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return &cli.Error{Code: cli.ExitUsage, Err: errors.New("predicate init needs exactly one KIND"),
			Hint: "known kinds: " + strings.Join(record.KindNames(), ", ")}
	}
	tpl := record.Template(fs.Arg(0))
	if tpl == nil {
		return unknownKind(fs.Arg(0))
	}
	_, err := env.Stdout.Write(tpl)
	return err
}

func predicateList(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "predicate list", "[--json]")
	asJSON := fs.Bool("json", false, "print the kinds as a JSON array")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return cli.Usage("predicate list takes no arguments")
	}
	if *asJSON {
		return writeJSONLine(env.Stdout, record.Kinds())
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tSCOPE\tPREDICATE TYPE\tSUMMARY")
	for _, k := range record.Kinds() {
		scope := "run"
		if !k.RunScoped {
			scope = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.Name, scope, k.PredicateType, k.Summary)
	}
	return tw.Flush()
}

// lintResult is one file's outcome, printed as one JSON line by --json.
type lintResult struct {
	File          string           `json:"file"`
	OK            bool             `json:"ok"`
	Document      string           `json:"document,omitempty"` // "statement" or "predicate"
	PredicateType string           `json:"predicateType,omitempty"`
	Findings      []record.Finding `json:"findings,omitempty"`
	Error         string           `json:"error,omitempty"` // the file could not be read
}

func predicateLint(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "predicate lint", "[--type KIND|URI] [--json] FILE...")
	typeFlag := fs.String("type", "", "record kind or predicate type URI (required for a bare predicate)")
	asJSON := fs.Bool("json", false, "print one JSON result per file")
	files, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return cli.Usage("predicate lint needs at least one FILE (- for stdin)")
	}
	var kind *record.Kind
	if *typeFlag != "" {
		k, ok := record.LookupKind(*typeFlag)
		if !ok {
			return unknownKind(*typeFlag)
		}
		kind = &k
	}
	var failed, unreadable int
	for _, f := range files {
		r, err := lintFile(env, f, kind)
		if err != nil {
			return err
		}
		if r.Error != "" {
			unreadable++
			env.Warnf("%s", r.Error)
		} else if !r.OK {
			failed++
		}
		if err := renderLint(env.Stdout, r, *asJSON); err != nil {
			return err
		}
	}
	switch {
	case failed > 0:
		return cli.Failed(fmt.Errorf("%d of %d files have findings", failed, len(files)), "")
	case unreadable > 0:
		return cli.Inconclusive(fmt.Errorf("%d of %d files could not be read", unreadable, len(files)), "")
	}
	return nil
}

// parseInterleaved parses flags that may follow the file arguments.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for {
		if err := cli.Parse(fs, args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return rest, nil
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// lintFile checks one file; a read error is reported in the result, a
// usage error (bare predicate without --type) is returned.
func lintFile(env *cli.Env, path string, kind *record.Kind) (lintResult, error) {
	r := lintResult{File: path}
	b, err := readLintInput(env, path)
	if err != nil {
		r.Error = err.Error()
		return r, nil
	}
	var findings error
	if isStatement(b) {
		r.Document = "statement"
		r.PredicateType, findings = lintStatement(b, kind)
	} else {
		if kind == nil {
			return r, cli.Usage("%s is a bare predicate: pass --type KIND", path)
		}
		r.Document, r.PredicateType = "predicate", kind.PredicateType
		_, findings = record.ValidatePredicate(kind.PredicateType, b)
	}
	r.Findings = record.Findings(findings)
	r.OK = len(r.Findings) == 0
	return r, nil
}

func readLintInput(env *cli.Env, path string) ([]byte, error) {
	var rd io.Reader = env.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		rd = f
	}
	// One byte over the limit lets the parser report ErrTooLarge.
	b, err := io.ReadAll(io.LimitReader(rd, record.MaxStatementBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return b, nil
}

// isStatement reports whether b looks like an in-toto statement: a JSON
// object with a "_type" key.
func isStatement(b []byte) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return false
	}
	_, ok := m["_type"]
	return ok
}

func lintStatement(b []byte, kind *record.Kind) (string, error) {
	_, err := record.ParseStatement(b)
	var loose struct {
		PredicateType string `json:"predicateType"`
	}
	_ = json.Unmarshal(b, &loose)
	if kind != nil && loose.PredicateType != kind.PredicateType {
		mismatch := &record.FieldError{Path: "predicateType",
			Err: fmt.Errorf("%w: %q, want %q (--type)", record.ErrWrongPredicateType, loose.PredicateType, kind.PredicateType)}
		err = errors.Join(mismatch, err)
	}
	return loose.PredicateType, err
}

func renderLint(w io.Writer, r lintResult, asJSON bool) error {
	if asJSON {
		return writeJSONLine(w, r)
	}
	if r.Error != "" {
		return nil
	}
	if r.OK {
		_, err := fmt.Fprintf(w, "%s: ok (%s)\n", r.File, r.PredicateType)
		return err
	}
	var buf bytes.Buffer
	for _, f := range r.Findings {
		if f.Path == "" {
			fmt.Fprintf(&buf, "%s: %s\n", r.File, f.Message)
		} else {
			fmt.Fprintf(&buf, "%s: %s: %s\n", r.File, f.Path, f.Message)
		}
	}
	_, err := w.Write(buf.Bytes())
	return err
}

func writeJSONLine(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
