package main

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dossier-audit/dossier/cmd/internal/cli"
	"github.com/dossier-audit/dossier/internal/atomicfile"
	"github.com/dossier-audit/dossier/pkg/dsse"
	"github.com/dossier-audit/dossier/pkg/keyring"
	"github.com/dossier-audit/dossier/pkg/keys"
	"github.com/dossier-audit/dossier/pkg/tlog"
)

func init() {
	for _, c := range []*cli.Command{
		{Name: "keyring create", Summary: "write a keyring version signed by root keys (append it with 'dossier log append --stream keyring')", Run: runKeyringCreate},
		{Name: "keyring show", Summary: "print a keyring version: keys, roles, owners, signatures", Run: runKeyringShow},
		{Name: "keyring fingerprint", Summary: "print the root fingerprint (SHA256:<hex>) an auditor pins", Run: runKeyringFingerprint},
		{Name: "keyring verify", Summary: "verify a keyring chain from a pinned root fingerprint", Run: runKeyringVerify},
	} {
		commands.Register(c)
	}
}

func runKeyringCreate(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "keyring create", "--root-key K [--root-key K2] [--threshold N] --add ROLE[,ROLE]:PUBFILE:NAME:PERSONID:TEAM ... [--previous FILE] [--issued-at T] [--tsa NAME=CHAIN.pem]... [--witness NAME=VKEY]... [--witness-policy FILE] -o FILE")
	var rootKeys, adds multiFlag
	fs.Var(&rootKeys, "root-key", "private key file or KMS URI of a root key that signs this version (repeat)")
	fs.Var(&adds, "add", "a key entry ROLES:PUBFILE:NAME:PERSONID:TEAM; roles comma-separated; PUBFILE a PEM public key, or the log's .vkey for role log (repeat)")
	threshold := fs.Int("threshold", 1, "root keys of this version needed to sign the next version")
	previous := fs.String("previous", "", "the previous version's envelope (makes this version N+1)")
	issuedAt := fs.String("issued-at", "", "issue time, RFC 3339 UTC (default now); also every new key's validFrom")
	passFile := fs.String("password-file", "", "file whose first line is the root keys' password")
	out := fs.String("o", "", "output file (never overwritten)")
	var anchors keyringAnchorFlags // anchor trust root (issue 7): --tsa, --witness...
	anchors.register(fs)
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if len(rootKeys) == 0 || len(adds) == 0 || *out == "" || fs.NArg() != 0 {
		return cli.Usage("keyring create needs --root-key, --add and -o, and no arguments")
	}
	at, err := timeFlag(env, *issuedAt, "--issued-at")
	if err != nil {
		return err
	}
	doc, prev, err := newKeyringDoc(adds, *threshold, at, *previous)
	if err != nil {
		return err
	}
	if err := anchors.apply(doc); err != nil {
		return err
	}
	env.Infof("keyring version %d: %d keys, root threshold %d", doc.Version, len(doc.Keys), doc.RootThreshold)
	return signKeyringDoc(env, doc, prev, rootKeys, *passFile, *out)
}

// timeFlag parses an RFC 3339 flag, or returns the current time (UTC,
// whole seconds) when it is empty.
func timeFlag(env *cli.Env, v, name string) (time.Time, error) {
	if v == "" {
		return env.Now().UTC().Truncate(time.Second), nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, cli.Usage("%s %q: want RFC 3339 like 2026-11-27T09:00:00Z", name, v)
	}
	return t.UTC(), nil
}

// newKeyringDoc builds the document; with previous it is the next version
// and prev holds the previous envelope.
func newKeyringDoc(adds []string, threshold int, at time.Time, previous string) (doc *keyring.Document, prev []byte, err error) {
	stamp := at.Format(time.RFC3339Nano)
	doc = &keyring.Document{MediaType: keyring.MediaType, Version: 1, IssuedAt: stamp, RootThreshold: threshold}
	if previous != "" {
		if prev, err = os.ReadFile(previous); err != nil {
			return nil, nil, cli.Inconclusive(err, "")
		}
		v, err := keyring.Parse(prev)
		if err != nil {
			return nil, nil, cli.Failed(fmt.Errorf("%s: %w", previous, err), "")
		}
		doc.Version, doc.Previous = v.Document.Version+1, &v.Digest
	}
	for _, a := range adds {
		k, err := parseAdd(a, stamp)
		if err != nil {
			return nil, nil, err
		}
		doc.Keys = append(doc.Keys, k)
	}
	if err := doc.Validate(); err != nil {
		return nil, nil, cli.Usage("%v", err)
	}
	return doc, prev, nil
}

// parseAdd reads ROLES:PUBFILE:NAME:PERSONID:TEAM (PERSONID may contain
// colons).
func parseAdd(a, validFrom string) (keyring.Key, error) {
	parts := strings.Split(a, ":")
	if len(parts) < 5 {
		return keyring.Key{}, cli.Usage("--add %q: want ROLES:PUBFILE:NAME:PERSONID:TEAM", a)
	}
	roles := strings.Split(parts[0], ",")
	owner := keyring.Owner{Name: parts[2], PersonID: strings.Join(parts[3:len(parts)-1], ":"), Team: parts[len(parts)-1]}
	b, err := os.ReadFile(parts[1])
	if err != nil {
		return keyring.Key{}, cli.Inconclusive(err, "")
	}
	pub, vkey, err := readPublic(b)
	if err != nil {
		return keyring.Key{}, cli.Usage("%s: %v", parts[1], err)
	}
	k, err := keyring.NewKey(pub, roles, owner, validFrom, vkey)
	if err != nil {
		return keyring.Key{}, cli.Usage("--add %q: %v", a, err)
	}
	return k, nil
}

// readPublic reads a PEM public key or a signed-note verifier key (whose
// public key is Ed25519).
func readPublic(b []byte) (crypto.PublicKey, string, error) {
	text := strings.TrimSpace(string(b))
	if !strings.HasPrefix(text, "-----BEGIN") {
		if _, err := tlog.NewVerifier(text); err != nil {
			return nil, "", fmt.Errorf("neither a PEM public key nor a log verifier key: %w", err)
		}
		raw, err := base64.StdEncoding.DecodeString(strings.SplitN(text, "+", 3)[2])
		if err != nil || len(raw) != 1+ed25519.PublicKeySize {
			return nil, "", errors.New("log verifier key does not hold an Ed25519 key")
		}
		return ed25519.PublicKey(raw[1:]), text, nil
	}
	pub, err := keys.ParsePublicKey(b)
	return pub, "", err
}

func signKeyringDoc(env *cli.Env, doc *keyring.Document, prev []byte, rootKeys []string, passFile, out string) error {
	payload, err := doc.Marshal()
	if err != nil {
		return cli.Inconclusive(err, "")
	}
	var signers []dsse.Signer
	for _, ref := range rootKeys {
		s, err := loadSignerFlag(env, ref, passFile)
		if err != nil {
			return err
		}
		ds, err := keyring.NewSigner(context.Background(), s)
		if err != nil {
			return cli.Inconclusive(err, "")
		}
		if k, ok := doc.Key(ds.KeyID()); doc.Version == 1 && (!ok || !k.HasRole(keyring.RoleRoot)) {
			return cli.Usage("--root-key %s (%s) is not a root key of this version; add it with --add root:PUBFILE:...", ref, ds.KeyID())
		}
		signers = append(signers, ds)
	}
	env0, err := keyring.Sign(payload, signers...)
	if err != nil {
		return cli.Inconclusive(err, "")
	}
	if prev != nil {
		if _, err := keyring.VerifyNext(prev, env0); err != nil {
			return cli.Failed(err, "version N+1 must be signed by rootThreshold root keys of version N: pass them with --root-key")
		}
	}
	if err := atomicfile.WriteNew(out, env0, 0o644); err != nil {
		return cli.Inconclusive(err, "choose another -o file; keyring versions are never overwritten")
	}
	if doc.Version == 1 {
		fmt.Fprintf(env.Stdout, "%s\n", keyring.RootFingerprint(payload))
		env.Infof("wrote %s; give the fingerprint above to auditors out of band, then run 'dossier log append --stream keyring' on it", out)
		return nil
	}
	fmt.Fprintf(env.Stdout, "%s\n", keyring.Digest(env0))
	return nil
}

func readKeyringVersion(path string) (*keyring.Version, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, cli.Inconclusive(err, "")
	}
	v, err := keyring.Parse(b)
	if err != nil {
		return nil, cli.Failed(fmt.Errorf("%s: %w", path, err), "")
	}
	return v, nil
}

func runKeyringFingerprint(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "keyring fingerprint", "KEYRING-V1")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return cli.Usage("keyring fingerprint takes one keyring file")
	}
	v, err := readKeyringVersion(fs.Arg(0))
	if err != nil {
		return err
	}
	if v.Document.Version != 1 {
		return cli.Usage("%s is keyring version %d: the root fingerprint is that of version 1", fs.Arg(0), v.Document.Version)
	}
	fmt.Fprintf(env.Stdout, "%s\n", keyring.RootFingerprint(v.Payload))
	return nil
}

// keyringView is the --json output of 'keyring show'.
type keyringView struct {
	Digest          string            `json:"digest"`
	RootFingerprint string            `json:"rootFingerprint,omitempty"`
	Signatures      []string          `json:"signatures"`
	Document        *keyring.Document `json:"document"`
}

func runKeyringShow(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "keyring show", "[--json] FILE")
	asJSON := fs.Bool("json", false, "print as JSON")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return cli.Usage("keyring show takes one keyring file")
	}
	v, err := readKeyringVersion(fs.Arg(0))
	if err != nil {
		return err
	}
	view := keyringView{Digest: v.Digest, Signatures: v.Signatures(), Document: v.Document}
	if v.Document.Version == 1 {
		view.RootFingerprint = keyring.RootFingerprint(v.Payload)
	}
	if *asJSON {
		b, _ := json.MarshalIndent(view, "", "  ")
		_, err := fmt.Fprintf(env.Stdout, "%s\n", b)
		return err
	}
	return printKeyring(env, view)
}

func printKeyring(env *cli.Env, v keyringView) error {
	d := v.Document
	fmt.Fprintf(env.Stdout, "keyring version %d, issued %s, root threshold %d\nenvelope %s\n", d.Version, d.IssuedAt, d.RootThreshold, v.Digest)
	if v.RootFingerprint != "" {
		fmt.Fprintf(env.Stdout, "root fingerprint %s\n", v.RootFingerprint)
	} else {
		fmt.Fprintf(env.Stdout, "previous %s\n", *d.Previous)
	}
	fmt.Fprintf(env.Stdout, "signed by %s\n\n", strings.Join(v.Signatures, ", "))
	tw := tabwriter.NewWriter(env.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tALGORITHM\tROLES\tOWNER\tTEAM\tVALID FROM\tREVOKED")
	for _, k := range d.Keys {
		rev := "-"
		if k.Revocation != nil {
			rev = k.Revocation.Reason + " " + k.Revocation.At
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s (%s)\t%s\t%s\t%s\n", k.ID, k.Algorithm, strings.Join(k.Roles, ","), k.Owner.Name, k.Owner.PersonID, k.Owner.Team, k.ValidFrom, rev)
	}
	return tw.Flush()
}

func runKeyringVerify(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "keyring verify", "--root-fingerprint SHA256:<hex> FILE...")
	pin := fs.String("root-fingerprint", "", "the pinned root fingerprint (from 'keyring fingerprint', obtained out of band)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *pin == "" || fs.NArg() == 0 {
		return cli.Usage("keyring verify needs --root-fingerprint and the keyring files")
	}
	c, err := verifyKeyringFiles(*pin, fs.Args())
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "verified keyring chain: %d versions, newest %s\n", len(c.Versions), c.Versions[len(c.Versions)-1].Digest)
	return nil
}

// verifyKeyringFiles reads keyring version envelopes in any order and
// verifies their chain from the pinned root fingerprint, mapping failures to
// exit codes (I/O: inconclusive; a broken chain or pin: failed, with a hint).
func verifyKeyringFiles(pin string, paths []string) (*keyring.Chain, error) {
	envs, err := readFiles(paths)
	if err != nil {
		return nil, cli.Inconclusive(err, "")
	}
	sorted, err := keyring.SortEnvelopes(envs)
	if err != nil {
		return nil, cli.Failed(err, "")
	}
	c, err := keyring.VerifyChain(pin, sorted...)
	if err != nil {
		hint := ""
		if errors.Is(err, keyring.ErrFingerprint) {
			hint = "the pinned fingerprint is not this keyring's version 1; obtain the fingerprint again out of band"
		}
		return nil, cli.Failed(err, hint)
	}
	return c, nil
}
