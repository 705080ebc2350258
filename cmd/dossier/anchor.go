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
	"github.com/dossier-audit/dossier/pkg/tlog"
	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
	"github.com/dossier-audit/dossier/pkg/tsa"
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
	logDir, vkey, store string
	tsas, chains, wits  multiFlag
	timeout             time.Duration
}

func anchorSetup(env *cli.Env, name, synopsis string, args []string, extra func(*anchorFlags, *flag.FlagSet)) (*anchorer.Anchorer, *anchorFlags, *flag.FlagSet, error) {
	fs := cli.FlagSet(env, name, synopsis)
	f := &anchorFlags{}
	fs.StringVar(&f.logDir, "log", "", "log directory (checkpoint and tiles)")
	fs.StringVar(&f.vkey, "log-vkey", "", "log verifier key file")
	fs.StringVar(&f.store, "store", "", "anchor store directory")
	fs.Var(&f.tsas, "tsa", "NAME=URL of a time-stamping authority (repeatable)")
	fs.Var(&f.chains, "tsa-chain", "NAME=PEM chain file of that TSA (required per --tsa)")
	fs.Var(&f.wits, "witness", "NAME=URL submission prefix of a witness (repeatable)")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Second, "timeout of each request")
	if extra != nil {
		extra(f, fs)
	}
	if err := cli.Parse(fs, args); err != nil {
		return nil, nil, nil, err
	}
	if f.logDir == "" || f.vkey == "" || f.store == "" {
		return nil, nil, nil, cli.Usage("%s needs --log, --log-vkey and --store", name)
	}
	a, err := newAnchorer(f)
	return a, f, fs, err
}

func newAnchorer(f *anchorFlags) (*anchorer.Anchorer, error) {
	v, err := readVerifier(f.vkey)
	if err != nil {
		return nil, err
	}
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
		if chains[name] == "" {
			return nil, cli.Usage("--tsa %s needs --tsa-chain %s=PEM", name, name)
		}
		opts, err := readTSAChain(chains[name])
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

func runAnchorRun(env *cli.Env, args []string) error {
	a, f, _, err := anchorSetup(env, "anchor run", "--log DIR --log-vkey F --store DIR [--tsa N=URL --tsa-chain N=PEM]... [--witness N=URL]...", args, nil)
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
	a, _, _, err := anchorSetup(env, "anchor build", "--log DIR --log-vkey F --store DIR --checkpoint F --index N... -o anchors.json", args,
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
