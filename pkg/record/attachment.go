package record

// Attachment is the predicate of kind "attachment": a content-addressed
// document (validation report, datasheet, licence text, ...) attached to a
// run, so that a later record can cite it by digest (EU AI Act Annex IV,
// 21 CFR 11.10(b)).
type Attachment struct {
	Common
	Document     ResourceDescriptor `json:"document"`
	Title        string             `json:"title"`
	DocumentKind string             `json:"documentKind"`
}

var documentKinds = []string{"validation-report", "datasheet", "licence", "data-use-agreement", "model-card", "other"}

// CommonFields returns the common fields.
func (p *Attachment) CommonFields() Common { return p.Common }

// Validate checks the predicate; see spec/predicates/attachment.md. The
// document needs a mediaType and a size annotation.
func (p *Attachment) Validate() error {
	c := &checker{}
	c.common(&p.Common, true)
	c.rd("document", &p.Document, true)
	if p.Document.MediaType == "" {
		c.add("document.mediaType", ErrMissing, "")
	}
	if _, ok := p.Document.Annotations["size"]; !ok {
		c.add("document.annotations.size", ErrMissing, "")
	}
	c.str("title", p.Title, true, MaxShort)
	c.enum("documentKind", p.DocumentKind, true, documentKinds...)
	return c.err()
}

const attachmentTemplate = `{
 "runId": "llama3-ft-2026-11-27-001", "attempt": 1, "producedAt": "2026-11-27T21:00:00Z",
 "producer": {"id": "person:e12345", "name": "Jane Q. Doe", "kind": "person"},
 "document": {"name": "validation-report-support-assistant-de-1.3.0.pdf", "mediaType": "application/pdf",
  "digest": {"sha256": "c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2"}, "annotations": {"size": 482113}},
 "title": "Validation report, support-assistant-de 1.3.0",
 "documentKind": "validation-report"
}`
