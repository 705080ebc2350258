package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"k8s.io/klog/v2"

	"github.com/dossier-audit/dossier/cmd/internal/cli"
	"github.com/dossier-audit/dossier/internal/atomicfile"
	"github.com/dossier-audit/dossier/pkg/tlog"
	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
)

func init() {
	for _, c := range []*cli.Command{
		{Name: "log init", Summary: "create a log directory and its Ed25519 log key", Run: runLogInit},
		{Name: "log append", Summary: "append bundles to the log (durable receipts)", Run: runLogAppend},
		{Name: "log checkpoint", Summary: "print the log's signed checkpoint", Run: runLogCheckpoint},
		{Name: "log prove", Summary: "write a c2sp.org/tlog-proof inclusion proof", Run: runLogProve},
		{Name: "log consistency", Summary: "write a consistency proof from an older checkpoint", Run: runLogConsistency},
		{Name: "log verify", Summary: "verify an inclusion or consistency proof offline", Run: runLogVerify},
	} {
		commands.Register(c)
	}
}

// quietTessera stops Tessera's klog chatter on stderr.
func quietTessera() {
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	_ = fs.Set("logtostderr", "false")
	_ = fs.Set("stderrthreshold", "FATAL")
	klog.SetOutput(io.Discard)
}

func runLogInit(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "log init", "--dir DIR --origin ORIGIN --key-out PREFIX")
	dir := fs.String("dir", "", "log directory to create")
	origin := fs.String("origin", "", "log origin, e.g. audit.example.internal/ml-training/v1 (also the key name)")
	keyOut := fs.String("key-out", "", "write the key pair to PREFIX.key (0600) and PREFIX.vkey")
	watermark := fs.String("watermark", "", "signed-checkpoint watermark file (default DIR/.dossier/signed)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *dir == "" || *origin == "" || *keyOut == "" || fs.NArg() != 0 {
		return cli.Usage("log init needs --dir, --origin and --key-out and no arguments")
	}
	quietTessera()
	if _, err := os.Stat(filepath.Join(*dir, "checkpoint")); err == nil {
		return cli.Usage("%v: %s has a checkpoint", tlog.ErrExists, *dir)
	}
	if err := tlog.CanWrite(*dir); err != nil { // before the key files are written
		return logError(err)
	}
	skey, vkey, err := tlog.GenerateKey(*origin)
	if err != nil {
		return cli.Usage("%v", err)
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
	signer, err := tlog.NewSigner(skey)
	if err != nil {
		return cli.Inconclusive(err, "")
	}
	if err := tlog.Init(context.Background(), *dir, tlog.Options{Signer: signer, Watermark: *watermark}); err != nil {
		return logError(err)
	}
	fmt.Fprintf(env.Stdout, "log %s\norigin %s\nvkey %s\n", *dir, *origin, vkey)
	return nil
}

func runLogAppend(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "log append", "--dir DIR --key LOGKEY [--stream S] [--json] BUNDLE...")
	dir := fs.String("dir", "", "log directory")
	keyFile := fs.String("key", "", "log signer key file")
	stream := fs.String("stream", "", "stream of every bundle (default: derived from each bundle)")
	watermark := fs.String("watermark", "", "signed-checkpoint watermark file (default DIR/.dossier/signed)")
	asJSON := fs.Bool("json", false, "print receipts as JSON lines")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *dir == "" || *keyFile == "" || fs.NArg() == 0 {
		return cli.Usage("log append needs --dir, --key and at least one bundle file")
	}
	quietTessera()
	signer, err := readSigner(*keyFile)
	if err != nil {
		return err
	}
	ctx := context.Background()
	l, err := tlog.Open(ctx, *dir, tlog.Options{Signer: signer, Watermark: *watermark})
	if err != nil {
		return logError(err)
	}
	err = appendFiles(ctx, env, l, fs.Args(), *stream, *asJSON)
	if cerr := l.Close(ctx); err == nil && cerr != nil {
		return cli.Inconclusive(cerr, "")
	}
	return err
}

func appendFiles(ctx context.Context, env *cli.Env, l *tlog.Log, files []string, stream string, asJSON bool) error {
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return cli.Inconclusive(err, "")
		}
		s := stream
		if s == "" {
			if s, err = tlog.StreamOf(b); err != nil {
				return cli.Failed(fmt.Errorf("%s: %w", f, err), "pass --stream to name the stream")
			}
		}
		r, err := l.Append(ctx, b, s)
		if err != nil {
			return logError(fmt.Errorf("%s: %w", f, err))
		}
		if asJSON {
			line, _ := json.Marshal(r)
			fmt.Fprintf(env.Stdout, "%s\n", line)
			continue
		}
		fmt.Fprintf(env.Stdout, "%d %s %d %s\n", r.Index, r.Stream, r.Seq, r.Bundle)
	}
	return nil
}

func runLogCheckpoint(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "log checkpoint", "--dir DIR [--vkey F]")
	dir := fs.String("dir", "", "log directory")
	vkeyFile := fs.String("vkey", "", "verify the checkpoint with this log verifier key")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *dir == "" || fs.NArg() != 0 {
		return cli.Usage("log checkpoint needs --dir and no arguments")
	}
	cp, err := tlog.ReadCheckpoint(*dir)
	if err != nil {
		return cli.Inconclusive(err, "")
	}
	if *vkeyFile != "" {
		v, err := readVerifier(*vkeyFile)
		if err != nil {
			return err
		}
		if _, err := tlogproof.VerifyCheckpoint(cp, v); err != nil {
			return cli.Failed(err, "the checkpoint is not signed by this log key")
		}
	}
	_, err = env.Stdout.Write(cp)
	return err
}

func runLogProve(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "log prove", "--dir DIR (--index N | --bundle FILE) [-o FILE]")
	dir := fs.String("dir", "", "log directory")
	index := fs.String("index", "", "leaf index to prove")
	bundle := fs.String("bundle", "", "bundle file whose leaf to prove")
	out := fs.String("o", "", "write the proof to FILE (default stdout)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *dir == "" || (*index == "") == (*bundle == "") || fs.NArg() != 0 {
		return cli.Usage("log prove needs --dir and exactly one of --index or --bundle")
	}
	ctx := context.Background()
	idx, err := leafIndex(ctx, *dir, *index, *bundle)
	if err != nil {
		return err
	}
	p, err := tlog.ProveInclusion(ctx, *dir, idx)
	if err != nil {
		return logError(err)
	}
	return writeOut(env, *out, p)
}

func leafIndex(ctx context.Context, dir, index, bundle string) (uint64, error) {
	if index != "" {
		n, err := strconv.ParseUint(index, 10, 64)
		if err != nil {
			return 0, cli.Usage("--index %q is not a leaf index", index)
		}
		return n, nil
	}
	b, err := os.ReadFile(bundle)
	if err != nil {
		return 0, cli.Inconclusive(err, "")
	}
	n, _, err := tlog.FindBundle(ctx, dir, tlogproof.Digest(b))
	if err != nil {
		return 0, logError(err)
	}
	return n, nil
}

func runLogConsistency(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "log consistency", "--dir DIR --old CHECKPOINT [-o FILE]")
	dir := fs.String("dir", "", "log directory")
	old := fs.String("old", "", "older checkpoint file")
	out := fs.String("o", "", "write the proof to FILE (default stdout)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *dir == "" || *old == "" || fs.NArg() != 0 {
		return cli.Usage("log consistency needs --dir and --old")
	}
	oldCP, err := os.ReadFile(*old)
	if err != nil {
		return cli.Inconclusive(err, "")
	}
	p, err := tlog.ProveConsistency(context.Background(), *dir, oldCP)
	if err != nil {
		return logError(err)
	}
	return writeOut(env, *out, p)
}

func runLogVerify(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "log verify", "--vkey F --proof FILE [--bundle FILE | --leaf FILE | --old CHECKPOINT] [--new CHECKPOINT]")
	vkeyFile := fs.String("vkey", "", "log verifier key file")
	proofFile := fs.String("proof", "", "inclusion (tlog-proof) or consistency proof")
	bundle := fs.String("bundle", "", "bundle the inclusion proof is for")
	leaf := fs.String("leaf", "", "leaf the inclusion proof is for")
	old := fs.String("old", "", "trusted older checkpoint (consistency proofs)")
	newer := fs.String("new", "", "require the proof's checkpoint to be exactly this checkpoint file")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *vkeyFile == "" || *proofFile == "" || fs.NArg() != 0 || (*bundle != "" && *leaf != "") {
		return cli.Usage("log verify needs --vkey, --proof and at most one of --bundle or --leaf")
	}
	v, err := readVerifier(*vkeyFile)
	if err != nil {
		return err
	}
	proof, err := os.ReadFile(*proofFile)
	if err != nil {
		return cli.Inconclusive(err, "")
	}
	if err := checkNewer(proof, *newer); err != nil {
		return err
	}
	var res verifyResult
	if strings.HasPrefix(string(proof), tlogproof.ConsistencyHeader+"\n") {
		res, err = verifyConsistency(proof, *old, v)
	} else {
		res, err = verifyInclusion(proof, *bundle, *leaf, v)
	}
	if err != nil {
		return err
	}
	return printVerify(env, res, *asJSON)
}

// checkNewer requires the checkpoint carried by proof to equal the file
// newer, when given.
func checkNewer(proof []byte, newer string) error {
	if newer == "" {
		return nil
	}
	want, err := os.ReadFile(newer)
	if err != nil {
		return cli.Inconclusive(err, "")
	}
	_, got, _ := strings.Cut(string(proof), "\n\n")
	if got != string(want) {
		return cli.Failed(fmt.Errorf("the proof's checkpoint is not the one in %s", newer), "")
	}
	return nil
}

type verifyResult struct {
	Kind     string          `json:"kind"`
	Verified bool            `json:"verified"`
	Origin   string          `json:"origin"`
	Size     uint64          `json:"size"`
	Index    *uint64         `json:"index,omitempty"`
	OldSize  *uint64         `json:"oldSize,omitempty"`
	Leaf     *tlogproof.Leaf `json:"leaf,omitempty"`
}

func verifyInclusion(proof []byte, bundleFile, leafFile string, v noteVerifier) (verifyResult, error) {
	p, err := tlogproof.ParseInclusionProof(proof)
	if err != nil {
		return verifyResult{}, cli.Failed(err, "")
	}
	var cp *tlogproof.Checkpoint
	var lf *tlogproof.Leaf
	switch {
	case bundleFile != "":
		b, rerr := os.ReadFile(bundleFile)
		if rerr != nil {
			return verifyResult{}, cli.Inconclusive(rerr, "")
		}
		var l tlogproof.Leaf
		cp, l, err = tlogproof.VerifyBundleInclusion(proof, b, v)
		lf = &l
	case leafFile != "":
		b, rerr := os.ReadFile(leafFile)
		if rerr != nil {
			return verifyResult{}, cli.Inconclusive(rerr, "")
		}
		cp, err = tlogproof.VerifyInclusion(proof, b, v)
	default:
		cp, err = tlogproof.VerifyInclusion(proof, nil, v)
	}
	if err != nil {
		return verifyResult{}, cli.Failed(err, verifyHint(err))
	}
	return verifyResult{Kind: "inclusion", Verified: true, Origin: cp.Origin, Size: cp.Size, Index: &p.Index, Leaf: lf}, nil
}

func verifyConsistency(proof []byte, oldFile string, v noteVerifier) (verifyResult, error) {
	if oldFile == "" {
		return verifyResult{}, cli.Usage("a consistency proof needs --old, the checkpoint you trust")
	}
	old, err := os.ReadFile(oldFile)
	if err != nil {
		return verifyResult{}, cli.Inconclusive(err, "")
	}
	cp, err := tlogproof.VerifyConsistency(proof, old, v)
	if err != nil {
		return verifyResult{}, cli.Failed(err, verifyHint(err))
	}
	p, _ := tlogproof.ParseConsistencyProof(proof)
	return verifyResult{Kind: "consistency", Verified: true, Origin: cp.Origin, Size: cp.Size, OldSize: &p.Old}, nil
}

func printVerify(env *cli.Env, r verifyResult, asJSON bool) error {
	if asJSON {
		b, _ := json.Marshal(r)
		fmt.Fprintf(env.Stdout, "%s\n", b)
		return nil
	}
	if r.Kind == "consistency" {
		fmt.Fprintf(env.Stdout, "verified: %s size %d extends size %d\n", r.Origin, r.Size, *r.OldSize)
		return nil
	}
	fmt.Fprintf(env.Stdout, "verified: leaf %d is in %s of size %d\n", *r.Index, r.Origin, r.Size)
	if r.Leaf != nil {
		fmt.Fprintf(env.Stdout, "stream %s seq %d bundle %s\n", r.Leaf.Stream, r.Leaf.Seq, r.Leaf.Bundle)
	}
	return nil
}

func verifyHint(err error) string {
	switch {
	case errors.Is(err, tlogproof.ErrCheckpointSignature), errors.Is(err, tlogproof.ErrOrigin):
		return "check that --vkey is the key of the log that produced the proof"
	case errors.Is(err, tlogproof.ErrSmallerTree), errors.Is(err, tlogproof.ErrConsistency):
		return "the log does not extend the checkpoint you trust: keep both checkpoints, they are evidence"
	}
	return ""
}

// logError maps library errors to exit codes: refusals and failed checks
// are 1, everything else (I/O) is 3.
func logError(err error) error {
	for _, e := range []error{tlog.ErrRollback, tlog.ErrSequenceTaken, tlog.ErrSequenceGap, tlog.ErrRecordConflict,
		tlog.ErrCorruptLog, tlogproof.ErrInclusion, tlogproof.ErrConsistency, tlogproof.ErrSmallerTree, tlogproof.ErrOrigin,
		tlogproof.ErrMalformedCheckpoint, tlog.ErrNotFound} {
		if errors.Is(err, e) {
			return cli.Failed(err, logHint(err))
		}
	}
	if errors.Is(err, tlog.ErrExists) {
		return cli.Usage("%v", err)
	}
	return cli.Inconclusive(err, logHint(err))
}

func logHint(err error) string {
	switch {
	case errors.Is(err, tlog.ErrRollback):
		return "restore the newest copy of the log directory; never sign over history that was already published"
	case errors.Is(err, tlog.ErrLocked):
		return "another dossier process has the log open"
	case errors.Is(err, errors.ErrUnsupported):
		return "write the log on its Linux or macOS host; here, work from packages or a copy of the log directory"
	}
	return ""
}

func readSigner(path string) (tlog.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, cli.Inconclusive(err, "")
	}
	s, err := tlog.NewSigner(string(b))
	if err != nil {
		return nil, cli.Usage("%s: %v", path, err)
	}
	return s, nil
}

type noteVerifier = tlog.Verifier

func readVerifier(path string) (noteVerifier, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, cli.Inconclusive(err, "")
	}
	v, err := tlog.NewVerifier(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, cli.Usage("%s: %v", path, err)
	}
	return v, nil
}

func writeOut(env *cli.Env, path string, b []byte) error {
	if path == "" {
		_, err := env.Stdout.Write(b)
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return cli.Inconclusive(err, "")
	}
	if err := atomicfile.WriteFile(path, b, 0o644); err != nil {
		return cli.Inconclusive(err, "")
	}
	return nil
}
