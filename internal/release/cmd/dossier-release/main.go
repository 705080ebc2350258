// Command dossier-release is the release tool of 'make dist' and 'make
// dist-attest' (scripts/dist.sh, scripts/dist-attest.sh):
//
//	dossier-release sbom --name N --version V --created UNIX --gosum go.sum --root DIR BIN...
//	dossier-release attest --tar T --key K --repo URI --commit C --version V --gosum go.sum \
//	    --started UNIX --finished UNIX [--invocation ID] [--builder ID] [--go-sha256 HEX] -o OUT
//
// sbom prints an SPDX 2.3 JSON SBOM of the binaries (paths relative to
// --root) read from their Go build info. attest writes a Sigstore bundle
// holding an in-toto statement with a SLSA provenance v1 predicate whose
// subject is the tar.
package main

import (
	"context"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/dossier-audit/dossier/internal/atomicfile"
	"github.com/dossier-audit/dossier/internal/release"
	"github.com/dossier-audit/dossier/pkg/bundle"
	"github.com/dossier-audit/dossier/pkg/keys"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: dossier-release sbom|attest [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "sbom":
		err = runSBOM(os.Args[2:])
	case "attest":
		err = runAttest(os.Args[2:])
	default:
		err = fmt.Errorf("unknown subcommand %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "dossier-release: error: %v\n", err)
		os.Exit(1)
	}
}

func runSBOM(args []string) error {
	fs := flag.NewFlagSet("sbom", flag.ExitOnError)
	name := fs.String("name", "", "document name")
	version := fs.String("version", "", "release version")
	created := fs.Int64("created", 0, "creation time, Unix seconds (SOURCE_DATE_EPOCH)")
	goSum := fs.String("gosum", "go.sum", "go.sum of the source")
	root := fs.String("root", ".", "directory the binary paths are relative to")
	_ = fs.Parse(args)
	in := release.SBOMInput{Name: *name, Version: *version, Created: time.Unix(*created, 0)}
	sums, err := os.ReadFile(*goSum)
	if err != nil {
		return err
	}
	in.GoSum = release.ParseGoSum(sums)
	for _, rel := range fs.Args() {
		b, err := readBinary(*root, rel)
		if err != nil {
			return err
		}
		in.Binaries = append(in.Binaries, b)
	}
	doc, err := release.SBOM(in)
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(append(doc, '\n'))
	return err
}

func readBinary(root, rel string) (release.Binary, error) {
	path := filepath.Join(root, rel)
	sum, err := fileSHA256(path)
	if err != nil {
		return release.Binary{}, err
	}
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		return release.Binary{}, fmt.Errorf("%s: %w", rel, err)
	}
	return release.Binary{Name: filepath.ToSlash(rel), SHA256: sum, Info: bi}, nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func runAttest(args []string) error {
	fs := flag.NewFlagSet("attest", flag.ExitOnError)
	tarPath := fs.String("tar", "", "the bundle tar (the subject)")
	keyRef := fs.String("key", "", "release private key (from 'dossier key generate'; password in $"+keys.PasswordEnv+")")
	out := fs.String("o", "", "output Sigstore bundle; never overwritten")
	goSum := fs.String("gosum", "go.sum", "go.sum of the source")
	started := fs.Int64("started", 0, "build start, Unix seconds")
	finished := fs.Int64("finished", 0, "build end, Unix seconds")
	in := release.ProvenanceInput{GoVersion: runtime.Version()}
	fs.StringVar(&in.Repo, "repo", "", "source repository URI")
	fs.StringVar(&in.Commit, "commit", "", "source commit")
	fs.StringVar(&in.Version, "version", "", "release version")
	fs.StringVar(&in.Target, "target", "dist", "make target that built the tar")
	fs.StringVar(&in.GoVersion, "go-version", runtime.Version(), "Go toolchain version of the build")
	fs.StringVar(&in.GoSHA256, "go-sha256", "", "SHA-256 of the go command of the build")
	fs.StringVar(&in.BuilderID, "builder", "https://dossier.dev/builders/make-dist/v1", "builder id")
	fs.StringVar(&in.InvocationID, "invocation", "", "invocation id (default: derived from tar digest and start time)")
	_ = fs.Parse(args)
	if *tarPath == "" || *keyRef == "" || *out == "" {
		return errors.New("attest needs --tar, --key and -o")
	}
	var err error
	if in.SHA256, err = fileSHA256(*tarPath); err != nil {
		return err
	}
	sums, err := os.ReadFile(*goSum)
	if err != nil {
		return err
	}
	in.Artifact, in.Modules = filepath.Base(*tarPath), release.ParseGoSum(sums)
	in.StartedOn, in.FinishedOn = time.Unix(*started, 0), time.Unix(*finished, 0)
	if in.InvocationID == "" {
		in.InvocationID = "urn:dossier:dist:" + in.SHA256[:16] + ":" + strconv.FormatInt(*started, 10)
	}
	return attest(in, *keyRef, *out)
}

func attest(in release.ProvenanceInput, keyRef, out string) error {
	stmt, err := release.Statement(in)
	if err != nil {
		return err
	}
	ctx := context.Background()
	pass := keys.PasswordSource{Getenv: os.Getenv}.PassFunc()
	signer, err := keys.LoadSigner(ctx, keyRef, pass)
	if errors.Is(err, keys.ErrUnencrypted) {
		fmt.Fprintf(os.Stderr, "dossier-release: warning: %s is not encrypted\n", keyRef)
		signer, err = keys.LoadSigner(ctx, keyRef, nil, keys.AllowUnencrypted())
	}
	if err != nil {
		return fmt.Errorf("loading %s: %w", keyRef, err)
	}
	b, err := bundle.Sign(ctx, signer, bundle.PayloadTypeInToto, stmt)
	if err != nil {
		return err
	}
	return atomicfile.WriteNew(out, b, 0o644)
}
