package gate

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/api/layout"
	"github.com/transparency-dev/tessera/client"

	"github.com/dossier-audit/dossier/pkg/bundle"
	"github.com/dossier-audit/dossier/pkg/keyring"
	"github.com/dossier-audit/dossier/pkg/policy"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/review"
	"github.com/dossier-audit/dossier/pkg/run"
	"github.com/dossier-audit/dossier/pkg/tlog"
	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
)

// Sentinel errors.
var (
	// ErrLog: the log directory cannot be read, or its checkpoint or
	// leaves do not verify.
	ErrLog = errors.New("log")
	// ErrRecord: a logged record does not verify (bytes, signature,
	// statement, run subject).
	ErrRecord = errors.New("record")
	// ErrKeyring: the keyring chain does not verify or is not in the log.
	ErrKeyring = errors.New("keyring")
)

// Log-scoped streams (pkg/tlog/FORMAT.md).
const (
	streamKeyring = "keyring"
	streamTime    = "time-evidence"
)

// Facts are the verified records of one run in a log: signatures checked
// with keyring keys, bytes hashed, statements parsed, subject[0] the run
// root, each with its log index; plus the keyring chain and where each
// version was logged.
type Facts struct {
	Run     *run.Root
	Records []policy.Record // run records and the time evidence they cite, by log index
	Chain   *keyring.Chain
	Indices []uint64 // log index of keyring version i+1
	Size    uint64   // checkpoint size read

	key lastKey // see verify
}

// Load reads the run's records from the log directory dir at its published
// checkpoint. keyrings are the keyring version envelopes (any order);
// pinned is the root fingerprint they chain to, or "" to trust the
// version 1 given (the operator's own keyring). The checkpoint must verify
// with the keyring's log key and the leaves must hash to its root. The
// bundles are read from the log's bundle store, opened read-only once a
// record is read (a daemon may be appending to it: tlog.OpenDirStoreReadOnly
// never cuts what it is writing); a process that holds the log open
// (tlog.Log) calls LoadFrom with its Bundle method instead.
func Load(ctx context.Context, dir string, root *run.Root, keyrings [][]byte, pinned string) (*Facts, error) {
	var store *tlog.DirStore
	defer func() {
		if store != nil {
			store.Close()
		}
	}()
	get := func(ctx context.Context, d string) ([]byte, error) {
		if store == nil {
			s, err := tlog.OpenDirStoreReadOnly(filepath.Join(dir, ".dossier", "bundles"))
			if err != nil {
				return nil, fmt.Errorf("opening the bundle store: %w", err)
			}
			store = s
		}
		return store.Get(ctx, d)
	}
	return LoadFrom(ctx, dir, get, root, keyrings, pinned)
}

// BundleFunc returns the stored bytes of the bundle with the given digest
// ("sha256:<hex>"), as (*tlog.Log).Bundle and (*tlog.DirStore).Get do.
type BundleFunc func(ctx context.Context, digest string) ([]byte, error)

// LoadFrom is Load with the bundles read by get (the open log's store)
// rather than from a second handle on the store in dir: LoadMany with one
// root, failing as that root fails.
func LoadFrom(ctx context.Context, dir string, get BundleFunc, root *run.Root, keyrings [][]byte, pinned string) (*Facts, error) {
	facts, err := LoadMany(ctx, dir, get, []*run.Root{root}, keyrings, pinned)
	if re := (*RunsError)(nil); errors.As(err, &re) {
		return nil, re.Errs[0]
	}
	if err != nil {
		return nil, err
	}
	return facts[0], nil
}

func verifyChain(envs [][]byte, pinned string) (*keyring.Chain, error) {
	sorted, err := keyring.SortEnvelopes(envs)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeyring, err)
	}
	if len(sorted) == 0 {
		return nil, fmt.Errorf("%w: no keyring versions given", ErrKeyring)
	}
	if pinned == "" {
		v1, err := keyring.Parse(sorted[0])
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrKeyring, err)
		}
		pinned = keyring.RootFingerprint(v1.Payload)
	}
	chain, err := keyring.VerifyChain(pinned, sorted...)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeyring, err)
	}
	return chain, nil
}

type leaf struct {
	index uint64
	leaf  tlogproof.Leaf
}

// readLeaves verifies the published checkpoint with the keyring's log key,
// reads every leaf with fetch, passes each (with its index, in log order)
// to visit and checks them against the checkpoint's root; it returns the
// checkpoint's size. On error, what visit saw must be dropped.
func readLeaves(ctx context.Context, dir string, fetch client.EntryBundleFetcherFunc, chain *keyring.Chain, visit func(uint64, *tlogproof.Leaf)) (uint64, error) {
	cp, err := checkpoint(dir, chain)
	if err != nil {
		return 0, err
	}
	rf := compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
	rng := rf.NewEmptyRange(0)
	n := uint64(0)
	for b := uint64(0); b*layout.EntryBundleWidth < cp.Size; b++ {
		eb, err := client.GetEntryBundle(ctx, fetch, b, cp.Size)
		if err != nil {
			return 0, fmt.Errorf("%w: reading entry bundle %d: %w", ErrLog, b, err)
		}
		for i, raw := range eb.Entries {
			idx := b*layout.EntryBundleWidth + uint64(i)
			lf, err := tlogproof.ParseLeaf(raw)
			if err != nil {
				return 0, fmt.Errorf("%w: leaf %d: %w", ErrLog, idx, err)
			}
			if err := rng.Append(rfc6962.DefaultHasher.HashLeaf(raw), nil); err != nil {
				return 0, fmt.Errorf("%w: %w", ErrLog, err)
			}
			n++
			visit(idx, &lf)
		}
	}
	rootHash, err := rng.GetRootHash(nil)
	if err != nil || n != cp.Size || !bytes.Equal(rootHash, cp.Root[:]) {
		return 0, fmt.Errorf("%w: the %d leaves read do not hash to the checkpoint root (size %d)", ErrLog, n, cp.Size)
	}
	return cp.Size, nil
}

func checkpoint(dir string, chain *keyring.Chain) (*tlogproof.Checkpoint, error) {
	logKeys := chain.Latest().KeysWithRole(keyring.RoleLog)
	if len(logKeys) == 0 {
		return nil, fmt.Errorf("%w: the newest keyring version has no log key", ErrKeyring)
	}
	raw, err := tlog.ReadCheckpoint(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: reading the checkpoint: %w", ErrLog, err)
	}
	var errs []error
	for _, k := range logKeys {
		v, err := tlog.NewVerifier(k.NoteVerifierKey)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		cp, err := tlogproof.VerifyCheckpoint(raw, v)
		if err == nil {
			return cp, nil
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("%w: the checkpoint does not verify with the keyring's log key: %w", ErrLog, errors.Join(errs...))
}

// keyringIndices finds the log index of every keyring version.
func keyringIndices(chain *keyring.Chain, leaves []leaf) ([]uint64, error) {
	at := map[string]uint64{}
	for _, l := range leaves {
		if l.leaf.Stream == streamKeyring {
			at[l.leaf.Bundle] = l.index
		}
	}
	out := make([]uint64, len(chain.Versions))
	for i, v := range chain.Versions {
		idx, ok := at[v.Digest]
		if !ok {
			return nil, fmt.Errorf("%w: keyring version %d (%s) is not in the log", ErrKeyring, i+1, v.Digest)
		}
		out[i] = idx
	}
	return out, nil
}

// loadRecords reads and verifies the run's records (the leaves of its
// stream, in log order) and the time evidence they cite (timeAt: the log
// index of each time-evidence bundle).
func (f *Facts) loadRecords(stream []leaf, timeAt map[string]uint64, get func(string) ([]byte, error)) error {
	for _, l := range stream {
		r, err := f.verified(l, get)
		if err != nil {
			return err
		}
		if r.Predicate.CommonFields().RunID != f.Run.Registration.RunID {
			return fmt.Errorf("%w: %s in the stream of run %s names run %q", ErrRecord, r.Digest, f.Run.Registration.RunID, r.Predicate.CommonFields().RunID)
		}
		f.Records = append(f.Records, r)
	}
	cited := map[string]bool{}
	for _, r := range f.Records {
		if te := r.Predicate.CommonFields().TimeEvidence; te != nil && !cited[te.Digest] {
			cited[te.Digest] = true
			idx, ok := timeAt[te.Digest]
			if !ok {
				return fmt.Errorf("%w: %s cites time evidence %s, which is not in the log", ErrRecord, r.Digest, te.Digest)
			}
			t, err := f.verified(leaf{index: idx, leaf: tlogproof.Leaf{Bundle: te.Digest, Stream: streamTime}}, get)
			if err != nil {
				return err
			}
			f.Records = append(f.Records, t)
		}
	}
	slices.SortFunc(f.Records, func(a, b policy.Record) int { return cmp.Compare(a.LogIndex, b.LogIndex) })
	return nil
}

// verified reads one bundle, checks its digest and signature (with the key
// its hint names, as any keyring version lists it) and parses it.
func (f *Facts) verified(l leaf, get func(string) ([]byte, error)) (policy.Record, error) {
	d := l.leaf.Bundle
	b, err := get(d)
	if err != nil {
		return policy.Record{}, fmt.Errorf("%w: reading %s: %w", ErrLog, d, err)
	}
	if got := fmt.Sprintf("sha256:%x", sha256.Sum256(b)); got != d {
		return policy.Record{}, fmt.Errorf("%w: stored bundle %s hashes to %s", ErrRecord, d, got)
	}
	bun, err := f.verify(d, b)
	if err != nil {
		return policy.Record{}, err
	}
	st, err := record.ParseStatement(bun.Envelope.Payload)
	if err != nil {
		return policy.Record{}, fmt.Errorf("%w: %s: %w", ErrRecord, d, err)
	}
	kind, _ := st.Kind()
	if kind.RunScoped && st.Subject[0].SHA256() != f.Run.Hex() {
		return policy.Record{}, fmt.Errorf("%w: %s: subject[0] is not the run root %s", ErrRecord, d, f.Run.Digest())
	}
	return policy.Record{Digest: d, Kind: kind.Name, LogIndex: l.index, Signer: bun.KeyHint, Predicate: st.Parsed()}, nil
}

// lastKey is the key that verified the previous record, by its hint.
type lastKey struct {
	hint string
	v    signature.Verifier
}

// verify checks the signature of bundle b (digest d) with the key its hint
// names, as any keyring version lists it. A run's records are mostly
// signed by one key: verify first tries the key that verified the previous
// record and accepts the result only when the bundle's hint names that
// very key (the one Lookup picks), so the bundle is parsed once rather
// than twice; otherwise, or on any failure, it takes the full path and
// returns its error.
func (f *Facts) verify(d string, b []byte) (*bundle.Bundle, error) {
	if k := f.key; k.v != nil {
		if bun, err := bundle.Verify(b, k.v); err == nil && bun.KeyHint == k.hint {
			return bun, nil
		}
	}
	parsed, err := bundle.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrRecord, d, err)
	}
	states := f.Chain.Lookup(parsed.KeyHint)
	if len(states) == 0 {
		return nil, fmt.Errorf("%w: %s is signed by %s, which no keyring version lists", ErrRecord, d, parsed.KeyHint)
	}
	v, err := states[0].Key.Verifier()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeyring, err)
	}
	bun, err := bundle.Verify(b, v)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrRecord, d, err)
	}
	f.key = lastKey{hint: parsed.KeyHint, v: v}
	return bun, nil
}

// PolicyInput is the policy Input of the facts.
func (f *Facts) PolicyInput(p *policy.Policy, at time.Time, release bool) policy.Input {
	return policy.Input{Policy: p, RunID: f.Run.Registration.RunID, Records: f.Records,
		Keys: policy.ChainView{Chain: f.Chain, Indices: f.Indices}, At: at, Release: release}
}

// ReviewInput is the review Input of the facts; previous, when not nil,
// are the facts of the model's last approved version.
func (f *Facts) ReviewInput(previous *Facts, previousLabel string) review.Input {
	in := review.Input{RunID: f.Run.Registration.RunID, RunRoot: f.Run.Digest(), Records: f.Records,
		PreviousLabel: previousLabel, Owners: map[string]keyring.Owner{}}
	for _, v := range f.Chain.Versions {
		for _, k := range v.Document.Keys {
			in.Owners[k.ID] = k.Owner
		}
	}
	if previous != nil {
		in.Previous = previous.Records
	}
	return in
}

func sha256Hex(b []byte) string { return fmt.Sprintf("%x", sha256.Sum256(b)) }
