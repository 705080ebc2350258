package gate

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"flag"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"k8s.io/klog/v2"

	"github.com/dossier-audit/dossier/pkg/bundle"
	"github.com/dossier-audit/dossier/pkg/keyring"
	"github.com/dossier-audit/dossier/pkg/keys"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/run"
	"github.com/dossier-audit/dossier/pkg/tlog"
)

func TestMain(m *testing.M) {
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	_ = fs.Set("logtostderr", "false")
	_ = fs.Set("stderrthreshold", "FATAL")
	klog.SetOutput(io.Discard)
	os.Exit(m.Run())
}

const runID = "llama3-ft-2026-11-27-001"

// holder is a key and its keyring owner.
type holder struct {
	signer signature.Signer
	pub    crypto.PublicKey
	owner  keyring.Owner
	roles  []string
}

func newHolder(t testing.TB, person, team string, roles ...string) holder {
	t.Helper()
	priv, err := keys.Generate(keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	s, err := signature.LoadSigner(priv, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return holder{signer: s, pub: priv.Public(), owner: keyring.Owner{Name: "Name of " + person, PersonID: person, Team: team}, roles: roles}
}

// fixture is a log with a keyring and one run: dataset, training run,
// signed evaluation plan, two evaluations, release, run end.
type fixture struct {
	dir, skey                                  string
	root                                       *run.Root
	keyring                                    []byte
	root0, pipeline, alice, vera, rita, victor holder
	exporter                                   holder
	plan                                       string
}

// newFixture builds the fixture; opts may change the key holders before the
// keyring is signed.
func newFixture(t *testing.T, opts ...func(*fixture)) *fixture {
	t.Helper()
	f := &fixture{dir: t.TempDir()}
	skey, vkey, err := tlog.GenerateKey("example.test/dossier-log")
	if err != nil {
		t.Fatal(err)
	}
	f.skey = skey
	f.root, err = run.New(run.Registration{RunID: runID, Project: "support-assistant", Model: "acme/notes",
		StartedBy: run.Identity{ID: "workload:trainer", Kind: "workload"}, StartedAt: "2026-11-27T08:00:00Z"})
	if err != nil {
		t.Fatal(err)
	}
	f.root0 = newHolder(t, "person:root", "security", "root")
	f.pipeline = newHolder(t, "workload:pipeline", "ml-platform", "producer", "time")
	f.alice = newHolder(t, "person:alice", "ml-platform", "producer")
	f.vera = newHolder(t, "person:vera", "validation", "producer", "reviewer") // SPEC.md §2: plans need producer (for now)
	f.rita = newHolder(t, "person:rita", "validation", "reviewer")
	f.victor = newHolder(t, "person:victor", "validation", "reviewer")
	f.exporter = newHolder(t, "person:erika", "compliance", "exporter")
	for _, o := range opts {
		o(f)
	}
	f.keyring = f.signKeyring(t, vkey, f.root0, f.pipeline, f.alice, f.vera, f.rita, f.victor, f.exporter)
	l := f.open(t)
	defer f.close(t, l)
	f.appendTo(t, l, f.keyring, "keyring")
	te := f.sign(t, f.pipeline, "time-evidence", record.Template("time-evidence"), false)
	teDigest := f.appendTo(t, l, te, "time-evidence")
	pred := func(kind string, edit func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(record.Template(kind), &m); err != nil {
			t.Fatal(err)
		}
		m["timeEvidence"], m["producedAt"] = map[string]any{"digest": teDigest}, "2026-11-27T10:00:00Z"
		if edit != nil {
			edit(m)
		}
		b, _ := json.Marshal(m)
		return b
	}
	stream := f.root.Digest()
	f.appendTo(t, l, f.sign(t, f.pipeline, "dataset", pred("dataset", nil), true), stream)
	f.appendTo(t, l, f.sign(t, f.alice, "training-run", pred("training-run", nil), true), stream)
	f.plan = f.appendTo(t, l, f.sign(t, f.vera, "evaluation-plan", pred("evaluation-plan", nil), true), stream)
	f.appendTo(t, l, f.sign(t, f.pipeline, "evaluation", pred("evaluation", func(m map[string]any) { m["plan"] = f.plan }), true), stream)
	f.appendTo(t, l, f.sign(t, f.pipeline, "evaluation", pred("evaluation", func(m map[string]any) {
		m["plan"] = f.plan
		m["benchmark"] = map[string]any{"name": "toxicity-de", "version": "1"}
		delete(m, "dataset")
		m["metrics"] = []any{map[string]any{"name": "toxic_rate", "value": "0.0004"}}
		m["thresholds"] = []any{}
		delete(m, "thresholds")
	}), true), stream)
	f.appendTo(t, l, f.sign(t, f.pipeline, "model-release", pred("model-release", func(m map[string]any) {
		m["runs"] = []any{f.root.Digest()}
	}), true), stream)
	f.appendTo(t, l, f.sign(t, f.pipeline, "run-closed", pred("run-closed", nil), true), stream)
	return f
}

func (f *fixture) signKeyring(t *testing.T, vkey string, hs ...holder) []byte {
	t.Helper()
	doc := &keyring.Document{MediaType: keyring.MediaType, Version: 1, IssuedAt: "2026-11-27T00:00:00Z", RootThreshold: 1}
	for _, h := range hs {
		k, err := keyring.NewKey(h.pub, h.roles, h.owner, "2026-11-27T00:00:00Z", "")
		if err != nil {
			t.Fatal(err)
		}
		doc.Keys = append(doc.Keys, k)
	}
	raw, _ := base64.StdEncoding.DecodeString(strings.SplitN(vkey, "+", 3)[2])
	lk, err := keyring.NewKey(ed25519.PublicKey(raw[1:]), []string{"log"}, keyring.Owner{Name: "Log", PersonID: "workload:log", Team: "ops"}, "2026-11-27T00:00:00Z", vkey)
	if err != nil {
		t.Fatal(err)
	}
	doc.Keys = append(doc.Keys, lk)
	b, err := doc.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	ds, err := keyring.NewSigner(context.Background(), f.root0.signer)
	if err != nil {
		t.Fatal(err)
	}
	env, err := keyring.Sign(b, ds)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func (f *fixture) sign(t *testing.T, h holder, kind string, pred []byte, runScoped bool) []byte {
	t.Helper()
	var root *run.Root
	if runScoped {
		root = f.root
	}
	return f.signFor(t, root, h, kind, pred)
}

// signFor signs a record of the run root (nil: not run-scoped).
func (f *fixture) signFor(t *testing.T, root *run.Root, h holder, kind string, pred []byte) []byte {
	t.Helper()
	pt := record.PredicateTypePrefix + kind + "/v1"
	var rs *record.ResourceDescriptor
	if root != nil {
		r := record.RunSubject(root.Registration.RunID, root.Digest())
		rs = &r
	}
	subjects, err := record.Subjects(pt, pred, rs)
	if err != nil {
		t.Fatal(err)
	}
	st, err := record.NewStatement(subjects, pt, pred)
	if err != nil {
		t.Fatalf("%s: %v", kind, err)
	}
	b, err := bundle.Sign(context.Background(), h.signer, bundle.PayloadTypeInToto, st)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (f *fixture) open(t *testing.T) *tlog.Log {
	t.Helper()
	signer, err := tlog.NewSigner(f.skey)
	if err != nil {
		t.Fatal(err)
	}
	l, err := tlog.Open(context.Background(), f.dir, tlog.Options{Signer: signer, BatchMaxAge: time.Millisecond, CheckpointInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func (f *fixture) close(t *testing.T, l *tlog.Log) {
	t.Helper()
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) appendTo(t *testing.T, l *tlog.Log, b []byte, stream string) string {
	t.Helper()
	r, err := l.Append(context.Background(), b, stream)
	if err != nil {
		t.Fatal(err)
	}
	return r.Bundle
}

// appendAll opens the log, appends bundles to the run stream, closes it.
func (f *fixture) appendAll(t *testing.T, bs ...[]byte) {
	t.Helper()
	l := f.open(t)
	defer f.close(t, l)
	for _, b := range bs {
		f.appendTo(t, l, b, f.root.Digest())
	}
}
