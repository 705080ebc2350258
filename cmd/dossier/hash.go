package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/dossier-audit/dossier/cmd/internal/cli"
	"github.com/dossier-audit/dossier/cmd/internal/progress"
	"github.com/dossier-audit/dossier/internal/atomicfile"
	"github.com/dossier-audit/dossier/pkg/digest"
)

func init() {
	commands.Register(&cli.Command{Name: "hash",
		Summary: "digest files and directories into a manifest; --check re-verifies retained data",
		Run:     runHash})
}

const hashSynopsis = `[--json] [-o MANIFEST] [--exclude PATTERN]... [--allow-external-links]
           [--hash-names (--salt-out FILE | --salt FILE)] [--workers N] PATH...
       dossier hash --check MANIFEST [--json] [--salt FILE] [--workers N] PATH...`

// hashFlags are the flags of "dossier hash".
type hashFlags struct {
	json, allowExternal, hashNames bool
	out, saltOut, salt, check      string
	workers                        int
	excludes                       multiFlag
}

func runHash(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "hash", hashSynopsis)
	var f hashFlags
	fs.BoolVar(&f.json, "json", false, "print the manifest (or the check report) as JSON")
	fs.StringVar(&f.out, "o", "", "write the manifest JSON to `MANIFEST` (stdout then stays empty unless --json)")
	fs.Var(&f.excludes, "exclude", "skip names matching `PATTERN` (base name, or anchored path with / and **); repeatable")
	fs.BoolVar(&f.allowExternal, "allow-external-links", false, "hash symbolic links that leave the root instead of refusing them")
	fs.BoolVar(&f.hashNames, "hash-names", false, "replace names by salted digests (HMAC-SHA256)")
	fs.StringVar(&f.saltOut, "salt-out", "", "with --hash-names: write the new salt to `FILE` (0600, must not exist)")
	fs.StringVar(&f.salt, "salt", "", "read the salt of hashed names from `FILE`")
	fs.StringVar(&f.check, "check", "", "re-hash PATH... and report how it differs from `MANIFEST`")
	fs.IntVar(&f.workers, "workers", 0, "files hashed at once (default: number of CPUs)")
	paths, err := hashParse(fs, args)
	if err != nil {
		return err
	}
	if err := f.validate(paths); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if f.check != "" {
		return runHashCheck(ctx, env, &f, paths)
	}
	return runHashTree(ctx, env, &f, paths)
}

// hashParse parses flags that may follow the paths; after "--" everything
// is a path.
func hashParse(fs *flag.FlagSet, args []string) ([]string, error) {
	var paths []string
	for {
		if err := cli.Parse(fs, args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return paths, nil
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(paths, rest...), nil
		}
		paths, args = append(paths, rest[0]), rest[1:]
	}
}

func (f *hashFlags) validate(paths []string) error {
	switch {
	case len(paths) == 0:
		return cli.Usage("hash needs at least one PATH")
	case f.workers < 0:
		return cli.Usage("--workers must not be negative")
	case f.check != "" && (f.out != "" || f.hashNames || f.saltOut != "" || f.allowExternal || len(f.excludes) > 0):
		return cli.Usage("--check takes its excludes, link and name settings from the manifest: drop -o, --exclude, --allow-external-links, --hash-names and --salt-out")
	case f.check != "":
		return nil
	case f.hashNames && f.saltOut == "" && f.salt == "":
		return &cli.Error{Code: cli.ExitUsage, Err: errors.New("--hash-names needs --salt-out FILE or --salt FILE"),
			Hint: "the salt is the only way to recompute hashed names: keep it with the data owner (--salt-out FILE)"}
	case !f.hashNames && (f.saltOut != "" || f.salt != ""):
		return cli.Usage("--salt and --salt-out only apply with --hash-names or --check")
	case f.saltOut != "" && f.salt != "":
		return cli.Usage("give either --salt-out (new salt) or --salt (existing salt), not both")
	}
	if f.saltOut != "" {
		if _, err := os.Lstat(f.saltOut); err == nil {
			return cli.Usage("--salt-out %s: file exists; a salt file is never overwritten", f.saltOut)
		}
	}
	return nil
}

func runHashTree(ctx context.Context, env *cli.Env, f *hashFlags, paths []string) error {
	opts := digest.Options{Workers: f.workers, Excludes: f.excludes,
		AllowExternalLinks: f.allowExternal, HashNames: f.hashNames}
	if f.salt != "" {
		salt, err := readSalt(f.salt)
		if err != nil {
			return err
		}
		opts.Salt = salt
	}
	if f.hashNames && len(f.excludes) > 0 {
		env.Warnf("exclude patterns are recorded in clear in the manifest, even with --hash-names")
	}
	start := env.Now()
	m, err := hashWithProgress(env, !f.json, func(o digest.Options) (*digest.Manifest, error) {
		return digest.Hash(ctx, paths, o)
	}, opts)
	if err != nil {
		return hashError(err)
	}
	if err := writeHashOutputs(f, m); err != nil {
		return cli.Inconclusive(err, "")
	}
	if f.json || f.out == "" {
		if err := renderManifest(env.Stdout, m, f.json); err != nil {
			return cli.Inconclusive(err, "")
		}
	}
	hashSummary(env, m, env.Now().Sub(start))
	return nil
}

// hashWithProgress runs hash with a progress bar on a terminal.
func hashWithProgress[T any](env *cli.Env, show bool, hash func(digest.Options) (T, error), opts digest.Options) (T, error) {
	bar := progress.New(env.Stderr, show && env.StderrIsTTY, 0, "hashing")
	opts.Planned = func(_ int, bytes int64) { bar.SetTotal(bytes) }
	opts.Progress = bar.Add
	defer bar.Done()
	return hash(opts)
}

// writeHashOutputs writes the salt file first, then the manifest file, so
// no manifest exists whose salt was lost.
func writeHashOutputs(f *hashFlags, m *digest.Manifest) error {
	if f.saltOut != "" {
		if err := atomicfile.WriteNew(f.saltOut, digest.EncodeSalt(m.Salt), 0o600); err != nil {
			return err
		}
	}
	if f.out == "" {
		return nil
	}
	data, err := m.Marshal()
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(f.out, data, 0o644)
}

func renderManifest(w io.Writer, m *digest.Manifest, asJSON bool) error {
	if asJSON {
		data, err := m.Marshal()
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	}
	for _, rd := range m.Files {
		link := ""
		if t := rd.Annotations.LinkTarget; t != "" {
			link = " -> " + t
		}
		if _, err := fmt.Fprintf(w, "%s  %d  %s%s\n", rd.Digest.SHA256, rd.Annotations.Size, rd.Name, link); err != nil {
			return err
		}
	}
	return nil
}

func hashSummary(env *cli.Env, m *digest.Manifest, took time.Duration) {
	rate := ""
	if took >= time.Millisecond {
		rate = ", " + progress.Bytes(int64(float64(m.TotalBytes)/took.Seconds())) + "/s"
	}
	files := "files"
	if m.FileCount == 1 {
		files = "file"
	}
	env.Infof("hashed %d %s, %s in %s%s; tree %s", m.FileCount, files, progress.Bytes(m.TotalBytes),
		took.Round(time.Millisecond), rate, m.TreeDigest)
}

func readSalt(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, cli.Inconclusive(fmt.Errorf("reading salt: %w", err), "")
	}
	salt, err := digest.DecodeSalt(data)
	if err != nil {
		return nil, cli.Usage("--salt %s: %v", path, err)
	}
	return salt, nil
}

// hashError maps digest errors to exit codes and hints.
func hashError(err error) error {
	for _, h := range []struct {
		target error
		code   int
		hint   string
	}{
		{digest.ErrChangedWhileHashing, cli.ExitFailed, "hash again once every writer of the data has finished"},
		{digest.ErrLinkEscapes, cli.ExitFailed, "hash the directory that holds the link targets too (for a Hugging Face cache, the models--ORG--NAME directory), or pass --allow-external-links"},
		{digest.ErrSpecialFile, cli.ExitFailed, "devices, FIFOs and sockets have no content to digest: skip them with --exclude"},
		{digest.ErrBrokenLink, cli.ExitFailed, "fix the link or skip it with --exclude"},
		{digest.ErrLinkCycle, cli.ExitFailed, "remove the link or skip it with --exclude"},
		{digest.ErrBadName, cli.ExitFailed, "rename the file, skip it with --exclude, or give roots distinct base names"},
		{digest.ErrBadPattern, cli.ExitUsage, "patterns use path.Match syntax plus ** for any number of directories"},
		{digest.ErrBadManifest, cli.ExitFailed, ""},
		{digest.ErrWrongSalt, cli.ExitFailed, "use the salt file written by --salt-out when the manifest was made"},
		{digest.ErrSaltRequired, cli.ExitUsage, "pass the salt file with --salt FILE"},
		{digest.ErrRootCount, cli.ExitUsage, "give the same number of PATHs as when the manifest was made"},
	} {
		if errors.Is(err, h.target) {
			return &cli.Error{Code: h.code, Err: err, Hint: h.hint}
		}
	}
	if errors.Is(err, context.Canceled) {
		return cli.Inconclusive(errors.New("interrupted"), "")
	}
	return cli.Inconclusive(err, "")
}

func runHashCheck(ctx context.Context, env *cli.Env, f *hashFlags, paths []string) error {
	m, err := readManifest(f.check)
	if err != nil {
		return err
	}
	opts := digest.Options{Workers: f.workers}
	if f.salt != "" {
		if opts.Salt, err = readSalt(f.salt); err != nil {
			return err
		}
	}
	r, err := hashWithProgress(env, !f.json, func(o digest.Options) (*digest.CheckReport, error) {
		return digest.Check(ctx, m, paths, o)
	}, opts)
	if err != nil {
		return hashError(err)
	}
	if err := renderCheck(env.Stdout, r, f.json); err != nil {
		return cli.Inconclusive(err, "")
	}
	if !r.Identical {
		return cli.Failed(fmt.Errorf("the data differs from %s: %s", f.check, checkCounts(r)), "")
	}
	return nil
}

func readManifest(path string) (*digest.Manifest, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, cli.Inconclusive(fmt.Errorf("reading manifest: %w", err), "")
	}
	defer file.Close()
	m, err := digest.ParseManifest(file)
	if err != nil {
		return nil, hashError(fmt.Errorf("%s: %w", path, err))
	}
	return m, nil
}

func renderCheck(w io.Writer, r *digest.CheckReport, asJSON bool) error {
	if asJSON {
		data, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return err
		}
		_, err = w.Write(append(data, '\n'))
		return err
	}
	var b strings.Builder
	name := func(n string) string {
		if p, ok := r.Paths[n]; ok {
			return n + " = " + p
		}
		return n
	}
	for _, d := range r.Missing {
		fmt.Fprintf(&b, "missing       %s\n", d.Name)
	}
	for _, d := range r.Added {
		fmt.Fprintf(&b, "added         %s\n", name(d.Name))
	}
	for _, c := range r.Changed {
		fmt.Fprintf(&b, "changed       %s (sha256 %.12s… size %d, was %.12s… size %d)\n", name(c.Name),
			c.Got.Digest.SHA256, c.Got.Annotations.Size, c.Want.Digest.SHA256, c.Want.Annotations.Size)
	}
	for _, c := range r.TypeChanged {
		fmt.Fprintf(&b, "type changed  %s (link target %q, was %q)\n", name(c.Name),
			c.Got.Annotations.LinkTarget, c.Want.Annotations.LinkTarget)
	}
	fmt.Fprintf(&b, "%d files checked: %s\n", r.Checked, checkCounts(r))
	_, err := io.WriteString(w, b.String())
	return err
}

func checkCounts(r *digest.CheckReport) string {
	if r.Identical {
		return "identical"
	}
	return fmt.Sprintf("%d missing, %d added, %d changed, %d type changed",
		len(r.Missing), len(r.Added), len(r.Changed), len(r.TypeChanged))
}
