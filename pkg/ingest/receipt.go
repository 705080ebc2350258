package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/dossier-audit/dossier/pkg/bundle"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/tlog"
)

var receiptType = record.PredicateTypePrefix + "receipt/v1"

func sum256(b []byte) [32]byte { return sha256.Sum256(b) }

// signPredicate builds the statement of a predicate (subjects derived as
// record.Subjects does) and signs it with the ingest key.
func (s *Service) signPredicate(ctx context.Context, predicateType string, pred []byte, runRoot *record.ResourceDescriptor) ([]byte, error) {
	subjects, err := record.Subjects(predicateType, pred, runRoot)
	if err != nil {
		return nil, err
	}
	stmt, err := record.NewStatement(subjects, predicateType, pred)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	b, err := bundle.Sign(ctx, s.signer, bundle.PayloadTypeInToto, stmt)
	s.metrics.signLatency.observe(time.Since(start))
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	return b, nil
}

// signOwn signs a statement the daemon built itself from its own types
// (a receipt), as record.NewStatement would write it, without validating
// it again; tests check that receipts verify and parse.
func (s *Service) signOwn(ctx context.Context, predicateType string, pred []byte, subject record.ResourceDescriptor) ([]byte, error) {
	st := record.Statement{Type: record.StatementType, Subject: []record.ResourceDescriptor{subject},
		PredicateType: predicateType, Predicate: pred}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&st); err != nil {
		return nil, err
	}
	return s.sign(ctx, bytes.TrimSuffix(out.Bytes(), []byte("\n")))
}

// sign signs a statement with the ingest key.
func (s *Service) sign(ctx context.Context, stmt []byte) ([]byte, error) {
	start := time.Now()
	b, err := bundle.Sign(ctx, s.signer, bundle.PayloadTypeInToto, stmt)
	s.metrics.signLatency.observe(time.Since(start))
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	return b, nil
}

// writeReceipt signs the receipt of record b (digest d, stream stream),
// appends the record and the receipt with one AppendMany call (only the
// receipt when the record is already logged: logged is its log receipt)
// and journals the answer: the journal line is written and fsynced while
// they are appended (one durable wait, not two), and becomes findable only
// once all are durable. The receipt names the record by digest, so it is
// signed before the record is sequenced; the answer's seq, prev and log
// index come from the log (the journal reads them from the log too).
func (s *Service) writeReceipt(ctx context.Context, b []byte, d [32]byte, stream string, logged *tlog.Receipt, verdict string, req *submitRequest) (*SubmitResult, *Problem) {
	at := s.stamp()
	flags := req.flags
	if flags == nil {
		flags = []string{}
	}
	recDigest := digestString(d)
	p := record.Receipt{
		Common: record.Common{ProducedAt: at.Format(time.RFC3339Nano), Producer: s.producer,
			TimeEvidence: s.gate.evidenceRef()},
		Record: recDigest, Stream: stream,
		ReceivedAt: req.receivedAt.UTC().Format(time.RFC3339Nano), TimeVerdict: verdict, Flags: flags,
		Submitter: submitter(req),
	}
	pred, err := json.Marshal(p)
	if err != nil {
		return nil, appendFailure(err)
	}
	rb, err := s.signOwn(ctx, receiptType, pred, record.ResourceDescriptor{Name: "dossier-record",
		Digest: map[string]string{"sha256": hex.EncodeToString(d[:])}})
	if err != nil {
		return nil, appendFailure(err)
	}
	ans := &SubmitResult{Record: recDigest, Stream: stream,
		Receipt: digestString(sum256(rb)), ReceivedAt: p.ReceivedAt, TimeVerdict: verdict, Flags: flags}
	jr, err := s.journal.write(req.key, req.hash, ans)
	if err != nil {
		return nil, problem(http.StatusServiceUnavailable, CodeStorage, err.Error())
	}
	items := []tlog.Item{{Bundle: b, Stream: stream}, {Bundle: rb, Stream: record.ReceiptStream}}
	if logged != nil {
		items = items[1:]
	}
	start := time.Now()
	rcs, err := s.log.AppendMany(ctx, items)
	s.metrics.appendLatency.observe(time.Since(start))
	jerr := <-jr.err
	if err != nil {
		return nil, appendFailure(fmt.Errorf("appending the record and its receipt: %w", err))
	}
	if jerr != nil {
		return nil, problem(http.StatusServiceUnavailable, CodeStorage, jerr.Error())
	}
	rc := logged
	if rc == nil {
		rc = &rcs[0]
	}
	ans.Seq, ans.Prev, ans.LogIndex = rc.Seq, rc.Prev, rc.Index
	ans.ReceiptIndex = rcs[len(rcs)-1].Index
	s.journal.indexWritten(jr)
	return ans, nil
}

func submitter(req *submitRequest) record.Submitter {
	id := req.id
	if id == nil {
		return record.Submitter{Subject: "local", Name: "local", Method: "local"}
	}
	name := id.Name
	if name == "" {
		name = id.Subject
	}
	return record.Submitter{Subject: id.Subject, Name: name, Team: id.Team, Method: id.Method}
}
