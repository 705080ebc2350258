package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dossier-audit/dossier/cmd/internal/cli"
	"github.com/dossier-audit/dossier/pkg/anchor/anchorer"
	"github.com/dossier-audit/dossier/pkg/keyring"
	"github.com/dossier-audit/dossier/pkg/tlog"
	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
	"github.com/dossier-audit/dossier/pkg/tsa"
	"github.com/dossier-audit/dossier/pkg/tsa/tsaverify"
	"github.com/dossier-audit/dossier/pkg/witness"
)

func init() {
	for _, c := range []*cli.Command{
		{Name: "anchor run", Summary: "anchor the log's checkpoint: RFC 3161 tokens and witness cosignatures, kept in a store", Run: runAnchorRun},
		{Name: "anchor build", Summary: "write the anchors.json of a package from the anchor store", Run: runAnchorBuild},
	} {
		commands.Register(c)
	}
}

type anchorFlags struct {
	logDir, vkey, store, keyring string
	tsas, chains, wits           multiFlag
	timeout                      time.Duration
}

func anchorSetup(env *cli.Env, name, synopsis string, args []string, extra func(*anchorFlags, *flag.FlagSet)) (*anchorer.Anchorer, *anchorFlags, *flag.FlagSet, error) {
	fs := cli.FlagSet(env, name, synopsis)
	f := &anchorFlags{}
	fs.StringVar(&f.logDir, "log", "", "log directory (checkpoint and tiles)")
	fs.StringVar(&f.vkey, "log-vkey", "", "log verifier key file (or --keyring)")
	fs.StringVar(&f.keyring, "keyring", "", "newest keyring version: its log key, and the chains of its timestampAuthorities")
	fs.StringVar(&f.store, "store", "", "anchor store directory")
	fs.Var(&f.tsas, "tsa", "NAME=URL of a time-stamping authority (repeatable)")
	fs.Var(&f.chains, "tsa-chain", "NAME=PEM chain file of that TSA (default: the --keyring entry NAME)")
	fs.Var(&f.wits, "witness", "NAME=URL submission prefix of a witness (repeatable)")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Second, "timeout of each request")
	if extra != nil {
		extra(f, fs)
	}
	if err := cli.Parse(fs, args); err != nil {
		return nil, nil, nil, err
	}
	if f.logDir == "" || (f.vkey == "") == (f.keyring == "") || f.store == "" {
		return nil, nil, nil, cli.Usage("%s needs --log, --store and one of --log-vkey or --keyring", name)
	}
	if f.keyring != "" {
		b, err := os.ReadFile(f.keyring)
		if err != nil {
			return nil, nil, nil, cli.Inconclusive(err, "")
		}
		a, err := keyringAnchorer(env, f, b)
		return a, f, fs, err
	}
	v, err := readVerifier(f.vkey)
	if err != nil {
		return nil, nil, nil, err
	}
	a, err := newAnchorer(f, v, nil)
	return a, f, fs, err
}

// newAnchorer configures an anchorer from the anchor flags. chainOf, when
// set, supplies the chain of a TSA without --tsa-chain (export reads them
// from the keyring's trust root).
func newAnchorer(f *anchorFlags, v noteVerifier, chainOf func(name string) (tsaverify.Options, bool)) (*anchorer.Anchorer, error) {
	hc := &http.Client{Timeout: f.timeout}
	a := &anchorer.Anchorer{Log: v, Store: anchorer.Store{Dir: f.store}, Prove: witness.TileProver(f.logDir)}
	chains, err := anchorPairs(f.chains, "--tsa-chain")
	if err != nil {
		return nil, err
	}
	tsas, err := anchorPairs(f.tsas, "--tsa")
	if err != nil {
		return nil, err
	}
	for _, name := range anchorSortedKeys(tsas) {
		opts, err := tsaOptions(name, chains[name], chainOf)
		if err != nil {
			return nil, err
		}
		a.TSAs = append(a.TSAs, anchorer.TSA{Name: name, Client: &tsa.Client{URL: tsas[name], HTTP: hc, Verify: opts}})
	}
	wits, err := anchorPairs(f.wits, "--witness")
	if err != nil {
		return nil, err
	}
	for _, name := range anchorSortedKeys(wits) {
		a.Witnesses = append(a.Witnesses, anchorer.Witness{Name: name, Client: &witness.Client{URL: wits[name], HTTP: hc}})
	}
	if err := a.Check(); err != nil {
		return nil, cli.Usage("%v", err)
	}
	return a, nil
}

func tsaOptions(name, chainFile string, chainOf func(string) (tsaverify.Options, bool)) (tsaverify.Options, error) {
	if chainFile != "" {
		return readTSAChain(chainFile)
	}
	if chainOf != nil {
		if opts, ok := chainOf(name); ok {
			return opts, nil
		}
	}
	return tsaverify.Options{}, cli.Usage("--tsa %s needs --tsa-chain %s=PEM", name, name)
}

func runAnchorRun(env *cli.Env, args []string) error {
	a, f, _, err := anchorSetup(env, "anchor run", "--log DIR (--log-vkey F | --keyring F) --store DIR [--tsa N=URL [--tsa-chain N=PEM]]... [--witness N=URL]...", args, nil)
	if err != nil {
		return err
	}
	cp, err := tlog.ReadCheckpoint(f.logDir)
	if err != nil {
		return cli.Inconclusive(err, "")
	}
	r, err := a.Anchor(context.Background(), cp)
	if errors.Is(err, anchorer.ErrFork) {
		return cli.Failed(err, "the log signed two trees of one size: keep both checkpoints as evidence")
	}
	if err != nil {
		return cli.Inconclusive(err, "")
	}
	backlog, err := a.Backlog()
	if err != nil {
		return cli.Inconclusive(err, "")
	}
	renderAnchorReport(env, r, backlog)
	if len(r.Failed) > 0 {
		return cli.Inconclusive(fmt.Errorf("%d anchor(s) not obtained for size %d", len(r.Failed), r.Size), "run again later: anchors are retried, the log is not blocked")
	}
	return nil
}

func renderAnchorReport(env *cli.Env, r *anchorer.Report, backlog []uint64) {
	failed := map[string]string{}
	for k, e := range r.Failed {
		failed[k] = e.Error()
	}
	b, _ := json.MarshalIndent(map[string]any{"size": r.Size, "stamped": anchorNonNil(r.Stamped), "cosigned": anchorNonNil(r.Cosigned),
		"failed": failed, "backlog": anchorNonNil(backlog)}, "", "  ")
	fmt.Fprintf(env.Stdout, "%s\n", b)
}

func runAnchorBuild(env *cli.Env, args []string) error {
	var out, checkpoint string
	var indices multiFlag
	a, _, _, err := anchorSetup(env, "anchor build", "--log DIR (--log-vkey F | --keyring F) --store DIR --checkpoint F --index N... -o anchors.json", args,
		func(_ *anchorFlags, fs *flag.FlagSet) {
			fs.StringVar(&checkpoint, "checkpoint", "", "the package checkpoint (log-signed note)")
			fs.Var(&indices, "index", "leaf index the package proves (repeatable)")
			fs.StringVar(&out, "o", "", "write anchors.json to FILE (default stdout)")
		})
	if err != nil {
		return err
	}
	if checkpoint == "" {
		return cli.Usage("anchor build needs --checkpoint")
	}
	raw, err := os.ReadFile(checkpoint)
	if err != nil {
		return cli.Inconclusive(err, "")
	}
	pkg, err := tlogproof.VerifyCheckpoint(raw, a.Log)
	if err != nil {
		return cli.Failed(err, "pass the package checkpoint signed by this log")
	}
	var idx []uint64
	for _, s := range indices {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return cli.Usage("--index %q is not a leaf index", s)
		}
		idx = append(idx, n)
	}
	file, err := a.Build(context.Background(), pkg, idx)
	if err != nil {
		return cli.Inconclusive(err, "")
	}
	b, err := file.Marshal()
	if err != nil {
		return cli.Inconclusive(err, "")
	}
	return writeOut(env, out, b)
}

func anchorPairs(vals []string, flag string) (map[string]string, error) {
	m := map[string]string{}
	for _, v := range vals {
		k, val, ok := strings.Cut(v, "=")
		if !ok || k == "" || val == "" || m[k] != "" {
			return nil, cli.Usage("%s %q: want a unique NAME=VALUE", flag, v)
		}
		m[k] = val
	}
	return m, nil
}

func anchorSortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func anchorNonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// exportAnchorFlags adds the anchor flags of 'dossier export' to fs.
func exportAnchorFlags(fs *flag.FlagSet, f *anchorFlags) {
	fs.StringVar(&f.store, "anchor-store", "", "anchor store directory ('dossier anchor run --store'); the package carries anchors.json from it")
	fs.Var(&f.tsas, "tsa", "NAME=URL of a TSA that stamps the package checkpoint (repeatable; needs --anchor-store)")
	fs.Var(&f.chains, "tsa-chain", "NAME=PEM chain of that TSA (default: the keyring's timestampAuthorities entry NAME)")
	fs.Var(&f.wits, "witness", "NAME=URL of a witness that cosigns the package checkpoint (repeatable; needs --anchor-store)")
	fs.DurationVar(&f.timeout, "anchor-timeout", 10*time.Second, "timeout of each TSA or witness request")
}

// exportAnchorSource configures the anchor source of an export from its
// flags and the newest keyring version (its log key opens checkpoints, its
// timestampAuthorities supply TSA chains). Nil without --anchor-store.
func exportAnchorSource(env *cli.Env, f *anchorFlags, newest []byte) (*anchorer.Export, error) {
	if f.store == "" && len(f.tsas)+len(f.wits)+len(f.chains) > 0 {
		return nil, cli.Usage("--tsa and --witness need --anchor-store (where tokens and cosignatures are kept)")
	}
	if f.store == "" {
		if v, err := keyring.Parse(newest); err == nil && (len(v.Document.TimestampAuthorities) > 0 || v.Document.WitnessPolicy != "") {
			env.Warnf("anchors: the keyring names TSAs or witnesses but there is no --anchor-store: the package carries no anchors.json and the time of every record is asserted by the operator")
		}
		return nil, nil
	}
	a, err := keyringAnchorer(env, f, newest)
	if err != nil {
		return nil, err
	}
	return &anchorer.Export{Anchorer: a}, nil
}

// keyringAnchorer configures an anchorer whose log key and TSA chains come
// from the keyring version newest (its trust root: the names must match).
func keyringAnchorer(env *cli.Env, f *anchorFlags, newest []byte) (*anchorer.Anchorer, error) {
	v, err := keyring.Parse(newest)
	if err != nil {
		return nil, cli.Failed(fmt.Errorf("keyring: %w", err), "")
	}
	logs := v.Document.KeysWithRole(keyring.RoleLog)
	if len(logs) != 1 {
		return nil, cli.Failed(fmt.Errorf("keyring lists %d log keys, want 1", len(logs)), "")
	}
	lv, err := tlog.NewVerifier(logs[0].NoteVerifierKey)
	if err != nil {
		return nil, cli.Failed(fmt.Errorf("keyring log key: %w", err), "")
	}
	known := map[string]*keyring.TimestampAuthority{}
	for i := range v.Document.TimestampAuthorities {
		known[v.Document.TimestampAuthorities[i].Name] = &v.Document.TimestampAuthorities[i]
	}
	a, err := newAnchorer(f, lv, func(name string) (tsaverify.Options, bool) { return keyringTSAOptions(known[name]) })
	if err != nil {
		return nil, err
	}
	for _, t := range a.TSAs {
		if known[t.Name] == nil {
			env.Warnf("TSA %s is not in the keyring's timestampAuthorities: a verifier ignores its tokens", t.Name)
		}
	}
	return a, nil
}

func keyringTSAOptions(a *keyring.TimestampAuthority) (tsaverify.Options, bool) {
	if a == nil {
		return tsaverify.Options{}, false
	}
	roots, inter, err := a.Chain()
	if err != nil {
		return tsaverify.Options{}, false
	}
	from, until, err := a.Validity()
	if err != nil {
		return tsaverify.Options{}, false
	}
	oid, err := a.PolicyOID()
	return tsaverify.Options{Roots: roots, Intermediates: inter, ValidFrom: from, ValidUntil: until, Policy: oid}, err == nil
}

// reportExportAnchors says on stderr what the export's anchors cover: the
// anchors the package checkpoint did not get, and the records whose time
// is only asserted by the operator.
func reportExportAnchors(env *cli.Env, src *anchorer.Export) {
	if src.Fresh != nil {
		for _, k := range anchorSortedKeys(anchorFailures(src.Fresh)) {
			env.Warnf("anchor %s of the package checkpoint (size %d) not obtained: %v", k, src.Size, src.Fresh.Failed[k])
		}
	}
	switch {
	case src.Proved == 0:
	case src.Asserted == 0:
		env.Infof("anchors: all %d proved leaves are anchored (package checkpoint size %d)", src.Proved, src.Size)
	case src.AnchoredSize == 0:
		env.Warnf("anchors: nothing in the store anchors this package: the time of all %d proved leaves is asserted by the operator (anchor with 'dossier anchor run', or pass --tsa/--witness to anchor the package checkpoint)", src.Proved)
	default:
		env.Warnf("anchors: %d of %d proved leaves were logged after the last anchored checkpoint (size %d of %d): their time is asserted by the operator (pass --tsa/--witness to anchor the package checkpoint at export)",
			src.Asserted, src.Proved, src.AnchoredSize, src.Size)
	}
}

func anchorFailures(r *anchorer.Report) map[string]string {
	out := map[string]string{}
	for k, err := range r.Failed {
		out[k] = err.Error()
	}
	return out
}
