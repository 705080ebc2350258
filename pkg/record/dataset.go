package record

// Dataset is the predicate of kind "dataset": where one dataset comes from,
// under which licence and legal basis, how it was preprocessed, whether it
// holds personal data, and the digests of its content (EU AI Act Art. 10 and
// Annex IV 2(d), HIPAA 164.312(b)).
type Dataset struct {
	Common
	Name             string               `json:"name"`
	Version          string               `json:"version"`
	Role             string               `json:"role,omitempty"`
	Sources          []DataSource         `json:"sources"`
	Licence          Licence              `json:"licence"`
	LegalBasis       string               `json:"legalBasis,omitempty"`
	DataUseAgreement string               `json:"dataUseAgreement,omitempty"`
	Preprocessing    []PreprocessingStep  `json:"preprocessing,omitempty"`
	PersonalData     PersonalData         `json:"personalData"`
	Statistics       *DatasetStatistics   `json:"statistics,omitempty"`
	Content          []ResourceDescriptor `json:"content,omitempty"`
	Manifest         *ResourceDescriptor  `json:"manifest,omitempty"`
}

// DataSource is one origin of a dataset.
type DataSource struct {
	URI              string  `json:"uri"`
	Description      string  `json:"description,omitempty"`
	CollectionPeriod *Period `json:"collectionPeriod,omitempty"`
}

// Period is a closed time interval.
type Period struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// Licence names a licence by SPDX expression, by the digest of its text,
// or both.
type Licence struct {
	SPDX    string `json:"spdx,omitempty"`
	TextRef string `json:"textRef,omitempty"`
}

// PreprocessingStep is one step of the ordered preprocessing chain.
type PreprocessingStep struct {
	Operation    string `json:"operation"`
	Tool         string `json:"tool"`
	Version      string `json:"version"`
	ParamsDigest string `json:"paramsDigest,omitempty"`
	InputDigest  string `json:"inputDigest,omitempty"`
	OutputDigest string `json:"outputDigest,omitempty"`
}

// PersonalData states whether the dataset holds personal data or PHI and
// how it was de-identified.
type PersonalData struct {
	Present          *bool  `json:"present"`
	PHI              *bool  `json:"phi"`
	Deidentification string `json:"deidentification"`
}

// DatasetStatistics counts the dataset; integers as decimal strings.
type DatasetStatistics struct {
	Records string `json:"records"`
	Files   string `json:"files,omitempty"`
	Bytes   string `json:"bytes,omitempty"`
}

// Deidentification methods.
var deidentificationMethods = []string{"none", "safe-harbor", "expert-determination", "pseudonymisation", "anonymisation", "aggregation", "other"}

// CommonFields returns the common fields.
func (p *Dataset) CommonFields() Common { return p.Common }

// Validate checks the predicate; see spec/predicates/dataset.md.
func (p *Dataset) Validate() error {
	c := &checker{}
	c.common(&p.Common, true)
	c.str("name", p.Name, true, MaxShort)
	c.str("version", p.Version, true, MaxShort)
	c.enum("role", p.Role, false, "train", "validation", "test", "eval", "reference")
	c.count("sources", len(p.Sources), true, MaxList)
	for i, s := range p.Sources {
		c.source(index("sources", i), s)
	}
	c.licence("licence", p.Licence, true)
	c.str("legalBasis", p.LegalBasis, false, MaxText)
	c.digest("dataUseAgreement", p.DataUseAgreement, false)
	c.count("preprocessing", len(p.Preprocessing), false, MaxList)
	for i, s := range p.Preprocessing {
		c.step(index("preprocessing", i), s)
	}
	c.personalData("personalData", p.PersonalData, p.LegalBasis)
	if p.Statistics != nil {
		c.counter("statistics.records", p.Statistics.Records, true)
		c.counter("statistics.files", p.Statistics.Files, false)
		c.counter("statistics.bytes", p.Statistics.Bytes, false)
	}
	c.rds("content", p.Content, false, MaxContent)
	if p.Manifest != nil {
		c.rd("manifest", p.Manifest, false)
	}
	return c.err()
}

func (c *checker) source(path string, s DataSource) {
	c.str(path+".uri", s.URI, true, MaxURI)
	c.str(path+".description", s.Description, false, MaxText)
	if s.CollectionPeriod != nil {
		c.period(path+".collectionPeriod", *s.CollectionPeriod)
	}
}

func (c *checker) period(path string, p Period) {
	from, ok1 := c.timestamp(path+".from", p.From, true)
	to, ok2 := c.timestamp(path+".to", p.To, true)
	if ok1 && ok2 && to.Before(from) {
		c.add(path, ErrInconsistent, "to %s is before from %s", p.To, p.From)
	}
}

func (c *checker) licence(path string, l Licence, required bool) {
	if required && l.SPDX == "" && l.TextRef == "" {
		c.add(path, ErrMissing, "needs spdx or textRef")
	}
	c.match(path+".spdx", l.SPDX, false, MaxShort, reSPDX, "an SPDX licence expression")
	c.digest(path+".textRef", l.TextRef, false)
}

func (c *checker) step(path string, s PreprocessingStep) {
	c.str(path+".operation", s.Operation, true, MaxShort)
	c.str(path+".tool", s.Tool, true, MaxShort)
	c.str(path+".version", s.Version, true, MaxShort)
	c.digest(path+".paramsDigest", s.ParamsDigest, false)
	c.digest(path+".inputDigest", s.InputDigest, false)
	c.digest(path+".outputDigest", s.OutputDigest, false)
}

func (c *checker) personalData(path string, pd PersonalData, legalBasis string) {
	if pd.Present == nil {
		c.add(path+".present", ErrMissing, "")
	}
	if pd.PHI == nil {
		c.add(path+".phi", ErrMissing, "")
	}
	c.enum(path+".deidentification", pd.Deidentification, true, deidentificationMethods...)
	present := pd.Present != nil && *pd.Present
	phi := pd.PHI != nil && *pd.PHI
	if phi && !present {
		c.add(path+".phi", ErrInconsistent, "phi is true but present is false")
	}
	if present && legalBasis == "" {
		c.add("legalBasis", ErrMissing, "required when personalData.present is true")
	}
}

const datasetTemplate = `{
 "runId": "llama3-ft-2026-11-27-001", "attempt": 1, "producedAt": "2026-11-27T09:12:44Z",
 "producer": {"id": "workload:pipeline/data-prep", "name": "data-prep pipeline", "kind": "workload"},
 "externalRefs": [{"system": "mlflow", "id": "run-3f9a2c", "uri": "https://mlflow.internal/#/runs/3f9a2c"}],
 "timeEvidence": {"digest": "sha256:4d7a9e1c3b5f2a6d8e0c1b3a5f7e9d2c4b6a8f0e1d3c5b7a9f2e4d6c8b0a1f3e"},
 "name": "support-tickets-de", "version": "2026.11", "role": "train",
 "sources": [{"uri": "internal:ticketing/export-2026-10", "description": "customer support tickets, German, pseudonymised at export",
   "collectionPeriod": {"from": "2024-01-01T00:00:00Z", "to": "2026-09-30T23:59:59Z"}}],
 "licence": {"spdx": "LicenseRef-internal-use", "textRef": "sha256:8b1a9953c4611296a827abf8c47804d7e6c49c6b7d8a5d3f1e2c4b6a8d0f2e4c"},
 "legalBasis": "GDPR Art. 6(1)(f) legitimate interest; DPIA-2026-014",
 "dataUseAgreement": "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
 "preprocessing": [
  {"operation": "pii-redaction", "tool": "presidio", "version": "2.2.355", "paramsDigest": "sha256:fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9"},
  {"operation": "dedup", "tool": "text-dedup", "version": "0.4.1", "paramsDigest": "sha256:baa5a0964d3320fbc0c6a922140453c8513ea24ab8fd0577034804a967248096"}],
 "personalData": {"present": true, "phi": false, "deidentification": "pseudonymisation"},
 "statistics": {"records": "1284113", "files": "2", "bytes": "2147483648"},
 "content": [
  {"name": "train/part-0001.parquet", "digest": {"sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}, "annotations": {"size": 1073741824}},
  {"name": "train/part-0002.parquet", "digest": {"sha256": "a665a45920422f9d417e4867efdc4fb8a04a1f3fff1fa07e998e86f7f7a27ae3"}, "annotations": {"size": 1073741824}}],
 "manifest": {"name": "dataset-manifest.json", "mediaType": "application/json", "digest": {"sha256": "b5bb9d8014a0f9b1d61e21e796d78dccdf1352f23cd32812f4850b878ae4944c"}}
}`
