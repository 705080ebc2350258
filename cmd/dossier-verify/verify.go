package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/dossier-audit/dossier/cmd/internal/cli"
	"github.com/dossier-audit/dossier/pkg/verify"
)

// maxTrustFile bounds the --policy and --trusted-head files.
const maxTrustFile = 1 << 20

type flags struct {
	json        bool
	policy      string
	trustedHead string
	at          string
	fingerprint string
	pkg         string
}

// run is the whole command: flags, one call to verify.VerifyPackage,
// rendering, exit code.
func run(env *cli.Env, args []string) int {
	f, err := parseFlags(env, args)
	if errors.Is(err, flag.ErrHelp) {
		return cli.ExitOK
	}
	if err != nil {
		return env.Report(err)
	}
	opts, err := f.options()
	if err != nil {
		return env.Report(err)
	}
	file, err := os.Open(f.pkg)
	if err != nil {
		return report(env, f, verify.InconclusiveResult(err))
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil {
		return report(env, f, verify.InconclusiveResult(err))
	}
	return report(env, f, verify.VerifyPackage(file, st.Size(), opts))
}

func parseFlags(env *cli.Env, args []string) (*flags, error) {
	f := &flags{}
	fs := flag.NewFlagSet("dossier-verify", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.BoolVar(&f.json, "json", false, "print the result document (application/vnd.dossier.verify-result.v1+json) on stdout")
	fs.StringVar(&f.policy, "policy", "", "verification policy `FILE` replacing the package's proposal")
	fs.StringVar(&f.trustedHead, "trusted-head", "", "signed checkpoint `FILE` kept from an earlier verification; the package must extend it")
	fs.StringVar(&f.at, "at", "", "verification time (`RFC3339`); a package created later is rejected")
	fs.StringVar(&f.fingerprint, "root-fingerprint", "", "pinned keyring root, `SHA256:<hex>`, obtained out of band (required)")
	fs.Usage = func() {
		fmt.Fprint(env.Stderr, usage)
		fs.PrintDefaults()
		fmt.Fprint(env.Stderr, exitCodes)
	}
	var pos []string
	for {
		if err := cli.Parse(fs, args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			break
		}
		pos, args = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
	if len(pos) != 1 {
		return nil, cli.Usage("want exactly one PACKAGE.tar, got %d arguments (see --help)", len(pos))
	}
	if f.fingerprint == "" {
		return nil, cli.Usage("--root-fingerprint is required: the keyring root obtained out of band, not from the package")
	}
	f.pkg = pos[0]
	return f, nil
}

// options reads the trust inputs; any problem is a usage error.
func (f *flags) options() (verify.PackageOptions, error) {
	opts := verify.PackageOptions{RootFingerprint: f.fingerprint}
	if f.policy != "" {
		b, err := readSmall(f.policy)
		if err == nil {
			opts.Policy, err = verify.ParsePolicy(b)
		}
		if err != nil {
			return opts, cli.Usage("--policy %s: %v", f.policy, err)
		}
	}
	if f.trustedHead != "" {
		b, err := readSmall(f.trustedHead)
		if err != nil {
			return opts, cli.Usage("--trusted-head %s: %v", f.trustedHead, err)
		}
		opts.TrustedHead = b
	}
	if f.at != "" {
		t, err := time.Parse(time.RFC3339, f.at)
		if err != nil {
			return opts, cli.Usage("--at %q: want RFC 3339, e.g. 2026-11-27T12:00:00Z", f.at)
		}
		opts.At = t
	}
	if err := verify.CheckOptions(opts); err != nil {
		return opts, cli.Usage("%v", err)
	}
	return opts, nil
}

func readSmall(name string) ([]byte, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	if fi.Size() > maxTrustFile {
		return nil, fmt.Errorf("%d bytes, limit %d", fi.Size(), maxTrustFile)
	}
	return os.ReadFile(name)
}

// report renders res and maps its outcome to the exit code.
func report(env *cli.Env, f *flags, res *verify.Result) int {
	if f.json {
		enc := json.NewEncoder(env.Stdout)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return env.Report(cli.Inconclusive(err, ""))
		}
	} else {
		renderHuman(env.Stdout, res)
	}
	switch res.Outcome {
	case verify.Verified:
		return cli.ExitOK
	case verify.Rejected:
		return cli.ExitFailed
	}
	return cli.ExitInconclusive
}
