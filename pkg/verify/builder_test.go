package verify

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/sigstore/sigstore/pkg/signature"
	"golang.org/x/mod/sumdb/note"

	"github.com/dossier-audit/dossier/pkg/bundle"
	"github.com/dossier-audit/dossier/pkg/keyring"
	"github.com/dossier-audit/dossier/pkg/keys"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/run"
	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
)

// spec is a test package to build, with knobs for hostile variants. The
// builder stands in for pkg/dossier.Export until that exists: it writes
// the layout of spec/package.md §3 directly.
type spec struct {
	Runs          int
	RecordsPerRun int    // records per run besides run-closed
	BulkKind      string // kind of those records; "" is dataset
	Verdict       string
	PolicyJSON    string

	DropRecord       bool // withhold run 0's record seq 1 from the package (still logged)
	SignWithTimeKey  bool // sign one run record with the time key (wrong role)
	SignWithStranger bool // sign one run record with a key outside the keyring
	WrongOCISubject  bool // one record manifest's OCI subject is another run root
	ForeignLogKey    bool // checkpoint signed by another log key
	EditReport       bool // REPORT.html tar entry differs from the signed blob
	WrongExportCount bool // the export record's recordCount is off by one
	NoRunClosed      bool // runs lack their run-closed record
	EvidenceAfter    bool // a record cites time evidence logged after it
	ExtraBlob        bool // an unreferenced blob
	TamperBundle     bool // flip a byte of one bundle's payload after logging
}

// built is a package and its trust inputs.
type built struct {
	Tar         []byte
	Fingerprint string
	Checkpoint  []byte // the package checkpoint note
	LogSigner   note.Signer
	Origin      string
}

type testKeys struct {
	root, producer, timeKey, exporter, stranger signature.Signer
	logSigner                                   note.Signer
	logVKey                                     string
	logPub                                      ed25519.PublicKey
	foreignLog                                  note.Signer
}

var (
	keysOnce sync.Once
	sharedKK *testKeys
)

// fixedKeys are generated once per test binary: building many packages
// stays fast.
func fixedKeys(tb testing.TB) *testKeys {
	keysOnce.Do(func() {
		kk := &testKeys{}
		for _, p := range []*signature.Signer{&kk.root, &kk.producer, &kk.timeKey, &kk.exporter, &kk.stranger} {
			priv, err := keys.Generate(keys.ECDSAP256)
			if err != nil {
				panic(err)
			}
			if *p, err = signature.LoadSigner(priv, crypto.SHA256); err != nil {
				panic(err)
			}
		}
		kk.logSigner, kk.logVKey, kk.logPub = noteKey("dossier.test/log")
		kk.foreignLog, _, _ = noteKey("dossier.test/log")
		sharedKK = kk
	})
	return sharedKK
}

func noteKey(name string) (note.Signer, string, ed25519.PublicKey) {
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		panic(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		panic(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(strings.SplitN(vkey, "+", 3)[2])
	return s, vkey, ed25519.PublicKey(raw[1:])
}

// pkgBuilder accumulates the log and the blobs of one package.
type pkgBuilder struct {
	sp            spec
	kk            *testKeys
	leaves        [][]byte
	streams       map[string][]string // stream -> bundle digests by seq
	blobs         map[string][]byte   // hex -> content
	idx           map[string]uint64   // digest -> log index
	topRoots      []descriptor
	topRecords    []descriptor
	recordDigests []string
	dropped       map[string]bool // logged but withheld from the package
}

func buildPackage(tb testing.TB, sp spec) *built {
	tb.Helper()
	b, err := (&pkgBuilder{sp: sp, kk: fixedKeys(tb), streams: map[string][]string{}, dropped: map[string]bool{}, blobs: map[string][]byte{}, idx: map[string]uint64{}}).build()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// appendLeaf logs digest in stream and returns its seq.
func (p *pkgBuilder) appendLeaf(digest, stream string) {
	seq := uint64(len(p.streams[stream]))
	prev := ""
	if seq > 0 {
		prev = p.streams[stream][seq-1]
	}
	p.streams[stream] = append(p.streams[stream], digest)
	p.idx[digest] = uint64(len(p.leaves))
	p.leaves = append(p.leaves, tlogproof.Leaf{Bundle: digest, Stream: stream, Seq: seq, Prev: prev}.Marshal())
}

func (p *pkgBuilder) blob(b []byte) descriptor {
	h := sha256.Sum256(b)
	p.blobs[hex.EncodeToString(h[:])] = b
	return descriptor{Digest: "sha256:" + hex.EncodeToString(h[:]), Size: int64(len(b))}
}

func (p *pkgBuilder) build() (*built, error) {
	ctx := context.Background()
	docBytes, env, err := p.keyring(ctx)
	if err != nil {
		return nil, err
	}
	p.appendLeaf(keyring.Digest(env), "keyring")
	verdict := p.sp.Verdict
	if verdict == "" {
		verdict = "good"
	}
	teDigest, err := p.logScoped(ctx, "time-evidence", p.kk.timeKey, func(m map[string]any) { m["verdict"] = verdict })
	if err != nil {
		return nil, err
	}
	if err := p.runs(ctx, teDigest); err != nil {
		return nil, err
	}
	list, count := p.recordListDigest()
	if p.sp.WrongExportCount {
		count++
	}
	exDigest, err := p.logScoped(ctx, "export", p.kk.exporter, func(m map[string]any) {
		m["recordListDigest"], m["recordCount"] = list, count
		m["timeEvidence"] = map[string]any{"digest": teDigest}
	})
	if err != nil {
		return nil, err
	}
	return p.seal(ctx, docBytes, env, exDigest, list, count)
}

func (p *pkgBuilder) keyring(ctx context.Context) ([]byte, []byte, error) {
	owner := keyring.Owner{Name: "test", PersonID: "workload:test", Team: "t"}
	var ks []keyring.Key
	add := func(s signature.Signer, roles ...string) error {
		pub, err := s.PublicKey()
		if err != nil {
			return err
		}
		k, err := keyring.NewKey(pub, roles, owner, "2026-01-01T00:00:00Z", "")
		ks = append(ks, k)
		return err
	}
	for _, e := range []struct {
		s     signature.Signer
		roles []string
	}{{p.kk.root, []string{"root"}}, {p.kk.producer, []string{"producer"}}, {p.kk.timeKey, []string{"time"}}, {p.kk.exporter, []string{"exporter"}}} {
		if err := add(e.s, e.roles...); err != nil {
			return nil, nil, err
		}
	}
	lk, err := keyring.NewKey(p.kk.logPub, []string{"log"}, owner, "2026-01-01T00:00:00Z", p.kk.logVKey)
	if err != nil {
		return nil, nil, err
	}
	ks = append(ks, lk)
	doc := &keyring.Document{MediaType: keyring.MediaType, Version: 1, IssuedAt: "2026-01-01T00:00:00Z", RootThreshold: 1, Keys: ks}
	db, err := doc.Marshal()
	if err != nil {
		return nil, nil, err
	}
	rs, err := keyring.NewSigner(ctx, p.kk.root)
	if err != nil {
		return nil, nil, err
	}
	env, err := keyring.Sign(db, rs)
	return db, env, err
}

// predicate returns kind's template with changes applied.
func predicate(kind string, edit func(map[string]any)) ([]byte, error) {
	var m map[string]any
	if err := json.Unmarshal(record.Template(kind), &m); err != nil {
		return nil, err
	}
	edit(m)
	return json.Marshal(m)
}

// logScoped signs, logs and packs a log-scoped record; it returns its digest.
func (p *pkgBuilder) logScoped(ctx context.Context, kind string, s signature.Signer, edit func(map[string]any)) (string, error) {
	pt := record.PredicateTypePrefix + kind + "/v1"
	pred, err := predicate(kind, edit)
	if err != nil {
		return "", err
	}
	subj, err := record.DerivedSubject(pt, pred)
	if err != nil {
		return "", err
	}
	b, err := p.sign(ctx, s, []record.ResourceDescriptor{subj}, pt, pred)
	if err != nil {
		return "", err
	}
	d := tlogproof.Digest(b)
	p.appendLeaf(d, kind)
	p.addRecord(b, nil)
	return d, nil
}

func (p *pkgBuilder) sign(ctx context.Context, s signature.Signer, subj []record.ResourceDescriptor, pt string, pred []byte) ([]byte, error) {
	st, err := record.NewStatement(subj, pt, pred)
	if err != nil {
		return nil, err
	}
	return bundle.Sign(ctx, s, bundle.PayloadTypeInToto, st)
}

// addRecord packs a bundle as a record manifest (subject: a run root).
func (p *pkgBuilder) addRecord(b []byte, subject *descriptor) {
	layer := p.blob(b)
	layer.MediaType = BundleMediaType
	p.recordDigests = append(p.recordDigests, layer.Digest)
	cfg := p.blob([]byte("{}"))
	cfg.MediaType = "application/vnd.oci.empty.v1+json"
	// Annotations as pkg/oci PackRecord writes them (unsigned, informational),
	// repeated on the index.json descriptor as the package writer does.
	ann := map[string]string{annCreated: "2026-11-27T09:30:00Z", "dev.sigstore.bundle.content": "dsse-envelope",
		"dev.sigstore.bundle.predicateType": "https://dossier.dev/predicates/dataset/v1", "dev.dossier.record.kind": "dataset",
		"dev.dossier.run.id": "run-000", "dev.dossier.record.seq": fmt.Sprint(len(p.recordDigests))}
	m := manifest{SchemaVersion: 2, MediaType: mediaTypeManifest, ArtifactType: RecordArtifactType,
		Config: &cfg, Layers: []descriptor{layer}, Subject: subject, Annotations: ann}
	mb, _ := json.Marshal(m)
	d := p.blob(mb)
	d.MediaType, d.ArtifactType, d.Annotations = mediaTypeManifest, RecordArtifactType, ann
	p.topRecords = append(p.topRecords, d)
}

func (p *pkgBuilder) runs(ctx context.Context, teDigest string) error {
	var roots []*run.Root
	for r := 0; r < max(p.sp.Runs, 1); r++ {
		root, err := run.New(run.Registration{RunID: fmt.Sprintf("run-%03d", r), Project: "p", Model: "m",
			StartedBy: run.Identity{ID: "svc:pipeline", Kind: "workload"}, StartedAt: "2026-11-27T09:00:00Z"})
		if err != nil {
			return err
		}
		roots = append(roots, root)
		d := p.blob(root.Manifest)
		p.blob(root.Config)
		p.blob(root.RegistrationJSON)
		d.MediaType = mediaTypeManifest
		d.ArtifactType = run.ArtifactType
		d.Annotations = map[string]string{annRefName: "run-" + root.Registration.RunID}
		p.topRoots = append(p.topRoots, d)
	}
	for ri, root := range roots {
		if err := p.runRecords(ctx, ri, root, roots, teDigest); err != nil {
			return err
		}
	}
	return nil
}

func (p *pkgBuilder) runRecords(ctx context.Context, ri int, root *run.Root, roots []*run.Root, teDigest string) error {
	n := p.sp.RecordsPerRun
	for i := 0; i <= n; i++ {
		kind := "dataset"
		if p.sp.BulkKind != "" {
			kind = p.sp.BulkKind
		}
		if i == n {
			if p.sp.NoRunClosed {
				break
			}
			kind = "run-closed"
		}
		signer := p.kk.producer
		special := ri == 0 && i == 1
		if special && p.sp.SignWithTimeKey {
			signer = p.kk.timeKey
		}
		if special && p.sp.SignWithStranger {
			signer = p.kk.stranger
		}
		pred, err := predicate(kind, func(m map[string]any) {
			m["runId"] = root.Registration.RunID
			m["producedAt"] = "2026-11-27T09:30:00Z"
			m["timeEvidence"] = map[string]any{"digest": teDigest}
			if special && p.sp.EvidenceAfter {
				m["timeEvidence"] = map[string]any{"digest": "sha256:" + strings.Repeat("0", 64)}
			}
		})
		if err != nil {
			return err
		}
		b, err := p.sign(ctx, signer, []record.ResourceDescriptor{record.RunSubject(root.Registration.RunID, root.Digest())}, record.PredicateTypePrefix+kind+"/v1", pred)
		if err != nil {
			return err
		}
		d := tlogproof.Digest(b)
		p.appendLeaf(d, root.Digest())
		if special && p.sp.DropRecord {
			p.dropped[d] = true
			continue
		}
		if special && p.sp.TamperBundle {
			b = bytes.Replace(b, []byte(`"payload":"ey`), []byte(`"payload":"eX`), 1)
		}
		subj := &descriptor{MediaType: mediaTypeManifest, Digest: root.Digest(), Size: int64(len(root.Manifest))}
		if special && p.sp.WrongOCISubject && len(roots) > 1 {
			other := roots[(ri+1)%len(roots)]
			subj = &descriptor{MediaType: mediaTypeManifest, Digest: other.Digest(), Size: int64(len(other.Manifest))}
		}
		p.addRecord(b, subj)
	}
	return nil
}

func (p *pkgBuilder) recordListDigest() (string, int) {
	ds := append([]string(nil), p.recordDigests...)
	sort.Strings(ds)
	h := sha256.New()
	for _, d := range ds {
		h.Write([]byte(d + "\n"))
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), len(ds)
}
