// Package run builds and parses the run root: the small, deterministic OCI
// image manifest that identifies one training run everywhere.
//
// A run root is an OCI image manifest (SPEC.md "Run root") whose artifactType
// is ArtifactType, whose config is the OCI empty JSON blob, and whose single
// layer is the run's registration document. Its manifest digest is the run's
// identity: every record of the run names it as subject[0] of its in-toto
// statement, and every record manifest in a registry names it as its OCI
// subject. The same registration always gives the same bytes and digest.
package run

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Media types and annotations of the run root (SPEC.md "Run root").
const (
	ArtifactType             = "application/vnd.dossier.run.v1"
	RegistrationMediaType    = "application/vnd.dossier.run.registration.v1+json"
	AnnotationRunID          = "dev.dossier.run.id"
	AnnotationProject        = "dev.dossier.run.project"
	RegistrationTitle        = "registration.json"
	maxRegistrationSize      = 64 << 10
	maxManifestSize          = 16 << 10
	emptyJSON                = "{}"
	subjectNamePrefix        = "run:"
	tagPrefix                = "run-"
	registrationSchemaPrefix = "https://dossier.dev/run/registration/v1"
)

// ErrInvalid is returned when a registration or run root breaks a rule of
// SPEC.md "Run root". The wrapped message names the field.
var ErrInvalid = errors.New("invalid run root")

// idPattern keeps run ids usable inside an OCI tag ("run-" + id, at most 128
// characters) and inside file names.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

// Identity names who or what did something: a person or a workload.
type Identity struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	Kind string `json:"kind"`
}

// Registration is the run's registration document, the single layer of the
// run root. Field order is the serialization order.
type Registration struct {
	Schema      string   `json:"schema"`
	RunID       string   `json:"runId"`
	Project     string   `json:"project"`
	Model       string   `json:"model"`
	StartedBy   Identity `json:"startedBy"`
	StartedAt   string   `json:"startedAt"`
	Description string   `json:"description,omitempty"`
}

// Root is a run root: the registration and the exact bytes of its blobs.
type Root struct {
	Registration Registration
	// RegistrationJSON, Config and Manifest are the blobs, byte for byte.
	RegistrationJSON []byte
	Config           []byte
	Manifest         []byte
	// Descriptor describes Manifest.
	Descriptor ocispec.Descriptor
}

// New validates reg and builds its run root. Schema is filled in when empty.
func New(reg Registration) (*Root, error) {
	if reg.Schema == "" {
		reg.Schema = registrationSchemaPrefix
	}
	if err := reg.Validate(); err != nil {
		return nil, err
	}
	regJSON, err := json.Marshal(reg)
	if err != nil {
		return nil, fmt.Errorf("encoding registration: %w", err)
	}
	regJSON = append(regJSON, '\n')
	m := ocispec.Manifest{
		MediaType:    ocispec.MediaTypeImageManifest,
		ArtifactType: ArtifactType,
		Config:       emptyDescriptor(),
		Layers: []ocispec.Descriptor{{
			MediaType:   RegistrationMediaType,
			Digest:      digest.FromBytes(regJSON),
			Size:        int64(len(regJSON)),
			Annotations: map[string]string{ocispec.AnnotationTitle: RegistrationTitle},
		}},
		Annotations: map[string]string{
			ocispec.AnnotationCreated: reg.StartedAt,
			AnnotationRunID:           reg.RunID,
			AnnotationProject:         reg.Project,
		},
	}
	m.SchemaVersion = 2
	manifest, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encoding run root manifest: %w", err)
	}
	return &Root{
		Registration:     reg,
		RegistrationJSON: regJSON,
		Config:           []byte(emptyJSON),
		Manifest:         manifest,
		Descriptor: ocispec.Descriptor{
			MediaType:    ocispec.MediaTypeImageManifest,
			ArtifactType: ArtifactType,
			Digest:       digest.FromBytes(manifest),
			Size:         int64(len(manifest)),
		},
	}, nil
}

func emptyDescriptor() ocispec.Descriptor {
	return ocispec.Descriptor{
		MediaType: ocispec.MediaTypeEmptyJSON,
		Digest:    digest.FromBytes([]byte(emptyJSON)),
		Size:      int64(len(emptyJSON)),
	}
}

// Validate checks the registration against SPEC.md "Run root".
func (r Registration) Validate() error {
	switch {
	case r.Schema != registrationSchemaPrefix:
		return fmt.Errorf("%w: schema %q, want %q", ErrInvalid, r.Schema, registrationSchemaPrefix)
	case !idPattern.MatchString(r.RunID):
		return fmt.Errorf("%w: runId %q: want 1-100 characters of A-Z a-z 0-9 . _ - starting with a letter or digit", ErrInvalid, r.RunID)
	case r.Project == "" || len(r.Project) > 200:
		return fmt.Errorf("%w: project: want 1-200 characters", ErrInvalid)
	case r.Model == "" || len(r.Model) > 200:
		return fmt.Errorf("%w: model: want 1-200 characters", ErrInvalid)
	case r.StartedBy.ID == "" || len(r.StartedBy.ID) > 200:
		return fmt.Errorf("%w: startedBy.id: want 1-200 characters", ErrInvalid)
	case r.StartedBy.Kind != "person" && r.StartedBy.Kind != "workload":
		return fmt.Errorf("%w: startedBy.kind %q: want person or workload", ErrInvalid, r.StartedBy.Kind)
	case len(r.Description) > 4000:
		return fmt.Errorf("%w: description: longer than 4000 characters", ErrInvalid)
	}
	t, err := time.Parse(time.RFC3339Nano, r.StartedAt)
	if err != nil || t.Location() != time.UTC || r.StartedAt[len(r.StartedAt)-1] != 'Z' {
		return fmt.Errorf("%w: startedAt %q: want an RFC 3339 UTC time ending in Z", ErrInvalid, r.StartedAt)
	}
	return nil
}

// Digest returns the run root digest, "sha256:<hex>".
func (r *Root) Digest() string { return r.Descriptor.Digest.String() }

// Hex returns the run root digest's hex part, as cosign's --digest wants it.
func (r *Root) Hex() string { return r.Descriptor.Digest.Encoded() }

// SubjectName is the name of the in-toto subject that designates the run.
func (r *Root) SubjectName() string { return subjectNamePrefix + r.Registration.RunID }

// Tag is the OCI tag of the run root in a repository.
func (r *Root) Tag() string { return tagPrefix + r.Registration.RunID }

// Parse rebuilds a run root from its manifest and registration bytes and
// checks that they are exactly what New produces for that registration, so
// a verifier accepts only canonical run roots.
func Parse(manifest, registration []byte) (*Root, error) {
	if len(manifest) > maxManifestSize || len(registration) > maxRegistrationSize {
		return nil, fmt.Errorf("%w: run root larger than allowed", ErrInvalid)
	}
	dec := json.NewDecoder(bytes.NewReader(registration))
	dec.DisallowUnknownFields()
	var reg Registration
	if err := dec.Decode(&reg); err != nil {
		return nil, fmt.Errorf("%w: decoding registration: %v", ErrInvalid, err)
	}
	root, err := New(reg)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(root.RegistrationJSON, registration) {
		return nil, fmt.Errorf("%w: registration is not in canonical form", ErrInvalid)
	}
	if !bytes.Equal(root.Manifest, manifest) {
		got := sha256.Sum256(manifest)
		return nil, fmt.Errorf("%w: manifest sha256:%s is not the canonical run root of registration %q (want %s)",
			ErrInvalid, hex.EncodeToString(got[:]), reg.RunID, root.Digest())
	}
	return root, nil
}
