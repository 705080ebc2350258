package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/dossier-audit/dossier/cmd/internal/cli"
	"github.com/dossier-audit/dossier/internal/atomicfile"
	"github.com/dossier-audit/dossier/pkg/oci/layout"
	"github.com/dossier-audit/dossier/pkg/run"
)

func init() {
	commands.Register(&cli.Command{Name: "run init", Summary: "register a training run and write its run root", Run: runInit})
	commands.Register(&cli.Command{Name: "run show", Summary: "print a run file's run root digest and registration", Run: runShow})
}

func runInit(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "run init", "--id ID --project P --model M --started-by ID [flags]")
	var reg run.Registration
	fs.StringVar(&reg.RunID, "id", "", "run id (letters, digits, . _ -; at most 100)")
	fs.StringVar(&reg.Project, "project", "", "project the run belongs to")
	fs.StringVar(&reg.Model, "model", "", "model being trained, e.g. acme/notes-summarizer")
	fs.StringVar(&reg.StartedBy.ID, "started-by", "", "stable id of the person or workload starting the run")
	fs.StringVar(&reg.StartedBy.Name, "started-by-name", "", "printed name of who started the run")
	fs.StringVar(&reg.StartedBy.Kind, "started-by-kind", "workload", "person or workload")
	fs.StringVar(&reg.StartedAt, "started-at", "", "RFC 3339 UTC start time (default: now)")
	fs.StringVar(&reg.Description, "description", "", "free text")
	out := fs.String("o", "", "run file to write (default run-<id>.json)")
	layoutDir := fs.String("layout", "", "also store the run root in this OCI image layout directory")
	asJSON := fs.Bool("json", false, "print the run file on stdout")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return cli.Usage("run init takes no arguments, got %q", fs.Args())
	}
	if reg.StartedAt == "" {
		reg.StartedAt = env.Now().UTC().Truncate(time.Second).Format(time.RFC3339)
	}
	root, err := run.New(reg)
	if err != nil {
		return &cli.Error{Code: cli.ExitUsage, Err: err}
	}
	if *out == "" {
		*out = "run-" + reg.RunID + ".json"
	}
	if err := atomicfile.WriteFile(*out, root.MarshalFile(), 0o644); err != nil {
		return cli.Inconclusive(err, "")
	}
	if *layoutDir != "" {
		if err := storeRoot(*layoutDir, root); err != nil {
			return cli.Inconclusive(err, "check that the layout directory is writable")
		}
	}
	if *asJSON {
		_, err = env.Stdout.Write(root.MarshalFile())
		return err
	}
	fmt.Fprintf(env.Stdout, "%s\n", root.Digest())
	env.Infof("registered run %s (root %s), run file %s", reg.RunID, root.Digest(), *out)
	return nil
}

// storeRoot puts the run root's blobs into an OCI layout and tags it.
func storeRoot(dir string, root *run.Root) error {
	l, err := layout.Open(dir)
	if err != nil {
		return err
	}
	m := root.Descriptor
	var man ocispec.Manifest
	if err := json.Unmarshal(root.Manifest, &man); err != nil {
		return err
	}
	for _, b := range []struct {
		d ocispec.Descriptor
		c []byte
	}{{man.Config, root.Config}, {man.Layers[0], root.RegistrationJSON}, {m, root.Manifest}} {
		if err := l.Put(b.d, b.c); err != nil {
			return err
		}
	}
	// "kind" is the index annotation cosign's --local-image looks for.
	return l.Tag(root.Tag(), m, map[string]string{"kind": "dev.cosignproject.cosign/image"})
}

func runShow(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "run show", "RUNFILE")
	asJSON := fs.Bool("json", false, "print the run file as JSON")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return cli.Usage("run show takes one run file")
	}
	root, err := loadRunFile(fs.Arg(0))
	if err != nil {
		return err
	}
	if *asJSON {
		_, err = env.Stdout.Write(root.MarshalFile())
		return err
	}
	r := root.Registration
	fmt.Fprintf(env.Stdout, "run        %s\nroot       %s\nproject    %s\nmodel      %s\nstarted by %s (%s)\nstarted at %s\n",
		r.RunID, root.Digest(), r.Project, r.Model, r.StartedBy.ID, r.StartedBy.Kind, r.StartedAt)
	return nil
}

// loadRunFile reads and checks a run file written by run init.
func loadRunFile(path string) (*run.Root, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, cli.Inconclusive(err, "pass the run file written by 'dossier run init'")
	}
	root, err := run.ParseFile(b)
	if err != nil {
		return nil, cli.Failed(fmt.Errorf("%s: %w", filepath.Base(path), err), "regenerate it with 'dossier run init'")
	}
	return root, nil
}
