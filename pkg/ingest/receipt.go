package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
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

// writeReceipt signs the receipt of the logged record rc, appends it to
// the receipts stream and journals the answer: the journal line is written
// and fsynced while the receipt is appended (one durable wait, not two),
// and becomes findable only once both are durable.
func (s *Service) writeReceipt(ctx context.Context, rc tlog.Receipt, verdict string, req *submitRequest) (*SubmitResult, *Problem) {
	at := s.stamp()
	flags := req.flags
	if flags == nil {
		flags = []string{}
	}
	p := record.Receipt{
		Common: record.Common{ProducedAt: at.Format(time.RFC3339Nano), Producer: s.producer,
			TimeEvidence: s.gate.evidenceRef()},
		Record: rc.Bundle, Stream: rc.Stream, Seq: int64(rc.Seq), Prev: rc.Prev, LogIndex: int64(rc.Index),
		ReceivedAt: req.receivedAt.UTC().Format(time.RFC3339Nano), TimeVerdict: verdict, Flags: flags,
		Submitter: submitter(req),
	}
	pred, err := json.Marshal(p)
	if err != nil {
		return nil, appendFailure(err)
	}
	b, err := s.signOwn(ctx, receiptType, pred, record.ResourceDescriptor{Name: "dossier-record",
		Digest: map[string]string{"sha256": strings.TrimPrefix(rc.Bundle, "sha256:")}})
	if err != nil {
		return nil, appendFailure(err)
	}
	ans := &SubmitResult{Record: rc.Bundle, Stream: rc.Stream, Seq: rc.Seq, Prev: rc.Prev, LogIndex: rc.Index,
		Receipt: digestString(sum256(b)), ReceivedAt: p.ReceivedAt, TimeVerdict: verdict, Flags: flags}
	jr, err := s.journal.write(req.key, req.hash, ans)
	if err != nil {
		return nil, problem(http.StatusServiceUnavailable, CodeStorage, err.Error())
	}
	rr, err := s.log.Append(ctx, b, record.ReceiptStream)
	jerr := <-jr.err
	if err != nil {
		return nil, appendFailure(fmt.Errorf("appending the receipt: %w", err))
	}
	if jerr != nil {
		return nil, problem(http.StatusServiceUnavailable, CodeStorage, jerr.Error())
	}
	ans.ReceiptIndex = rr.Index
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
