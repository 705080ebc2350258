package ingest

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/dossier-audit/dossier/pkg/keys"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/tlog"
	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
	"github.com/dossier-audit/dossier/pkg/verify"
)

func TestSubmitReceiptProofReplay(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	d := startDaemon(t, cfg)
	run := registerRun(t, d, testRunID)
	if again := registerRun(t, d, testRunID); again.Digest != run.Digest {
		t.Fatalf("re-registration digest %s, want %s", again.Digest, run.Digest)
	}
	body := datasetBody(t, testRunID, 0)
	r := submit(t, d, testRunID, body, "step-1")
	if r.status != http.StatusCreated {
		t.Fatalf("submit: %d %s", r.status, r.body)
	}
	got := decodeResult(t, r)
	if got.Seq != 0 || got.Prev != "" || got.Stream != run.Digest || !contains(got.Flags, "signed-by-daemon") {
		t.Fatalf("answer %+v", got)
	}
	// The record verifies with the ingest key and names the run.
	v := ingestVerifier(t, cfg)
	rec := do(t, "GET", d.url+"/v1/records/"+got.Record, tokReviewer, nil)
	if rec.status != 200 {
		t.Fatalf("get record: %d %s", rec.status, rec.body)
	}
	if _, err := verify.VerifyRecord(rec.body, v, verify.RecordOptions{RunID: testRunID, RunRoot: run.Digest}); err != nil {
		t.Fatal(err)
	}
	// The receipt binds the record (by digest) and the submitter; the
	// record's position is its leaf's.
	rcpt := do(t, "GET", d.url+"/v1/records/"+got.Record+"/receipt", tokProducer, nil)
	vr, err := verify.VerifyRecord(rcpt.body, v, verify.RecordOptions{PredicateType: receiptType})
	if err != nil {
		t.Fatalf("receipt: %v (%d %s)", err, rcpt.status, rcpt.body)
	}
	p := vr.Statement.Parsed().(*record.Receipt)
	if p.Record != got.Record || p.Stream != got.Stream || p.Submitter.Subject != "pipeline-a" || p.Submitter.Method != "token" {
		t.Fatalf("receipt predicate %+v", p)
	}
	if vr.Digest != got.Receipt {
		t.Fatalf("receipt digest %s, answer says %s", vr.Digest, got.Receipt)
	}
	// The inclusion proof verifies against the log key.
	proof := do(t, "GET", d.url+"/v1/records/"+got.Record+"/proof", tokReviewer, nil)
	if proof.status != 200 {
		t.Fatalf("proof: %d %s", proof.status, proof.body)
	}
	if _, lf, err := tlogproof.VerifyBundleInclusion(proof.body, rec.body, logVerifier(t, cfg)); err != nil || lf.Seq != 0 {
		t.Fatalf("proof: %v %+v", err, lf)
	}
	// Replays: same key and body -> the same answer; other body -> 422.
	re := submit(t, d, testRunID, body, "step-1")
	if re.status != http.StatusOK || decodeResult(t, re).Receipt != got.Receipt {
		t.Fatalf("replay: %d %s", re.status, re.body)
	}
	if x := submit(t, d, testRunID, datasetBody(t, testRunID, 1), "step-1"); x.status != 422 || x.problem(t).Code != CodeIdempotencyReused {
		t.Fatalf("reuse: %d %s", x.status, x.body)
	}
	// Without a key, an identical body dedupes on its content.
	n1 := decodeResult(t, submit(t, d, testRunID, datasetBody(t, testRunID, 2), ""))
	n2 := submit(t, d, testRunID, datasetBody(t, testRunID, 2), "")
	if n2.status != 200 || decodeResult(t, n2).Record != n1.Record || n1.Seq != 1 || n1.Prev != got.Record {
		t.Fatalf("keyless replay: %d %s (first %+v)", n2.status, n2.body, n1)
	}
	list := do(t, "GET", d.url+"/v1/runs/"+testRunID+"/records", tokReviewer, nil)
	var rl RecordList
	must(t, json.Unmarshal(list.body, &rl))
	if len(rl.Records) != 2 || rl.Records[1].Record != n1.Record {
		t.Fatalf("records: %s", list.body)
	}
}

func TestRestartKeepsAnswers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := testConfigIn(t, dir)
	d := startDaemon(t, cfg)
	registerRun(t, d, testRunID)
	first := decodeResult(t, submit(t, d, testRunID, datasetBody(t, testRunID, 0), "k"))
	must(t, d.stop())
	d2 := startDaemon(t, cfg)
	re := submit(t, d2, testRunID, datasetBody(t, testRunID, 0), "k")
	if re.status != 200 || decodeResult(t, re).Receipt != first.Receipt {
		t.Fatalf("after restart: %d %s", re.status, re.body)
	}
	// A new key with the same body still finds the record and its receipt.
	other := submit(t, d2, testRunID, datasetBody(t, testRunID, 0), "k2")
	if other.status != 200 || decodeResult(t, other).Receipt != first.Receipt {
		t.Fatalf("other key: %d %s", other.status, other.body)
	}
}

func ingestVerifier(t testing.TB, cfg Config) signature.Verifier {
	t.Helper()
	b, err := os.ReadFile(cfg.IngestKey)
	must(t, err)
	priv, err := keys.ParsePrivateKey(b, nil, true)
	must(t, err)
	v, err := keys.NewVerifier(priv.Public())
	must(t, err)
	return v
}

func logVerifier(t testing.TB, cfg Config) tlog.Verifier {
	t.Helper()
	b, err := os.ReadFile(cfg.LogKey + ".pub")
	must(t, err)
	v, err := tlog.NewVerifier(strings.TrimSpace(string(b)))
	must(t, err)
	return v
}

// TestDaemonStatementsAreCanonical checks that the statements the daemon
// builds without record.NewStatement are byte for byte what it builds.
func TestDaemonStatementsAreCanonical(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	d := startDaemon(t, cfg)
	run := registerRun(t, d, testRunID)
	got := decodeResult(t, submit(t, d, testRunID, datasetBody(t, testRunID, 0), ""))
	for _, digest := range []string{got.Record, got.Receipt} {
		b := do(t, "GET", d.url+"/v1/records/"+digest, tokReviewer, nil).body
		vr, err := verify.VerifyRecord(b, ingestVerifier(t, cfg), verify.RecordOptions{})
		must(t, err)
		st := vr.Statement
		want, err := record.NewStatement(st.Subject, st.PredicateType, st.Predicate)
		must(t, err)
		if string(want) != string(vr.Bundle.Payload()) {
			t.Fatalf("%s statement is not canonical:\n got %s\nwant %s", st.PredicateType, vr.Bundle.Payload(), want)
		}
	}
	_ = run
}

// anyLogged is a journal's view of a log that holds every record and
// receipt.
func anyLogged(string) (tlog.Receipt, bool) { return tlog.Receipt{Index: 7}, true }

func TestIdempotencyKeysExpire(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	j, err := openJournal(t.TempDir()+"/journal", time.Hour, clock, anyLogged)
	must(t, err)
	defer j.close()
	ans := &SubmitResult{Record: "sha256:" + strings.Repeat("a", 64), Stream: "s"}
	must(t, j.put("k", [32]byte{1}, ans))
	if _, _, ok, _ := j.lookupKey("k"); !ok {
		t.Fatal("key not found")
	}
	now = now.Add(2 * time.Hour)
	if _, _, ok, _ := j.lookupKey("k"); ok {
		t.Fatal("expired key still answers")
	}
	if n := j.prune(); n != 1 {
		t.Fatalf("pruned %d, want 1", n)
	}
	// The record itself is still known: its receipt never expires.
	if _, ok, _ := j.lookupRecord([32]byte{0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa,
		0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa}); !ok {
		t.Fatal("record forgotten with its key")
	}
}

// TestJournalSkipsAnswersWithoutReceipt: an answer line written beside a
// receipt append that never completed (a crash, a failed append) is not
// findable, neither before nor after a reload.
func TestJournalSkipsAnswersWithoutReceipt(t *testing.T) {
	t.Parallel()
	path := t.TempDir() + "/journal"
	good := &SubmitResult{Record: "sha256:" + strings.Repeat("a", 64), Stream: "s", Receipt: "sha256:" + strings.Repeat("c", 64)}
	lost := &SubmitResult{Record: "sha256:" + strings.Repeat("b", 64), Stream: "s", Receipt: "sha256:" + strings.Repeat("d", 64)}
	logged := func(d string) (tlog.Receipt, bool) {
		return tlog.Receipt{Index: 9}, d == good.Receipt || d == good.Record || d == lost.Record
	}
	j, err := openJournal(path, time.Hour, time.Now, logged)
	must(t, err)
	for key, ans := range map[string]*SubmitResult{"good": good, "lost": lost} {
		r, err := j.write(key, [32]byte{1}, ans)
		must(t, err)
		must(t, <-r.err)
		if key == "good" {
			j.indexWritten(r)
		}
	}
	check := func(stage string) {
		t.Helper()
		if _, ans, ok, err := j.lookupKey("good"); err != nil || !ok || ans.ReceiptIndex != 9 {
			t.Fatalf("%s: good answer: ok %v, err %v, %+v", stage, ok, err, ans)
		}
		if _, _, ok, err := j.lookupKey("lost"); ok || err != nil {
			t.Fatalf("%s: answer without a logged receipt: ok %v, err %v", stage, ok, err)
		}
		if got, err := j.streamAnswers("s", -1, 10); err != nil || len(got) != 1 || got[0].Record != good.Record {
			t.Fatalf("%s: stream answers %+v, err %v", stage, got, err)
		}
	}
	check("before reload")
	must(t, j.close())
	j, err = openJournal(path, time.Hour, time.Now, logged)
	must(t, err)
	defer j.close()
	check("after reload")
}

// TestLateReceipt: a record logged without its receipt (a crash in the
// middle of the AppendMany of record and receipt) gets a receipt of its
// own, flagged "late-receipt", when the submission is retried, also after
// a restart; its replays return that receipt, not another.
func TestLateReceipt(t *testing.T) {
	t.Parallel()
	cfg := testConfigIn(t, t.TempDir())
	d := startDaemon(t, cfg)
	registerRun(t, d, testRunID)
	first := decodeResult(t, submit(t, d, testRunID, datasetBody(t, testRunID, 0), "k0"))
	body := datasetBody(t, testRunID, 1)
	root, ok := d.s.runs.get(testRunID)
	if !ok {
		t.Fatal("run not found")
	}
	ctx := t.Context()
	b, p := d.s.recordBundle(ctx, root, &submitRequest{runID: testRunID, body: body})
	if p != nil {
		t.Fatal(p)
	}
	rc, err := d.s.log.Append(ctx, b, root.Digest())
	must(t, err)
	must(t, d.stop())
	d = startDaemon(t, cfg)
	r := submit(t, d, testRunID, body, "k1")
	if r.status != http.StatusCreated {
		t.Fatalf("retry: %d %s", r.status, r.body)
	}
	got := decodeResult(t, r)
	if got.Record != rc.Bundle || got.Seq != 1 || got.Prev != first.Record || got.LogIndex != rc.Index ||
		!contains(got.Flags, "late-receipt") || got.ReceiptIndex <= rc.Index {
		t.Fatalf("late answer %+v, record logged at %+v", got, rc)
	}
	rcpt := do(t, "GET", d.url+"/v1/records/"+got.Record+"/receipt", tokProducer, nil)
	vr, err := verify.VerifyRecord(rcpt.body, ingestVerifier(t, cfg), verify.RecordOptions{PredicateType: receiptType})
	if err != nil {
		t.Fatalf("receipt: %v (%d %s)", err, rcpt.status, rcpt.body)
	}
	if pr := vr.Statement.Parsed().(*record.Receipt); vr.Digest != got.Receipt || pr.Record != got.Record || !contains(pr.Flags, "late-receipt") {
		t.Fatalf("receipt %s %+v, answer %+v", vr.Digest, pr, got)
	}
	again := submit(t, d, testRunID, body, "k2")
	if a := decodeResult(t, again); again.status != 200 || a.Receipt != got.Receipt || a.Seq != 1 || a.LogIndex != rc.Index {
		t.Fatalf("replay: %d %s", again.status, again.body)
	}
}
