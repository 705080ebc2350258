package dossier

import (
	"bytes"
	"encoding/json"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"

	"github.com/opencontainers/go-digest"

	"github.com/dossier-audit/dossier/pkg/keyring"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/review"
)

// report is what README.txt and REPORT.html show. Everything in it comes
// from the request, the log and the records: no clock, no host.
type report struct {
	PackageID, Created, Purpose string
	RequestedBy                 record.Party
	Recipient                   record.Recipient
	Producer                    record.Producer
	ExportRecord, RecordList    string
	RecordCount                 int
	Origin, RootHash            string
	TreeSize                    uint64
	Runs                        []reportRun
	TimeEvidence                []reportRecord
	Keyring                     []reportKeyring
	Ledger                      []head
	Omitted                     []Omitted
	Anchors                     []reportAnchor
	AnchorsBlob                 string
	Reviews                     []string
	ForReview                   []string
}

type reportRun struct {
	ID, Project, Model, Digest, StartedBy, StartedAt string
	Records                                          []reportRecord
}

type reportRecord struct {
	Index, Seq                               uint64
	Kind, Digest, Blob, ProducedAt, Producer string
	KeyHint                                  string
	Facts                                    []fact
}

// fact is one predicate field, as its signer asserted it.
type fact struct{ Name, Value string }

type reportKeyring struct {
	Version       int
	Digest        string
	IssuedAt      string
	RootThreshold int
	Keys          []keyring.Key
	// Change is what this version changed (keyring.Chain.History).
	Change keyring.Change
}

func newReportRecord(it *item) reportRecord {
	c := it.stmt.Parsed().CommonFields()
	rr := reportRecord{Index: it.entry.Index, Seq: it.entry.Leaf.Seq, Kind: it.kind, Digest: it.digest(),
		Blob: "blobs/sha256/" + strings.TrimPrefix(it.digest(), "sha256:"), ProducedAt: c.ProducedAt,
		Producer: strings.TrimSpace(c.Producer.Name + " (" + c.Producer.ID + ")")}
	if te, ok := it.stmt.Parsed().(*record.TimeEvidence); ok { // no common fields
		rr.ProducedAt, rr.Producer = te.CheckedAt, "time checker"
	}
	rr.KeyHint = keyHint(it.bytes)
	rr.Facts = facts(it.stmt.Predicate)
	return rr
}

// common predicate fields shown elsewhere in the report.
var commonFields = map[string]bool{"runId": true, "attempt": true, "producedAt": true, "producer": true}

// facts lists the top-level predicate fields in order, values as compact
// JSON (strings unquoted), long values cut.
func facts(raw []byte) []fact {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return nil
	}
	var out []fact
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return out
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return out
		}
		name, _ := k.(string)
		if !commonFields[name] {
			out = append(out, fact{Name: name, Value: shorten(valueText(v), 300)})
		}
	}
	return out
}

func valueText(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	return string(v)
}

func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + " …"
}

// keyHint returns the bundle's publicKey hint (the signer's fingerprint).
func keyHint(b []byte) string {
	var v struct {
		VM struct {
			PK struct {
				Hint string `json:"hint"`
			} `json:"publicKey"`
		} `json:"verificationMaterial"`
	}
	_ = json.Unmarshal(b, &v)
	return v.VM.PK.Hint
}

func newReport(p *plan) *report {
	r := &report{PackageID: p.packageID, Created: p.created, Purpose: p.req.Purpose, RequestedBy: p.req.RequestedBy,
		Recipient: p.req.Recipient, Producer: p.req.Producer, ExportRecord: p.exportDigest, RecordList: p.listDigest,
		RecordCount: len(p.sel.records), Origin: p.view.cp.Origin, TreeSize: p.view.cp.Size,
		RootHash: b64(p.view.cp.Root[:]), Ledger: p.sel.heads, Omitted: p.sel.omitted,
		Anchors: newReportAnchors(p.anchorFile), ForReview: p.forReview}
	if p.anchorBytes != nil {
		r.AnchorsBlob = "blobs/sha256/" + digest.FromBytes(p.anchorBytes).Encoded()
	}
	for _, doc := range p.reviewDocs {
		r.Reviews = append(r.Reviews, review.Digest(doc))
	}
	for _, root := range p.sel.runs {
		rr := reportRun{ID: root.Registration.RunID, Project: root.Registration.Project, Model: root.Registration.Model,
			Digest: root.Digest(), StartedAt: root.Registration.StartedAt,
			StartedBy: strings.TrimSpace(root.Registration.StartedBy.Name + " (" + root.Registration.StartedBy.ID + ")")}
		for _, it := range p.sel.records {
			if it.root == root {
				rr.Records = append(rr.Records, newReportRecord(it))
			}
		}
		r.Runs = append(r.Runs, rr)
	}
	for _, it := range p.sel.records {
		if it.root == nil {
			r.TimeEvidence = append(r.TimeEvidence, newReportRecord(it))
		}
	}
	hist := p.chain.History()
	for i, v := range p.chain.Versions {
		d := v.Document
		r.Keyring = append(r.Keyring, reportKeyring{Version: d.Version, Digest: v.Digest, IssuedAt: d.IssuedAt, RootThreshold: d.RootThreshold, Keys: d.Keys, Change: hist[i]})
	}
	return r
}

func renderReadme(r *report) ([]byte, error) {
	var buf bytes.Buffer
	if err := readmeTemplate.Execute(&buf, r); err != nil {
		return nil, fmt.Errorf("README.txt: %w", err)
	}
	return buf.Bytes(), nil
}

func renderReport(r *report) ([]byte, error) {
	var buf bytes.Buffer
	if err := reportTemplate.Execute(&buf, r); err != nil {
		return nil, fmt.Errorf("REPORT.html: %w", err)
	}
	return buf.Bytes(), nil
}

var funcs = map[string]any{
	"hex":  func(d string) string { return strings.TrimPrefix(d, "sha256:") },
	"join": strings.Join,
	"inc":  func(i int) int { return i + 1 },
}

var readmeTemplate = texttemplate.Must(texttemplate.New("README.txt").Funcs(funcs).Parse(readmeText))
var reportTemplate = htmltemplate.Must(htmltemplate.New("REPORT.html").Funcs(funcs).Parse(reportHTML))
