package review

import "html/template"

var funcs = template.FuncMap{"deref": func(b *bool) bool { return b != nil && *b }}

// fragments are the sections of the document with nested, optional
// structure and a few entries in any run (model releases, training runs,
// evaluation plans), executed by html/template into the document that
// document writes; each starts and ends in HTML text, as the former
// single page template had them.
var fragments = template.Must(template.New("review").Funcs(funcs).Parse(`
{{- define "releases"}}{{range .}}<p>Model <b>{{.ModelID}}</b> version <b>{{.Version}}</b>, risk tier {{.RiskTier}}.
{{- if .PreviousVersion}} Replaces version {{.PreviousVersion.Version}} (release record <code>{{.PreviousVersion.Release}}</code>).{{end}}</p>
<p>Intended use: {{.IntendedUse}}</p>
<table><tr><th>weights file</th><th>sha256</th></tr>{{range .Weights}}<tr><td>{{.Name}}</td><td><code>{{index .Digest "sha256"}}</code></td></tr>{{end}}</table>
{{range .Limitations}}<p>Limitation: {{.}}</p>{{end}}
{{else}}<p>No model-release record.</p>{{end}}{{end}}

{{- define "training"}}{{range .}}<p>Method {{.Method}}; code {{.Code.Repo}} at <code>{{.Code.Commit}}</code>{{if deref .Code.Dirty}} <span class="fail">(dirty tree)</span>{{end}};
container image {{.ContainerImage.Name}} <code>{{.ContainerImage.Digest}}</code>;
hardware {{.Hardware.AcceleratorCount}} × {{.Hardware.Accelerator}} on {{.Hardware.Nodes}} node(s); compute {{.Compute.FLOPs}} FLOPs ({{.Compute.FLOPsMethod}}).</p>
{{with .BaseModel.Hub}}<p>Base model {{.Repo}} at <code>{{.Revision}}</code>.</p>{{end}}
{{with .BaseModel.Descriptor}}<p>Base model file {{.Name}} <code>{{index .Digest "sha256"}}</code>.</p>{{end}}
<table><tr><th>hyper-parameter</th><th>value</th></tr>{{range .Hyper}}<tr><td>{{.Key}}</td><td>{{.Value}}</td></tr>{{end}}</table>
<table><tr><th>dataset used</th><th>role</th></tr>{{range .Datasets}}<tr><td>{{if .Record}}record <code>{{.Record}}</code>{{end}}{{with .Descriptor}} {{.Name}} <code>{{index .Digest "sha256"}}</code>{{end}}</td><td>{{.Role}}</td></tr>{{end}}</table>
{{else}}<p>No training-run record.</p>{{end}}{{end}}

{{- define "plans"}}{{range .}}<p>Evaluation plan <code>{{.Digest}}</code> for {{.Scope.ModelID}}, to be signed by role {{.SignedByRole}}:</p>
<table><tr><th>benchmark</th><th>metric</th><th>pass if</th></tr>{{range .Metrics}}<tr><td>{{.Benchmark}}</td><td>{{.Metric}}</td><td>{{.Op}} {{.Threshold}}</td></tr>{{end}}</table>
{{else}}<p class="fail">No evaluation plan.</p>{{end}}{{end}}`))
