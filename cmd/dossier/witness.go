package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"

	"github.com/dossier-audit/dossier/cmd/internal/cli"
	"github.com/dossier-audit/dossier/internal/atomicfile"
	"github.com/dossier-audit/dossier/pkg/tlog"
	"github.com/dossier-audit/dossier/pkg/witness"
	"github.com/dossier-audit/dossier/pkg/witness/witnessverify"
)

func init() {
	for _, c := range []*cli.Command{
		{Name: "witness keygen", Summary: "create a witness cosigning key pair (tlog-cosignature/v1, Ed25519)", Run: runWitnessKeygen},
		{Name: "witness serve", Summary: "run a C2SP tlog-witness that cosigns consistent checkpoints", Run: runWitnessServe},
		{Name: "witness add", Summary: "send the log's checkpoint to a witness and collect its cosignature", Run: runWitnessAdd},
		{Name: "witness verify", Summary: "check a checkpoint's cosignatures against a tlog-policy quorum offline", Run: runWitnessVerify},
	} {
		commands.Register(c)
	}
}

func runWitnessKeygen(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "witness keygen", "--name NAME --key-out PREFIX")
	name := fs.String("name", "", "witness name, e.g. secops.example.internal/witness")
	keyOut := fs.String("key-out", "", "write PREFIX.key (0600) and PREFIX.vkey (cosignature verifier key)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *name == "" || *keyOut == "" || fs.NArg() != 0 {
		return cli.Usage("witness keygen needs --name and --key-out and no arguments")
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, *name)
	if err != nil {
		return cli.Usage("name %q: %v", *name, err)
	}
	if vkey, err = fnote.VKeyToCosignatureV1(vkey); err != nil {
		return cli.Inconclusive(err, "")
	}
	if err := os.MkdirAll(filepath.Dir(*keyOut), 0o755); err != nil {
		return cli.Inconclusive(err, "")
	}
	if err := atomicfile.WriteNew(*keyOut+".key", []byte(skey+"\n"), 0o600); err != nil {
		return cli.Inconclusive(err, "choose a --key-out prefix that does not exist yet")
	}
	if err := atomicfile.WriteNew(*keyOut+".vkey", []byte(vkey+"\n"), 0o644); err != nil {
		return cli.Inconclusive(err, "")
	}
	fmt.Fprintf(env.Stdout, "witness %s\nvkey %s\n", *name, vkey)
	return nil
}

func runWitnessServe(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "witness serve", "--listen ADDR --state DIR --key WITNESSKEY --log-vkey F...")
	listen := fs.String("listen", "127.0.0.1:7380", "address to listen on")
	stateDir := fs.String("state", "", "directory of the last cosigned checkpoint per log")
	keyFile := fs.String("key", "", "witness signer key file (from witness keygen)")
	var vkeys multiFlag
	fs.Var(&vkeys, "log-vkey", "verifier key file of a log to witness (repeatable)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *stateDir == "" || *keyFile == "" || len(vkeys) == 0 || fs.NArg() != 0 {
		return cli.Usage("witness serve needs --state, --key and at least one --log-vkey")
	}
	srv, err := newWitnessServer(*keyFile, *stateDir, vkeys)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return cli.Inconclusive(err, "choose a free --listen address")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}
	go func() { <-ctx.Done(); _ = hs.Shutdown(context.Background()) }()
	env.Infof("witness listening on http://%s%s", ln.Addr(), witness.AddCheckpointPath)
	if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return cli.Inconclusive(err, "")
	}
	return nil
}

func newWitnessServer(keyFile, stateDir string, vkeyFiles []string) (*witness.Server, error) {
	skey, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, cli.Inconclusive(err, "")
	}
	cosigner, err := fnote.NewSignerForCosignatureV1(strings.TrimSpace(string(skey)))
	if err != nil {
		return nil, cli.Usage("%s: %v", keyFile, err)
	}
	var logs []note.Verifier
	for _, f := range vkeyFiles {
		v, err := readVerifier(f)
		if err != nil {
			return nil, err
		}
		logs = append(logs, v)
	}
	state, err := witness.OpenDirState(stateDir)
	if err != nil {
		return nil, cli.Inconclusive(err, "")
	}
	return witness.NewServer(cosigner, logs, state), nil
}

func runWitnessAdd(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "witness add", "--url URL --log DIR [--old N] [--witness-vkey F] [-o FILE]")
	url := fs.String("url", "", "witness submission prefix (POST URL/add-checkpoint)")
	dir := fs.String("log", "", "log directory (its checkpoint and tiles)")
	old := fs.Uint64("old", 0, "size the witness last cosigned, if known (a 409 answer corrects it)")
	wvkey := fs.String("witness-vkey", "", "check the cosignature with this witness verifier key file")
	timeout := fs.Duration("timeout", 10*time.Second, "timeout of each request")
	out := fs.String("o", "", "write the cosigned checkpoint to FILE (default stdout)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *url == "" || *dir == "" || fs.NArg() != 0 {
		return cli.Usage("witness add needs --url and --log")
	}
	cp, err := tlog.ReadCheckpoint(*dir)
	if err != nil {
		return cli.Inconclusive(err, "")
	}
	c := &witness.Client{URL: *url, HTTP: &http.Client{Timeout: *timeout}}
	lines, err := witness.Submit(context.Background(), c, cp, *old, witness.TileProver(*dir))
	if err != nil {
		return witnessError(err)
	}
	cosigned := witness.AppendCosignatures(cp, lines)
	if *wvkey != "" {
		if err := checkCosignature(cosigned, *wvkey); err != nil {
			return err
		}
	}
	return writeOut(env, *out, cosigned)
}

func checkCosignature(cosigned []byte, vkeyFile string) error {
	b, err := os.ReadFile(vkeyFile)
	if err != nil {
		return cli.Inconclusive(err, "")
	}
	v, err := fnote.NewVerifierForCosignatureV1(strings.TrimSpace(string(b)))
	if err != nil {
		return cli.Usage("%s: %v", vkeyFile, err)
	}
	if _, err := note.Open(cosigned, note.VerifierList(v)); err != nil {
		return cli.Failed(fmt.Errorf("%w: %v", witnessverify.ErrCosignature, err), "the witness answered with another key than --witness-vkey")
	}
	return nil
}

func witnessError(err error) error {
	var conflict *witness.ConflictError
	switch {
	case errors.As(err, &conflict):
		return cli.Failed(err, "the witness has cosigned a larger tree: send the log's current checkpoint")
	case errors.Is(err, witness.ErrProof):
		return cli.Failed(err, "the witness refuses a checkpoint inconsistent with the one it cosigned: keep both checkpoints as evidence")
	case errors.Is(err, witness.ErrSignature), errors.Is(err, witness.ErrUnknownLog):
		return cli.Failed(err, "configure the witness with this log's verifier key (--log-vkey)")
	}
	return cli.Inconclusive(err, "retry later: a witness that is down delays the anchor, never the log")
}

func runWitnessVerify(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "witness verify", "--policy F [--json] CHECKPOINT")
	policyFile := fs.String("policy", "", "C2SP tlog-policy file (log, witness, group, quorum lines)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *policyFile == "" || fs.NArg() != 1 {
		return cli.Usage("witness verify needs --policy and one checkpoint file")
	}
	pb, err := os.ReadFile(*policyFile)
	if err != nil {
		return cli.Inconclusive(err, "")
	}
	policy, err := witnessverify.ParsePolicy(pb)
	if err != nil {
		return cli.Usage("%s: %v", *policyFile, err)
	}
	cp, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return cli.Inconclusive(err, "")
	}
	res, verr := witnessverify.Verify(cp, policy)
	if res != nil {
		renderWitnessResult(env, res, *asJSON)
	}
	if verr != nil {
		return cli.Failed(verr, "collect cosignatures with 'dossier witness add' until the quorum is met")
	}
	return nil
}

func renderWitnessResult(env *cli.Env, res *witnessverify.Result, asJSON bool) {
	if asJSON {
		b, _ := json.MarshalIndent(struct {
			Origin       string                      `json:"origin"`
			Size         uint64                      `json:"size"`
			Cosignatures []witnessverify.Cosignature `json:"cosignatures"`
			Ignored      int                         `json:"ignored"`
			QuorumMet    bool                        `json:"quorumMet"`
			AnchoredAt   *time.Time                  `json:"anchoredAt"`
		}{res.Checkpoint.Origin, res.Checkpoint.Size, res.Cosignatures, res.Ignored, res.QuorumMet, anchorTime(res.AnchoredAt)}, "", "  ")
		fmt.Fprintf(env.Stdout, "%s\n", b)
		return
	}
	fmt.Fprintf(env.Stdout, "checkpoint %s size %d\n", res.Checkpoint.Origin, res.Checkpoint.Size)
	for _, c := range res.Cosignatures {
		fmt.Fprintf(env.Stdout, "cosigned   %s at %s\n", c.Witness, c.Time.Format(time.RFC3339))
	}
	fmt.Fprintf(env.Stdout, "quorum     %s\n", map[bool]string{true: "met", false: "NOT met"}[res.QuorumMet])
	if !res.AnchoredAt.IsZero() {
		fmt.Fprintf(env.Stdout, "anchored   no later than %s\n", res.AnchoredAt.Format(time.RFC3339))
	}
}

func anchorTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
