package main

import "encoding/json"

// OCI image-spec v1.1 JSON (field order as the image-spec Go types).

const (
	manifestMT = "application/vnd.oci.image.manifest.v1+json"
	indexMT    = "application/vnd.oci.image.index.v1+json"
	emptyMT    = "application/vnd.oci.empty.v1+json"
	recordAT   = "application/vnd.dossier.record.v1"
	refName    = "org.opencontainers.image.ref.name"
	titleAnn   = "org.opencontainers.image.title"
	createdAnn = "org.opencontainers.image.created"
)

type desc struct {
	MediaType    string            `json:"mediaType"`
	Digest       string            `json:"digest"`
	Size         int64             `json:"size"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	ArtifactType string            `json:"artifactType,omitempty"`
}

type manifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	ArtifactType  string            `json:"artifactType,omitempty"`
	Config        desc              `json:"config"`
	Layers        []desc            `json:"layers"`
	Subject       *desc             `json:"subject,omitempty"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

type index struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	ArtifactType  string            `json:"artifactType,omitempty"`
	Manifests     []desc            `json:"manifests"`
	Subject       *desc             `json:"subject,omitempty"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

func descOf(mt string, data []byte) desc {
	return desc{MediaType: mt, Digest: digestOf(data), Size: int64(len(data))}
}

var emptyConfig = desc{MediaType: emptyMT, Digest: emptyDigest, Size: 2}

// refs lists the digests a manifest or index blob refers to.
func refs(data []byte) []string {
	var v struct {
		Config    *desc  `json:"config"`
		Layers    []desc `json:"layers"`
		Manifests []desc `json:"manifests"`
		Subject   *desc  `json:"subject"`
	}
	if json.Unmarshal(data, &v) != nil {
		return nil
	}
	var out []string
	if v.Config != nil {
		out = append(out, v.Config.Digest)
	}
	for _, d := range append(v.Layers, v.Manifests...) {
		out = append(out, d.Digest)
	}
	if v.Subject != nil {
		out = append(out, v.Subject.Digest)
	}
	return out
}
