package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/dossier-audit/dossier/cmd/internal/cli"
	"github.com/dossier-audit/dossier/internal/atomicfile"
	"github.com/dossier-audit/dossier/pkg/keys"
	_ "github.com/dossier-audit/dossier/pkg/keys/kmsproviders" // hashivault://, openbao://
	"github.com/sigstore/sigstore/pkg/signature"
)

func init() {
	commands.Register(&cli.Command{Name: "key generate", Summary: "create a signing key pair (PREFIX.key, PREFIX.pub)", Run: runKeyGenerate})
	commands.Register(&cli.Command{Name: "key fingerprint", Summary: "print the fingerprint (key id) of a public key", Run: runKeyFingerprint})
}

const passwordHint = "set $" + keys.PasswordEnv + ", pass --password-file FILE, or run on a terminal to be prompted"

// keyInfo is the --json output of 'key generate' and 'key fingerprint'.
type keyInfo struct {
	Fingerprint string `json:"fingerprint"`
	Algorithm   string `json:"algorithm"`
	Public      string `json:"public,omitempty"`
	Private     string `json:"private,omitempty"`
	Encrypted   *bool  `json:"encrypted,omitempty"`
}

func runKeyGenerate(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "key generate", "[--algorithm ecdsa-p256|ed25519] [--output PREFIX] [--unencrypted] [--password-file F] [--json]")
	algFlag := fs.String("algorithm", string(keys.DefaultAlgorithm), "ecdsa-p256 (cosign's default) or ed25519")
	prefix := fs.String("output", "dossier", "write PREFIX.key and PREFIX.pub; never overwrites")
	unencrypted := fs.Bool("unencrypted", false, "write the private key without a password (not recommended)")
	passFile := fs.String("password-file", "", "file whose first line is the new key's password (else $"+keys.PasswordEnv+" or a prompt)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return cli.Usage("key generate takes no arguments")
	}
	if *unencrypted && *passFile != "" {
		return cli.Usage("--unencrypted and --password-file contradict each other")
	}
	alg, err := keys.ParseAlgorithm(*algFlag)
	if err != nil {
		return cli.Usage("%v", err)
	}
	privPath, pubPath := *prefix+".key", *prefix+".pub"
	if err := refuseExisting(privPath, pubPath); err != nil {
		return err
	}
	var pass keys.PassFunc
	if !*unencrypted {
		if pass, err = newKeyPassword(env, *passFile); err != nil {
			return err
		}
	}
	info, err := generateKeyFiles(alg, privPath, pubPath, pass)
	if err != nil {
		return err
	}
	env.Infof("wrote %s and %s", privPath, pubPath)
	return printKeyInfo(env, info, *asJSON)
}

func refuseExisting(paths ...string) error {
	for _, p := range paths {
		if _, err := os.Lstat(p); err == nil {
			return &cli.Error{Code: cli.ExitUsage, Err: fmt.Errorf("%s already exists", p),
				Hint: "keys are never overwritten: choose another --output prefix or move the old files away"}
		}
	}
	return nil
}

// newKeyPassword returns a PassFunc for a new key, failing early with a
// usage error when no password source exists.
func newKeyPassword(env *cli.Env, passFile string) (keys.PassFunc, error) {
	src := keys.PasswordSource{Getenv: env.Getenv, File: passFile, Prompt: env.ReadPassword}
	if passFile == "" && env.ReadPassword == nil && (env.Getenv == nil || env.Getenv(keys.PasswordEnv) == "") {
		return nil, &cli.Error{Code: cli.ExitUsage, Err: errors.New("no password for the new private key"),
			Hint: passwordHint + "\nor pass --unencrypted to write the key in clear (not recommended)"}
	}
	return src.PassFunc(), nil
}

func generateKeyFiles(alg keys.Algorithm, privPath, pubPath string, pass keys.PassFunc) (*keyInfo, error) {
	key, err := keys.Generate(alg)
	if err != nil {
		return nil, cli.Inconclusive(err, "")
	}
	privPEM, err := marshalNewKey(key, pass)
	if err != nil {
		return nil, err
	}
	pubPEM, err := keys.MarshalPublicKey(key.Public())
	if err != nil {
		return nil, cli.Inconclusive(err, "")
	}
	if err := atomicfile.WriteNew(privPath, privPEM, 0o600); err != nil {
		return nil, cli.Inconclusive(err, "")
	}
	if err := atomicfile.WriteNew(pubPath, pubPEM, 0o644); err != nil {
		return nil, cli.Inconclusive(err, "the private key was written; remove "+privPath+" and try again")
	}
	encrypted := pass != nil
	return &keyInfo{Fingerprint: keys.Fingerprint(key.Public()), Algorithm: string(alg),
		Public: pubPath, Private: privPath, Encrypted: &encrypted}, nil
}

func marshalNewKey(key any, pass keys.PassFunc) ([]byte, error) {
	if pass == nil {
		b, err := keys.MarshalPrivateKeyUnencrypted(key)
		if err != nil {
			return nil, cli.Inconclusive(err, "")
		}
		return b, nil
	}
	pw, err := pass(true)
	if err == nil && len(pw) == 0 {
		err = fmt.Errorf("%w: the password is empty", keys.ErrNoPassword)
	}
	if err != nil {
		return nil, keyError(err, "")
	}
	b, err := keys.MarshalPrivateKey(key, pw)
	if err != nil {
		return nil, cli.Inconclusive(err, "")
	}
	return b, nil
}

func runKeyFingerprint(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "key fingerprint", "[--json] PUBFILE|KMS-URI")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return cli.Usage("key fingerprint takes one public key file or KMS URI")
	}
	ctx := context.Background()
	v, err := keys.LoadVerifier(ctx, fs.Arg(0))
	if err != nil {
		return keyError(err, fs.Arg(0))
	}
	pub, err := keys.PublicKey(ctx, v)
	if err != nil {
		return cli.Inconclusive(err, "")
	}
	alg, err := keys.AlgorithmOf(pub)
	if err != nil {
		return keyError(err, fs.Arg(0))
	}
	return printKeyInfo(env, &keyInfo{Fingerprint: keys.Fingerprint(pub), Algorithm: string(alg), Public: fs.Arg(0)}, *asJSON)
}

func printKeyInfo(env *cli.Env, info *keyInfo, asJSON bool) error {
	if !asJSON {
		_, err := fmt.Fprintln(env.Stdout, info.Fingerprint)
		return err
	}
	enc := json.NewEncoder(env.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(info)
}

// loadSignerFlag loads the signer named by a --key flag: a private key file
// (password from $DOSSIER_KEY_PASSWORD, passwordFile, or a prompt) or a KMS
// URI. An unencrypted key file is used with a warning. Errors carry exit
// codes and hints for the CLI.
func loadSignerFlag(env *cli.Env, ref, passwordFile string) (signature.Signer, error) {
	if ref == "" {
		return nil, cli.Usage("--key is required (a private key file or a KMS URI)")
	}
	ctx := context.Background()
	pass := keys.PasswordSource{Getenv: env.Getenv, File: passwordFile, Prompt: env.ReadPassword}.PassFunc()
	s, err := keys.LoadSigner(ctx, ref, pass)
	if errors.Is(err, keys.ErrUnencrypted) {
		env.Warnf("%s is not encrypted; anyone who can read it can sign as you", ref)
		s, err = keys.LoadSigner(ctx, ref, nil, keys.AllowUnencrypted())
	}
	if err != nil {
		return nil, keyError(err, ref)
	}
	return s, nil
}

// keyError maps pkg/keys errors to exit codes and hints.
func keyError(err error, ref string) error {
	usage := func(hint string) error { return &cli.Error{Code: cli.ExitUsage, Err: err, Hint: hint} }
	switch {
	case errors.Is(err, os.ErrNotExist):
		return cli.Inconclusive(err, "check the path; create a key pair with 'dossier key generate'")
	case errors.Is(err, keys.ErrWrongPassword):
		return usage("the password does not decrypt " + ref + "; check $" + keys.PasswordEnv + " or --password-file")
	case errors.Is(err, keys.ErrNoPassword):
		return usage(passwordHint)
	case errors.Is(err, keys.ErrPasswordMismatch):
		return usage("type the same password twice")
	case errors.Is(err, keys.ErrUnknownKMS):
		return usage("built-in KMS schemes: hashivault://, openbao://; for others install a sigstore-kms-NAME plugin on PATH")
	case errors.Is(err, keys.ErrMalformedKey), errors.Is(err, keys.ErrUnsupportedAlgorithm):
		return usage("want a PEM key written by 'dossier key generate' or 'cosign generate-key-pair' (ECDSA P-256 or Ed25519)")
	}
	return cli.Inconclusive(err, "")
}
