package review

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"slices"

	"github.com/dossier-audit/dossier/pkg/internal/strictjson"
)

// Manifest is the machine-readable part of a review document: the run and
// the exact record digests an approval of the document lists. It is
// embedded in the document (so the document digest covers it) as JSON text
// in the element <pre id="dossier-review-manifest">.
type Manifest struct {
	MediaType       string   `json:"mediaType"`
	RunID           string   `json:"runId"`
	RunRoot         string   `json:"runRoot,omitempty"`
	ReviewedRecords []string `json:"reviewedRecords"`
}

// ManifestMediaType identifies the embedded manifest's format.
const ManifestMediaType = "application/vnd.dossier.review-manifest.v1+json"

// ErrManifest: a document holds no well-formed review manifest.
var ErrManifest = errors.New("no valid review manifest")

const (
	manifestOpen  = `<pre id="dossier-review-manifest">`
	manifestClose = `</pre>`
)

// MaxDocument bounds a review document read back.
const MaxDocument = 256 << 20

func manifestJSON(v *view) (string, error) {
	b, err := json.Marshal(Manifest{MediaType: ManifestMediaType, RunID: v.RunID, RunRoot: v.RunRoot, ReviewedRecords: v.Reviewed})
	return string(b), err
}

// ParseManifest extracts the manifest of a review document: exactly one
// manifest element, strict JSON, digests sorted and unique.
func ParseManifest(doc []byte) (*Manifest, error) {
	if len(doc) > MaxDocument {
		return nil, fmt.Errorf("%w: document of %d bytes, limit %d", ErrManifest, len(doc), MaxDocument)
	}
	if n := bytes.Count(doc, []byte(manifestOpen)); n != 1 {
		return nil, fmt.Errorf("%w: %d manifest elements, want 1", ErrManifest, n)
	}
	_, rest, _ := bytes.Cut(doc, []byte(manifestOpen))
	body, _, ok := bytes.Cut(rest, []byte(manifestClose))
	if !ok {
		return nil, fmt.Errorf("%w: manifest element not closed", ErrManifest)
	}
	var m Manifest
	raw := []byte(html.UnescapeString(string(body)))
	if err := strictjson.Decode(raw, &m, strictjson.Limits{MaxBytes: 16 << 20, RequireFields: true}); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrManifest, err)
	}
	if m.MediaType != ManifestMediaType || m.RunID == "" || len(m.ReviewedRecords) == 0 {
		return nil, fmt.Errorf("%w: mediaType %q, runId %q, %d records", ErrManifest, m.MediaType, m.RunID, len(m.ReviewedRecords))
	}
	if !slices.IsSorted(m.ReviewedRecords) || len(slices.Compact(slices.Clone(m.ReviewedRecords))) != len(m.ReviewedRecords) {
		return nil, fmt.Errorf("%w: reviewedRecords not sorted and unique", ErrManifest)
	}
	return &m, nil
}
