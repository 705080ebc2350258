package record

import "strings"

// TrainingRun is the predicate of kind "training-run": the base model, the
// method, the configuration, the code and environment, the hardware and
// compute, the data used and the weights produced (EU AI Act Annex IV 1(c),
// 2(a)-(c), the GPAI one-third-compute rule, SR 11-7 change control).
type TrainingRun struct {
	Common
	BaseModel       BaseModel            `json:"baseModel"`
	Method          string               `json:"method"`
	Hyperparameters map[string]string    `json:"hyperparameters,omitempty"`
	Code            CodeRef              `json:"code"`
	ContainerImage  ImageRef             `json:"containerImage"`
	Frameworks      map[string]string    `json:"frameworks,omitempty"`
	Hardware        Hardware             `json:"hardware"`
	Compute         Compute              `json:"compute"`
	Datasets        []DatasetUse         `json:"datasets"`
	Outputs         []ResourceDescriptor `json:"outputs,omitempty"`
}

// BaseModel identifies the model fine-tuned: by digest, by hub repository
// and revision, or both.
type BaseModel struct {
	Descriptor    *ResourceDescriptor `json:"descriptor,omitempty"`
	Hub           *HubRef             `json:"hub,omitempty"`
	Licence       *Licence            `json:"licence,omitempty"`
	TrainingFLOPs string              `json:"trainingFlops,omitempty"`
}

// HubRef names a model on a model hub at a pinned revision.
type HubRef struct {
	Repo     string `json:"repo"`
	Revision string `json:"revision"`
}

// CodeRef pins the training code to a commit.
type CodeRef struct {
	Repo   string `json:"repo"`
	Commit string `json:"commit"`
	Dirty  *bool  `json:"dirty,omitempty"`
}

// ImageRef pins a container image by digest; Name is informative.
type ImageRef struct {
	Name   string `json:"name,omitempty"`
	Digest string `json:"digest"`
}

// Hardware describes the accelerators used.
type Hardware struct {
	Accelerator      string `json:"accelerator"`
	AcceleratorCount int    `json:"acceleratorCount"`
	Nodes            int    `json:"nodes"`
}

// Compute estimates the compute spent; numbers as decimal strings.
type Compute struct {
	FLOPs            string `json:"flops"`
	FLOPsMethod      string `json:"flopsMethod"`
	GPUHours         string `json:"gpuHours,omitempty"`
	WallClockSeconds string `json:"wallClockSeconds,omitempty"`
}

// DatasetUse is one dataset a run consumed: by the digest of its dataset
// record, by descriptor, or both.
type DatasetUse struct {
	Record     string              `json:"record,omitempty"`
	Descriptor *ResourceDescriptor `json:"descriptor,omitempty"`
	Role       string              `json:"role"`
}

var trainingMethods = []string{"full", "lora", "qlora", "dora", "prefix-tuning", "dpo", "rlhf", "continued-pretraining", "other"}

// CommonFields returns the common fields.
func (p *TrainingRun) CommonFields() Common { return p.Common }

// Validate checks the predicate; see spec/predicates/training-run.md.
func (p *TrainingRun) Validate() error {
	c := &checker{}
	c.common(&p.Common, true)
	c.baseModel("baseModel", p.BaseModel)
	c.enum("method", p.Method, true, trainingMethods...)
	c.stringMap("hyperparameters", p.Hyperparameters, MaxText)
	c.str("code.repo", p.Code.Repo, true, MaxURI)
	c.match("code.commit", p.Code.Commit, true, 64, reCommit, "a lowercase hex commit id (40 or 64 digits)")
	c.str("containerImage.name", p.ContainerImage.Name, false, MaxURI)
	c.digest("containerImage.digest", p.ContainerImage.Digest, true)
	c.stringMap("frameworks", p.Frameworks, MaxShort)
	c.str("hardware.accelerator", p.Hardware.Accelerator, true, MaxShort)
	c.intRange("hardware.acceleratorCount", int64(p.Hardware.AcceleratorCount), 0, 1<<20)
	c.intRange("hardware.nodes", int64(p.Hardware.Nodes), 1, 1<<20)
	c.nonNegative("compute.flops", p.Compute.FLOPs, true)
	c.str("compute.flopsMethod", p.Compute.FLOPsMethod, true, MaxShort)
	c.nonNegative("compute.gpuHours", p.Compute.GPUHours, false)
	c.nonNegative("compute.wallClockSeconds", p.Compute.WallClockSeconds, false)
	c.count("datasets", len(p.Datasets), true, MaxList)
	for i, d := range p.Datasets {
		c.datasetUse(index("datasets", i), d)
	}
	c.rds("outputs", p.Outputs, false, MaxContent)
	return c.err()
}

func (c *checker) baseModel(path string, b BaseModel) {
	if b.Descriptor == nil && b.Hub == nil {
		c.add(path, ErrMissing, "needs descriptor or hub")
	}
	if b.Descriptor != nil {
		c.rd(path+".descriptor", b.Descriptor, true)
	}
	if b.Hub != nil {
		c.str(path+".hub.repo", b.Hub.Repo, true, MaxShort)
		c.str(path+".hub.revision", b.Hub.Revision, true, MaxShort)
	}
	if b.Licence != nil {
		c.licence(path+".licence", *b.Licence, true)
	}
	if b.TrainingFLOPs != "unknown" {
		c.nonNegative(path+".trainingFlops", b.TrainingFLOPs, false)
	}
}

func (c *checker) datasetUse(path string, d DatasetUse) {
	if d.Record == "" && d.Descriptor == nil {
		c.add(path, ErrMissing, "needs record or descriptor")
	}
	c.digest(path+".record", d.Record, false)
	if d.Descriptor != nil {
		c.rd(path+".descriptor", d.Descriptor, true)
	}
	c.enum(path+".role", d.Role, true, "train", "validation", "test", "eval", "reference")
}

// nonNegative checks a decimal string without a minus sign.
func (c *checker) nonNegative(path, s string, required bool) {
	if _, ok := c.decimal(path, s, required); ok && strings.HasPrefix(s, "-") {
		c.add(path, ErrRange, "%s, want >= 0", s)
	}
}

const trainingRunTemplate = `{
 "runId": "llama3-ft-2026-11-27-001", "attempt": 1, "producedAt": "2026-11-27T18:40:02Z",
 "producer": {"id": "workload:pipeline/train", "name": "training pipeline", "kind": "workload"},
 "externalRefs": [{"system": "slurm", "id": "job-884213"}],
 "timeEvidence": {"digest": "sha256:4d7a9e1c3b5f2a6d8e0c1b3a5f7e9d2c4b6a8f0e1d3c5b7a9f2e4d6c8b0a1f3e"},
 "baseModel": {
  "descriptor": {"name": "meta-llama/Llama-3.1-8B", "digest": {"sha256": "7d865e959b2466918c9863afca942d0fb89d7c9ac0c99bafc3749504ded97730"}},
  "hub": {"repo": "meta-llama/Llama-3.1-8B", "revision": "d04e592bb4f6aa9cfee91e2e20afa771667e1d4b"},
  "licence": {"spdx": "LicenseRef-llama3.1-community"},
  "trainingFlops": "1.224e24"},
 "method": "lora",
 "hyperparameters": {"learning_rate": "2e-4", "epochs": "3", "lora_r": "16", "lora_alpha": "32", "scheduler": "cosine", "seed": "1234"},
 "code": {"repo": "https://git.internal/ml/finetune", "commit": "9fceb02d0ae598e95dc970b74767f19372d61af8", "dirty": false},
 "containerImage": {"name": "registry.internal/ml/train:2026.11", "digest": "sha256:3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d"},
 "frameworks": {"torch": "2.9.1", "transformers": "4.57.0", "peft": "0.17.1", "cuda": "12.8"},
 "hardware": {"accelerator": "NVIDIA H100 80GB", "acceleratorCount": 8, "nodes": 1},
 "compute": {"flops": "6.1e19", "flopsMethod": "6*N*D approximation", "gpuHours": "38.5", "wallClockSeconds": "17325"},
 "datasets": [{"record": "sha256:a1fce4363854ff888cff4b8e7875d600c2682390412a8cf79b37d0b11148b0fa", "role": "train"},
  {"descriptor": {"name": "eval-holdout", "digest": {"sha256": "2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6"}}, "role": "validation"}],
 "outputs": [{"name": "adapter_model.safetensors", "mediaType": "application/octet-stream", "digest": {"sha256": "18ac3e7343f016890c510e93f935261169d9e3f565436429830faf0934f4f8e4"}, "annotations": {"size": 167832240}}]
}`
