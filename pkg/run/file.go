package run

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// FileMediaType identifies a run file, the small JSON document `dossier run
// init` writes so that later commands know the run without a registry.
const FileMediaType = "application/vnd.dossier.run-file.v1+json"

// File is the run file: the registration plus the digest it yields. It is a
// convenience for tools, never evidence: ReadFile rebuilds the root from the
// registration and refuses a file whose digest does not match.
type File struct {
	MediaType    string       `json:"mediaType"`
	RunID        string       `json:"runId"`
	Digest       string       `json:"digest"`
	Tag          string       `json:"tag"`
	Registration Registration `json:"registration"`
}

// MarshalFile returns the run file of r, indented, with a final newline.
func (r *Root) MarshalFile() []byte {
	b, _ := json.MarshalIndent(File{
		MediaType:    FileMediaType,
		RunID:        r.Registration.RunID,
		Digest:       r.Digest(),
		Tag:          r.Tag(),
		Registration: r.Registration,
	}, "", "  ")
	return append(b, '\n')
}

// ParseFile reads a run file and returns the run root it describes.
func ParseFile(b []byte) (*Root, error) {
	if len(b) > maxRegistrationSize {
		return nil, fmt.Errorf("%w: run file larger than %d bytes", ErrInvalid, maxRegistrationSize)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f File
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: decoding run file: %v", ErrInvalid, err)
	}
	if f.MediaType != FileMediaType {
		return nil, fmt.Errorf("%w: run file mediaType %q, want %q", ErrInvalid, f.MediaType, FileMediaType)
	}
	root, err := New(f.Registration)
	if err != nil {
		return nil, err
	}
	if f.RunID != root.Registration.RunID || f.Digest != root.Digest() {
		return nil, fmt.Errorf("%w: run file says %s %s, its registration gives %s %s",
			ErrInvalid, f.RunID, f.Digest, root.Registration.RunID, root.Digest())
	}
	return root, nil
}
