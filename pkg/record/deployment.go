package record

// Deployment is the predicate of kind "deployment": a released model put
// into service in an environment (EU AI Act Art. 12(2)(a) change events,
// SR 11-7 inventory "implemented for use"). Its statement's subject[0] is
// {"name":"deployment:<environment>","digest":{"sha256": weights}}.
type Deployment struct {
	Common
	ModelRelease string `json:"modelRelease"`
	Weights      string `json:"weights"`
	Environment  string `json:"environment"`
	Location     string `json:"location"`
	DeployedAt   string `json:"deployedAt"`
}

// CommonFields returns the common fields.
func (p *Deployment) CommonFields() Common { return p.Common }

// Validate checks the predicate; see spec/predicates/deployment.md.
func (p *Deployment) Validate() error {
	c := &checker{}
	c.common(&p.Common, false)
	c.digest("modelRelease", p.ModelRelease, true)
	c.digest("weights", p.Weights, true)
	c.match("environment", p.Environment, true, 64, reRole, "an environment name like production")
	c.str("location", p.Location, true, MaxShort)
	c.timestamp("deployedAt", p.DeployedAt, true)
	return c.err()
}

// deploymentSubject: {"name":"deployment:<environment>","digest":{"sha256":
// weights}}.
func deploymentSubject(_ []byte, p Predicate) (ResourceDescriptor, error) {
	d := p.(*Deployment)
	return digestSubject("deployment:"+d.Environment, d.Weights), nil
}

const deploymentTemplate = `{
 "producedAt": "2026-12-01T07:30:00Z",
 "producer": {"id": "workload:deploy/argo", "name": "deployment pipeline", "kind": "workload"},
 "timeEvidence": {"digest": "sha256:4d7a9e1c3b5f2a6d8e0c1b3a5f7e9d2c4b6a8f0e1d3c5b7a9f2e4d6c8b0a1f3e"},
 "modelRelease": "sha256:0263829989b6fd954f72baaf2fc64bc2e2f01d692d4de72986ea808f6e99813f",
 "weights": "sha256:18ac3e7343f016890c510e93f935261169d9e3f565436429830faf0934f4f8e4",
 "environment": "production",
 "location": "on-prem cluster fra-2, namespace support-assistant",
 "deployedAt": "2026-12-01T07:29:41Z"
}`
