package oci

import (
	"errors"
	"fmt"

	"github.com/opencontainers/go-digest"

	"github.com/dossier-audit/dossier/pkg/run"
)

// ErrNotLogged: a bundle is not in the log, or not under this run.
var ErrNotLogged = errors.New("record is not in the log under this run")

// Sequencer returns the log's stream and per-stream sequence number of a
// bundle digest; ok is false when the log does not hold it.
type Sequencer func(bundleDigest string) (stream string, seq uint64, ok bool)

// Skipped is a bundle PackRun left out, with the reason.
type Skipped struct {
	Bundle string
	Err    error
}

// PackRun packs bundles (records of the run root) and docs (documents of
// its attachment records) into run content. Each bundle must be in the log
// under the run root's stream; its sequence number is the log's. Bundles
// of kinds that are not run-scoped (time evidence, exports) are skipped,
// not stored under the run. Any other problem is an error.
func PackRun(root *run.Root, bundles [][]byte, docs [][]byte, seqOf Sequencer) (*RunContent, []Skipped, error) {
	rc := NewRunContent(root)
	var skipped []Skipped
	seen := map[string]bool{}
	for _, b := range bundles {
		d := digest.FromBytes(b).String()
		if seen[d] {
			continue
		}
		seen[d] = true
		stream, seq, ok := seqOf(d)
		if !ok {
			return nil, nil, fmt.Errorf("%w: bundle %s is not in the log", ErrNotLogged, d)
		}
		rec, err := PackRecord(root.Descriptor, b, seq)
		if errors.Is(err, ErrNotRunScoped) {
			skipped = append(skipped, Skipped{Bundle: d, Err: err})
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		if stream != root.Digest() {
			return nil, nil, fmt.Errorf("%w: bundle %s is logged under stream %s, the run root is %s", ErrNotLogged, d, stream, root.Digest())
		}
		rc.Records = append(rc.Records, rec)
	}
	sortRecords(rc.Records)
	return rc, skipped, attachDocs(rc, docs)
}

// attachDocs packs each document against the attachment record naming it.
func attachDocs(rc *RunContent, docs [][]byte) error {
	for _, doc := range docs {
		d := digest.FromBytes(doc).String()
		found := false
		for _, rec := range rc.Records {
			if rec.DocumentDigest() != d {
				continue
			}
			a, err := PackAttachment(rec, doc)
			if err != nil {
				return err
			}
			rc.Attachments = append(rc.Attachments, a)
			found = true
		}
		if !found {
			return fmt.Errorf("%w: no attachment record of the run names document %s", ErrAttachment, d)
		}
	}
	return nil
}
