package release

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"time"
)

// Provenance constants: the SLSA provenance v1 predicate type, the in-toto
// statement type and the build type of 'make dist'.
const (
	PredicateSLSAProvenanceV1 = "https://slsa.dev/provenance/v1"
	StatementTypeV1           = "https://in-toto.io/Statement/v1"
	BuildTypeDist             = "https://dossier.dev/buildtypes/offline-release/v1"
)

// ErrProvenance is returned for an incomplete provenance input.
var ErrProvenance = errors.New("incomplete provenance input")

var (
	hexSHA256 = regexp.MustCompile(`^[0-9a-f]{64}$`)
	gitCommit = regexp.MustCompile(`^[0-9a-f]{40}$`)
)

// ProvenanceInput is what the provenance of one bundle says.
type ProvenanceInput struct {
	Artifact     string            // subject name: the bundle tar's file name
	SHA256       string            // its SHA-256, lowercase hex
	Repo         string            // source repository URI, e.g. git+https://...
	Commit       string            // source commit (40 hex)
	Version      string            // release version (git describe)
	Target       string            // the make target that built it ("dist")
	GoVersion    string            // e.g. go1.26.8
	GoSHA256     string            // SHA-256 of the go command that built it (optional)
	Modules      map[string]string // "path@version" -> "h1:..." of the linked modules
	BuilderID    string
	InvocationID string
	StartedOn    time.Time
	FinishedOn   time.Time
}

type statement struct {
	Type          string     `json:"_type"`
	Subject       []resource `json:"subject"`
	PredicateType string     `json:"predicateType"`
	Predicate     provenance `json:"predicate"`
}

type resource struct {
	Name        string            `json:"name,omitempty"`
	URI         string            `json:"uri,omitempty"`
	Digest      map[string]string `json:"digest,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type provenance struct {
	BuildDefinition buildDefinition `json:"buildDefinition"`
	RunDetails      runDetails      `json:"runDetails"`
}

type buildDefinition struct {
	BuildType            string         `json:"buildType"`
	ExternalParameters   map[string]any `json:"externalParameters"`
	InternalParameters   map[string]any `json:"internalParameters,omitempty"`
	ResolvedDependencies []resource     `json:"resolvedDependencies"`
}

type runDetails struct {
	Builder  builder  `json:"builder"`
	Metadata metadata `json:"metadata"`
}

type builder struct {
	ID string `json:"id"`
}

type metadata struct {
	InvocationID string `json:"invocationId"`
	StartedOn    string `json:"startedOn"`
	FinishedOn   string `json:"finishedOn"`
}

// Statement returns the in-toto v1 statement, SLSA provenance v1
// predicate, whose one subject is the bundle tar. Resolved dependencies:
// the source commit, the Go toolchain, then every linked module (sorted)
// with its go.sum hash.
func Statement(in ProvenanceInput) ([]byte, error) {
	if err := in.check(); err != nil {
		return nil, err
	}
	st := statement{
		Type:          StatementTypeV1,
		Subject:       []resource{{Name: in.Artifact, Digest: map[string]string{"sha256": in.SHA256}}},
		PredicateType: PredicateSLSAProvenanceV1,
		Predicate: provenance{
			BuildDefinition: buildDefinition{
				BuildType: BuildTypeDist,
				ExternalParameters: map[string]any{
					"source":  map[string]any{"uri": in.Repo, "digest": map[string]string{"gitCommit": in.Commit}},
					"target":  in.Target,
					"version": in.Version,
				},
				InternalParameters:   map[string]any{"goVersion": in.GoVersion, "cgoEnabled": false, "flags": "-trimpath -buildvcs=false -ldflags=-s -w -buildid="},
				ResolvedDependencies: in.dependencies(),
			},
			RunDetails: runDetails{
				Builder: builder{ID: in.BuilderID},
				Metadata: metadata{InvocationID: in.InvocationID,
					StartedOn: in.StartedOn.UTC().Format(time.RFC3339), FinishedOn: in.FinishedOn.UTC().Format(time.RFC3339)},
			},
		},
	}
	return json.Marshal(st)
}

func (in ProvenanceInput) check() error {
	switch {
	case in.Artifact == "":
		return fmt.Errorf("%w: no artifact name", ErrProvenance)
	case !hexSHA256.MatchString(in.SHA256):
		return fmt.Errorf("%w: sha256 %q, want 64 lowercase hex", ErrProvenance, in.SHA256)
	case !gitCommit.MatchString(in.Commit):
		return fmt.Errorf("%w: commit %q, want 40 lowercase hex", ErrProvenance, in.Commit)
	case in.Repo == "" || in.Target == "" || in.GoVersion == "" || in.BuilderID == "" || in.InvocationID == "":
		return fmt.Errorf("%w: repo, target, go version, builder id and invocation id are required", ErrProvenance)
	case in.StartedOn.IsZero() || in.FinishedOn.Before(in.StartedOn):
		return fmt.Errorf("%w: startedOn %s, finishedOn %s", ErrProvenance, in.StartedOn, in.FinishedOn)
	}
	return nil
}

func (in ProvenanceInput) dependencies() []resource {
	deps := []resource{
		{URI: in.Repo, Digest: map[string]string{"gitCommit": in.Commit}},
		{Name: "go-toolchain", URI: "pkg:golang/stdlib@" + in.GoVersion},
	}
	if in.GoSHA256 != "" {
		deps[1].Digest = map[string]string{"sha256": in.GoSHA256}
	}
	keys := make([]string, 0, len(in.Modules))
	for k := range in.Modules {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		r := resource{URI: "pkg:golang/" + k, Annotations: map[string]string{"goSum": in.Modules[k]}}
		if h, err := H1Hex(in.Modules[k]); err == nil {
			r.Digest = map[string]string{"dirHash": h}
		}
		deps = append(deps, r)
	}
	return deps
}
