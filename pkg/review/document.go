package review

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/dossier-audit/dossier/pkg/record"
)

// Write appends p: html/template executes the rare sections into w.
func (w *writer) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// document writes the review document of v. The static markup is the
// former single html/template page's, byte for byte; every value lands in
// HTML text (or the title's RCDATA, escaped alike) and is escaped by text.
// The sections with one entry per record are written here; the release,
// training and plan sections, a few entries in any run, are html/template
// fragments (template.go).
func document(v *view) ([]byte, error) {
	w := &writer{}
	w.reserve(estimate(v) + estimateFull(v.Full))
	w.head(v)
	w.records(v)
	if err := w.fragment("releases", v.Releases); err != nil {
		return nil, err
	}
	w.raw("\n\n<h2>3. Datasets</h2>\n")
	w.datasets(v.Datasets)
	w.raw("\n\n<h2>4. Training configuration</h2>\n")
	if err := w.fragment("training", v.Training); err != nil {
		return nil, err
	}
	w.raw("\n\n<h2>5. Evaluations against the signed plan</h2>\n")
	if err := w.fragment("plans", v.Plans); err != nil {
		return nil, err
	}
	w.evaluations(v.Evaluations)
	w.times(v)
	w.attachments(v)
	w.changes(v)
	w.approvals(v)
	if err := w.full(v.Full); err != nil {
		return nil, err
	}
	w.raw("\n</body></html>\n")
	return w.b, nil
}

func (w *writer) fragment(name string, data any) error {
	if err := fragments.ExecuteTemplate(w, name, data); err != nil {
		return fmt.Errorf("render review: %w", err)
	}
	return nil
}

func (w *writer) head(v *view) {
	w.raw(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="generator" content="dossier review v1">
<title>Review of run `)
	w.text(v.RunID)
	w.raw(`</title>
<style>body{font-family:sans-serif;max-width:70em;margin:2em auto;line-height:1.4}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #999;padding:.2em .5em;text-align:left;vertical-align:top}
code,pre{font-family:monospace;font-size:.9em;word-break:break-all}.fail{font-weight:bold;color:#a00}</style>
</head><body>
<h1>Review of run <code>`)
	w.text(v.RunID)
	w.raw(`</code></h1>
<p>This is the canonical review document of the run. An approval signed over it names the
SHA-256 digest of these exact bytes (<code>renderedViewDigest</code>) and lists exactly the
`)
	w.int(int64(len(v.Reviewed)))
	w.raw(` record digest(s) below (<code>reviewedRecords</code>).`)
	if v.RunRoot != "" {
		w.raw(` Run root: <code>`)
		w.text(v.RunRoot)
		w.raw(`</code>.`)
	}
	w.raw("</p>\n\n<h2>1. Records reviewed</h2>\n<ol>")
}

// records writes section 1 after its heading: the reviewed digests, the
// manifest and the table of records, up to the next heading.
func (w *writer) records(v *view) {
	for _, d := range v.Reviewed {
		w.raw("<li><code>")
		w.text(d)
		w.raw("</code></li>")
	}
	w.raw("</ol>\n<p>Machine-readable manifest of this review:</p>\n" + manifestOpen)
	w.text(v.Manifest)
	w.raw(manifestClose + "\n<table><tr><th>log index</th><th>kind</th><th>record digest</th><th>signed by key</th><th>key owner</th></tr>\n")
	for _, r := range v.Records {
		w.raw("<tr><td>")
		w.uint(r.Index)
		w.cell("</td><td>", r.Kind)
		w.cell("</td><td><code>", r.Digest)
		w.cell("</code></td><td><code>", r.Signer)
		w.cell("</code></td><td>", r.Signed)
		w.raw("</td></tr>\n")
	}
	w.raw("</table>\n\n<h2>2. Model release</h2>\n")
}

// cell writes markup then escaped text.
func (w *writer) cell(markup, s string) {
	w.raw(markup)
	w.text(s)
}

func (w *writer) datasets(ds []*record.Dataset) {
	if len(ds) == 0 {
		w.raw("<p>No dataset records.</p>")
	}
	for _, d := range ds {
		w.cell("<h3>", d.Name)
		w.cell(" ", d.Version)
		if d.Role != "" {
			w.cell(" (", d.Role)
			w.raw(")")
		}
		w.raw("</h3>\n<p>Licence: ")
		w.text(d.Licence.SPDX)
		if d.Licence.TextRef != "" {
			w.cell(" text <code>", d.Licence.TextRef)
			w.raw("</code>")
		}
		w.raw(".")
		if d.LegalBasis != "" {
			w.cell(" Legal basis: ", d.LegalBasis)
			w.raw(".")
		}
		w.raw("</p>\n<ul>")
		for _, s := range d.Sources {
			w.cell("<li>source ", s.URI)
			if s.Description != "" {
				w.cell(": ", s.Description)
			}
			w.raw("</li>")
		}
		w.raw("</ul>\n<table><tr><th>content</th><th>sha256</th></tr>")
		if m := d.Manifest; m != nil {
			w.cell("<tr><td>manifest ", m.Name)
			w.cell("</td><td><code>", m.Digest["sha256"])
			w.raw("</code></td></tr>")
		}
		for _, c := range d.Content {
			w.cell("<tr><td>", c.Name)
			w.cell("</td><td><code>", c.Digest["sha256"])
			w.raw("</code></td></tr>")
		}
		w.raw("</table>\n")
	}
}

func (w *writer) evaluations(rows []evalRow) {
	w.raw("\n<table><tr><th>evaluation</th><th>benchmark</th><th>metric</th><th>value</th><th>plan threshold</th><th>pipeline's own threshold</th><th>against the plan</th></tr>\n")
	for _, r := range rows {
		w.cell("<tr><td><code>", r.Digest)
		w.cell("</code></td><td>", r.Benchmark)
		w.cell("</td><td>", r.Metric)
		w.cell("</td><td>", r.Value)
		w.cell("</td><td>", r.Plan)
		w.cell("</td><td>", r.Pipeline)
		w.raw("</td><td")
		if r.Result != "meets" {
			w.raw(` class="fail"`)
		}
		w.cell(">", r.Result)
		w.raw("</td></tr>\n")
	}
	w.raw("</table>\n\n<h2>6. Time evidence</h2>\n")
}

func (w *writer) times(v *view) {
	w.raw("<table><tr><th>checked at</th><th>verdict</th><th>max error (ns)</th><th>agreeing / required</th><th>diagnosis</th></tr>\n")
	for _, t := range v.Time {
		w.cell("<tr><td>", t.CheckedAt)
		w.cell("</td><td>", t.Verdict)
		w.raw("</td><td>")
		w.int(t.MaxErrorNs)
		w.raw("</td><td>")
		w.int(int64(t.Agreeing))
		w.raw(" / ")
		w.int(int64(t.Required))
		w.cell("</td><td>", t.Diagnosis)
		w.raw("</td></tr>\n")
	}
	w.raw("</table>\n\n<h2>7. Attachments</h2>\n")
}

func (w *writer) attachments(v *view) {
	w.raw("<table><tr><th>title</th><th>kind</th><th>document</th><th>media type</th><th>sha256</th></tr>\n")
	for _, a := range v.Attachments {
		w.cell("<tr><td>", a.Title)
		w.cell("</td><td>", a.DocumentKind)
		w.cell("</td><td>", a.Document.Name)
		w.cell("</td><td>", a.Document.MediaType)
		w.cell("</td><td><code>", a.Document.Digest["sha256"])
		w.raw("</code></td></tr>\n")
	}
	w.raw("</table>\n\n<h2>8. Changes since the last approved version</h2>\n")
}

func (w *writer) changes(v *view) {
	if !v.HasPrevious {
		w.raw("<p>No previous approved version was given: this is reviewed as a first release.</p>")
		return
	}
	w.raw("<p>Compared with ")
	if v.PreviousLabel != "" {
		w.text(v.PreviousLabel)
	} else {
		w.raw("the previous version's records")
	}
	w.raw("; run ids, attempts, production times and time-evidence references are not compared.</p>\n<table><tr><th>item</th><th>field</th><th>before</th><th>now</th></tr>\n")
	if len(v.Diff) == 0 {
		w.raw(`<tr><td colspan="4">no changes</td></tr>`)
	}
	for _, c := range v.Diff {
		w.cell("<tr><td>", c.Item)
		w.cell("</td><td><code>", c.Path)
		w.cell("</code></td><td><code>", c.Old)
		w.cell("</code></td><td><code>", c.New)
		w.raw("</code></td></tr>\n")
	}
	w.raw("</table>\n")
}

func (w *writer) approvals(v *view) {
	w.raw("\n\n<h2>9. Approvals already logged for this run</h2>\n<table><tr><th>printed name</th><th>signed at</th><th>meaning</th><th>decision</th><th>records</th></tr>\n")
	for _, a := range v.Approvals {
		w.cell("<tr><td>", a.Signer.PrintedName)
		w.cell("</td><td>", a.SignedAt)
		w.cell("</td><td>", a.Meaning)
		w.cell("</td><td>", a.Decision)
		w.raw("</td><td>")
		w.int(int64(len(a.ReviewedRecords)))
		w.raw("</td></tr>\n")
	}
	w.raw("</table>\n\n<h2>10. Full records</h2>\n")
}

// full writes each record's predicate as indented JSON (json.Encoder with
// SetEscapeHTML(false) and SetIndent("", "  ")), escaped as text: encoded
// compact once into a scratch buffer, indented and escaped in one pass.
// When the next record might not fit, the document grows once for all
// remaining records, by their average size so far.
func (w *writer) full(fs []full) error {
	var js bytes.Buffer
	enc := json.NewEncoder(&js)
	enc.SetEscapeHTML(false)
	start := len(w.b)
	for i, f := range fs {
		js.Reset()
		if err := enc.Encode(f.Predicate); err != nil {
			return fmt.Errorf("%w: record %s: %w", ErrInput, f.Digest, err)
		}
		if need := 3*js.Len() + 4*len(f.Digest) + 256; cap(w.b)-len(w.b) < need {
			avg := (len(w.b) - start + need) / (i + 1)
			w.reserve(max(need, avg*(len(fs)-i)*9/8))
		}
		w.cell("<details><summary>", f.Kind)
		w.cell(" <code>", f.Digest)
		w.raw("</code></summary><pre>")
		w.b = appendIndentedText(w.b, js.Bytes())
		w.raw("</pre></details>\n")
	}
	return nil
}

// estimateFull is the size of the full records if every record of a kind
// is as large as the first of its kind (which it writes aside to know).
func estimateFull(fs []full) int {
	size := map[string]int{}
	var js bytes.Buffer
	enc := json.NewEncoder(&js)
	enc.SetEscapeHTML(false)
	var scratch []byte
	n := 0
	for _, f := range fs {
		if _, ok := size[f.Kind]; !ok {
			js.Reset()
			_ = enc.Encode(f.Predicate) // full reports an error
			scratch = appendIndentedText(scratch[:0], js.Bytes())
			size[f.Kind] = len(scratch)
		}
		n += 80 + len(f.Kind) + len(f.Digest) + size[f.Kind]
	}
	return n * 17 / 16
}

// estimate is a generous size of the document but its full records: the
// values it shows (escaping rarely grows text by a quarter) and the
// markup around them.
func estimate(v *view) int {
	n := 16<<10 + len(v.Manifest) + 300*len(v.Evaluations) + 200*len(v.Time) + 300*len(v.Attachments) + 200*len(v.Approvals)
	for _, d := range v.Reviewed {
		n += 24 + len(d)
	}
	for _, r := range v.Records {
		n += 80 + len(r.Kind) + len(r.Digest) + len(r.Signer) + len(r.Signed)
	}
	for _, d := range v.Datasets {
		n += 250 + len(d.Name) + len(d.Version) + len(d.Role) + len(d.Licence.SPDX) + len(d.Licence.TextRef) + len(d.LegalBasis)
		for _, s := range d.Sources {
			n += 30 + len(s.URI) + len(s.Description)
		}
		n += (60 + 64) * (len(d.Content) + 1)
		for _, c := range d.Content {
			n += len(c.Name)
		}
	}
	for _, c := range v.Diff {
		n += 80 + len(c.Item) + len(c.Path) + len(c.Old) + len(c.New)
	}
	return n * 5 / 4
}
