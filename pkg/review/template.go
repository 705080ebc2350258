package review

import "html/template"

var funcs = template.FuncMap{"deref": func(b *bool) bool { return b != nil && *b }}

// page renders a view. Static HTML, no scripts, no external resources;
// html/template escapes every value.
var page = template.Must(template.New("review").Funcs(funcs).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="generator" content="dossier review v1">
<title>Review of run {{.RunID}}</title>
<style>body{font-family:sans-serif;max-width:70em;margin:2em auto;line-height:1.4}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #999;padding:.2em .5em;text-align:left;vertical-align:top}
code,pre{font-family:monospace;font-size:.9em;word-break:break-all}.fail{font-weight:bold;color:#a00}</style>
</head><body>
<h1>Review of run <code>{{.RunID}}</code></h1>
<p>This is the canonical review document of the run. An approval signed over it names the
SHA-256 digest of these exact bytes (<code>renderedViewDigest</code>) and lists exactly the
{{len .Reviewed}} record digest(s) below (<code>reviewedRecords</code>).
{{- if .RunRoot}} Run root: <code>{{.RunRoot}}</code>.{{end}}</p>

<h2>1. Records reviewed</h2>
<ol>{{range .Reviewed}}<li><code>{{.}}</code></li>{{end}}</ol>
<p>Machine-readable manifest of this review:</p>
<pre id="dossier-review-manifest">{{.Manifest}}</pre>
<table><tr><th>log index</th><th>kind</th><th>record digest</th><th>signed by key</th><th>key owner</th></tr>
{{range .Records}}<tr><td>{{.Index}}</td><td>{{.Kind}}</td><td><code>{{.Digest}}</code></td><td><code>{{.Signer}}</code></td><td>{{.Signed}}</td></tr>
{{end}}</table>

<h2>2. Model release</h2>
{{range .Releases}}<p>Model <b>{{.ModelID}}</b> version <b>{{.Version}}</b>, risk tier {{.RiskTier}}.
{{- if .PreviousVersion}} Replaces version {{.PreviousVersion.Version}} (release record <code>{{.PreviousVersion.Release}}</code>).{{end}}</p>
<p>Intended use: {{.IntendedUse}}</p>
<table><tr><th>weights file</th><th>sha256</th></tr>{{range .Weights}}<tr><td>{{.Name}}</td><td><code>{{index .Digest "sha256"}}</code></td></tr>{{end}}</table>
{{range .Limitations}}<p>Limitation: {{.}}</p>{{end}}
{{else}}<p>No model-release record.</p>{{end}}

<h2>3. Datasets</h2>
{{range .Datasets}}<h3>{{.Name}} {{.Version}}{{if .Role}} ({{.Role}}){{end}}</h3>
<p>Licence: {{if .Licence.SPDX}}{{.Licence.SPDX}}{{end}}{{if .Licence.TextRef}} text <code>{{.Licence.TextRef}}</code>{{end}}.
{{- if .LegalBasis}} Legal basis: {{.LegalBasis}}.{{end}}</p>
<ul>{{range .Sources}}<li>source {{.URI}}{{if .Description}}: {{.Description}}{{end}}</li>{{end}}</ul>
<table><tr><th>content</th><th>sha256</th></tr>
{{- with .Manifest}}<tr><td>manifest {{.Name}}</td><td><code>{{index .Digest "sha256"}}</code></td></tr>{{end}}
{{- range .Content}}<tr><td>{{.Name}}</td><td><code>{{index .Digest "sha256"}}</code></td></tr>{{end}}</table>
{{else}}<p>No dataset records.</p>{{end}}

<h2>4. Training configuration</h2>
{{range .Training}}<p>Method {{.Method}}; code {{.Code.Repo}} at <code>{{.Code.Commit}}</code>{{if deref .Code.Dirty}} <span class="fail">(dirty tree)</span>{{end}};
container image {{.ContainerImage.Name}} <code>{{.ContainerImage.Digest}}</code>;
hardware {{.Hardware.AcceleratorCount}} × {{.Hardware.Accelerator}} on {{.Hardware.Nodes}} node(s); compute {{.Compute.FLOPs}} FLOPs ({{.Compute.FLOPsMethod}}).</p>
{{with .BaseModel.Hub}}<p>Base model {{.Repo}} at <code>{{.Revision}}</code>.</p>{{end}}
{{with .BaseModel.Descriptor}}<p>Base model file {{.Name}} <code>{{index .Digest "sha256"}}</code>.</p>{{end}}
<table><tr><th>hyper-parameter</th><th>value</th></tr>{{range .Hyper}}<tr><td>{{.Key}}</td><td>{{.Value}}</td></tr>{{end}}</table>
<table><tr><th>dataset used</th><th>role</th></tr>{{range .Datasets}}<tr><td>{{if .Record}}record <code>{{.Record}}</code>{{end}}{{with .Descriptor}} {{.Name}} <code>{{index .Digest "sha256"}}</code>{{end}}</td><td>{{.Role}}</td></tr>{{end}}</table>
{{else}}<p>No training-run record.</p>{{end}}

<h2>5. Evaluations against the signed plan</h2>
{{range .Plans}}<p>Evaluation plan <code>{{.Digest}}</code> for {{.Scope.ModelID}}, to be signed by role {{.SignedByRole}}:</p>
<table><tr><th>benchmark</th><th>metric</th><th>pass if</th></tr>{{range .Metrics}}<tr><td>{{.Benchmark}}</td><td>{{.Metric}}</td><td>{{.Op}} {{.Threshold}}</td></tr>{{end}}</table>
{{else}}<p class="fail">No evaluation plan.</p>{{end}}
<table><tr><th>evaluation</th><th>benchmark</th><th>metric</th><th>value</th><th>plan threshold</th><th>pipeline's own threshold</th><th>against the plan</th></tr>
{{range .Evaluations}}<tr><td><code>{{.Digest}}</code></td><td>{{.Benchmark}}</td><td>{{.Metric}}</td><td>{{.Value}}</td><td>{{.Plan}}</td><td>{{.Pipeline}}</td><td{{if ne .Result "meets"}} class="fail"{{end}}>{{.Result}}</td></tr>
{{end}}</table>

<h2>6. Time evidence</h2>
<table><tr><th>checked at</th><th>verdict</th><th>max error (ns)</th><th>agreeing / required</th><th>diagnosis</th></tr>
{{range .Time}}<tr><td>{{.CheckedAt}}</td><td>{{.Verdict}}</td><td>{{.MaxErrorNs}}</td><td>{{.Agreeing}} / {{.Required}}</td><td>{{.Diagnosis}}</td></tr>
{{end}}</table>

<h2>7. Attachments</h2>
<table><tr><th>title</th><th>kind</th><th>document</th><th>media type</th><th>sha256</th></tr>
{{range .Attachments}}<tr><td>{{.Title}}</td><td>{{.DocumentKind}}</td><td>{{.Document.Name}}</td><td>{{.Document.MediaType}}</td><td><code>{{index .Document.Digest "sha256"}}</code></td></tr>
{{end}}</table>

<h2>8. Changes since the last approved version</h2>
{{if .HasPrevious}}<p>Compared with {{if .PreviousLabel}}{{.PreviousLabel}}{{else}}the previous version's records{{end}}; run ids, attempts, production times and time-evidence references are not compared.</p>
<table><tr><th>item</th><th>field</th><th>before</th><th>now</th></tr>
{{range .Diff}}<tr><td>{{.Item}}</td><td><code>{{.Path}}</code></td><td><code>{{.Old}}</code></td><td><code>{{.New}}</code></td></tr>
{{else}}<tr><td colspan="4">no changes</td></tr>{{end}}</table>
{{else}}<p>No previous approved version was given: this is reviewed as a first release.</p>{{end}}

<h2>9. Approvals already logged for this run</h2>
<table><tr><th>printed name</th><th>signed at</th><th>meaning</th><th>decision</th><th>records</th></tr>
{{range .Approvals}}<tr><td>{{.Signer.PrintedName}}</td><td>{{.SignedAt}}</td><td>{{.Meaning}}</td><td>{{.Decision}}</td><td>{{len .ReviewedRecords}}</td></tr>
{{end}}</table>

<h2>10. Full records</h2>
{{range .Full}}<details><summary>{{.Kind}} <code>{{.Digest}}</code></summary><pre>{{.JSON}}</pre></details>
{{end}}
</body></html>
`))
