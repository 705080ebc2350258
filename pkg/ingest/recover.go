package ingest

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/transparency-dev/tessera/api/layout"
	"github.com/transparency-dev/tessera/client"

	"github.com/dossier-audit/dossier/pkg/bundle"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
)

// forLeaves calls fn for each leaf with index in [start, size), in order,
// reading the log directory's entry bundles.
func forLeaves(ctx context.Context, dir string, start, size uint64, fn func(uint64, tlogproof.Leaf) error) error {
	read := client.FileFetcher{Root: dir}.ReadEntryBundle
	for b := start / layout.EntryBundleWidth; b*layout.EntryBundleWidth < size; b++ {
		eb, err := client.GetEntryBundle(ctx, read, b, size)
		if err != nil {
			return fmt.Errorf("reading entry bundle %d: %w", b, err)
		}
		for i, raw := range eb.Entries {
			idx := b*layout.EntryBundleWidth + uint64(i)
			if idx < start || idx >= size {
				continue
			}
			lf, err := tlogproof.ParseLeaf(raw)
			if err != nil {
				return fmt.Errorf("leaf %d: %w", idx, err)
			}
			if err := fn(idx, lf); err != nil {
				return err
			}
		}
	}
	return nil
}

// recover journals every receipt logged after the journal's last mark
// (a crash can leave receipts whose answers were never journalled), then
// marks the log size: from here on every receipt is findable by record.
func (s *Service) recover(ctx context.Context) error {
	size, err := s.log.Size(ctx)
	if err != nil {
		return err
	}
	n := 0
	err = forLeaves(ctx, s.logDir, s.journal.mark, size, func(idx uint64, lf tlogproof.Leaf) error {
		if lf.Stream != record.ReceiptStream {
			return nil
		}
		ans, err := s.answerFromReceipt(ctx, lf.Bundle, idx)
		if err != nil {
			return fmt.Errorf("receipt at leaf %d: %w", idx, err)
		}
		d, _ := parseDigest32(ans.Record)
		if _, ok, _ := s.journal.lookupRecord(d); ok {
			return nil
		}
		n++
		return s.journal.put("", [32]byte{}, ans)
	})
	if err != nil {
		return err
	}
	if n > 0 {
		s.logger.Warn("recovered receipts whose answers were not journalled (a crash before the answer)", "count", n)
	}
	return s.journal.putMark(size)
}

// answerFromReceipt rebuilds a submission's answer from its logged receipt.
func (s *Service) answerFromReceipt(ctx context.Context, digest string, idx uint64) (*SubmitResult, error) {
	b, err := s.log.Bundle(ctx, digest)
	if err != nil {
		return nil, err
	}
	bun, err := bundle.Parse(b)
	if err != nil {
		return nil, err
	}
	var st struct {
		Predicate record.Receipt `json:"predicate"`
	}
	if err := json.Unmarshal(bun.Payload(), &st); err != nil {
		return nil, err
	}
	p := st.Predicate
	// The receipt names the record by digest; its position is the log's.
	rc, ok := s.log.Lookup(p.Record)
	if !ok {
		return nil, fmt.Errorf("record %s of the receipt is not logged", p.Record)
	}
	return &SubmitResult{Record: p.Record, Stream: rc.Stream, Seq: rc.Seq, Prev: rc.Prev,
		LogIndex: rc.Index, Receipt: digest, ReceiptIndex: idx, ReceivedAt: p.ReceivedAt,
		TimeVerdict: p.TimeVerdict, Flags: p.Flags}, nil
}
