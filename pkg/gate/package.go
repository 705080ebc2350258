package gate

import (
	"archive/tar"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/dossier-audit/dossier/pkg/run"
	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
	"github.com/dossier-audit/dossier/pkg/verify"
)

// ErrPackage: the package does not verify (for a reason other than its
// policy), or does not hold the run asked for.
var ErrPackage = errors.New("package")

// Media types read from a package (SPEC.md §3.13).
const (
	proofsMediaType  = "application/vnd.dossier.proofs.v1+json"
	keyringMediaType = "application/vnd.dossier.keyring.v1+dsse+json"
	refName          = "org.opencontainers.image.ref.name"
)

// LoadPackage verifies a compliance package with pkg/verify against the
// pinned root fingerprint and returns the facts of one of its runs (runID,
// or the only run when runID is ""). A package that fails only its policy
// (class policy: a "for review" export before the approvals exist) is
// accepted; any other failure is ErrPackage. It reads through the
// package's OCI layout, never extracting it.
func LoadPackage(r io.ReaderAt, size int64, runID, pinned string) (*Facts, *verify.Result, error) {
	res := verify.VerifyPackage(r, size, verify.PackageOptions{RootFingerprint: pinned})
	for _, f := range res.Failures {
		if f.Class != verify.FailPolicy {
			return nil, res, fmt.Errorf("%w: does not verify: %s (step %s): %s", ErrPackage, f.Class, f.Step, f.Message)
		}
	}
	if res.Outcome == verify.Inconclusive {
		return nil, res, fmt.Errorf("%w: verification was inconclusive", ErrPackage)
	}
	blobs, err := readBlobs(r, size)
	if err != nil {
		return nil, res, err
	}
	p := &pkgReader{blobs: blobs}
	facts, err := p.facts(runID, pinned)
	return facts, res, err
}

// pkgReader reads a verified package's layout from its blobs.
type pkgReader struct {
	blobs map[string][]byte // by digest string; plus "index.json"
}

func readBlobs(r io.ReaderAt, size int64) (map[string][]byte, error) {
	out := map[string][]byte{}
	tr := tar.NewReader(io.NewSectionReader(r, 0, size))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: reading tar: %w", ErrPackage, err)
		}
		name := h.Name
		if hex, ok := strings.CutPrefix(name, "blobs/sha256/"); ok {
			name = "sha256:" + hex
		} else if name != "index.json" {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(tr, size))
		if err != nil {
			return nil, fmt.Errorf("%w: reading %s: %w", ErrPackage, h.Name, err)
		}
		out[name] = b
	}
}

func (p *pkgReader) json(name string, v any) error {
	b, ok := p.blobs[name]
	if !ok {
		return fmt.Errorf("%w: %s missing", ErrPackage, name)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrPackage, name, err)
	}
	return nil
}

func (p *pkgReader) get(d string) ([]byte, error) {
	b, ok := p.blobs[d]
	if !ok {
		return nil, fmt.Errorf("%w: blob %s missing", ErrPackage, d)
	}
	return b, nil
}

type proofs struct {
	Entries []struct {
		Digest string `json:"digest"`
		Index  uint64 `json:"index"`
		Leaf   string `json:"leaf"`
	} `json:"entries"`
}

// facts builds the run's facts from the layout.
func (p *pkgReader) facts(runID, pinned string) (*Facts, error) {
	var top ocispec.Index
	if err := p.json("index.json", &top); err != nil {
		return nil, err
	}
	if len(top.Manifests) < 3 {
		return nil, fmt.Errorf("%w: index.json lists %d manifests", ErrPackage, len(top.Manifests))
	}
	root, err := p.runRoot(top, runID)
	if err != nil {
		return nil, err
	}
	envs, leaves, err := p.metadata(top.Manifests[0].Digest.String())
	if err != nil {
		return nil, err
	}
	chain, err := verifyChain(envs, pinned)
	if err != nil {
		return nil, err
	}
	f := &Facts{Run: root, Chain: chain}
	if f.Indices, err = keyringIndices(chain, leaves); err != nil {
		return nil, err
	}
	streams, timeAt := byStream(leaves)
	return f, f.loadRecords(streams[root.Digest()], timeAt, p.get)
}

// runRoot finds and rebuilds the run root named run-<runID>.
func (p *pkgReader) runRoot(top ocispec.Index, runID string) (*run.Root, error) {
	var found []ocispec.Descriptor
	for _, d := range top.Manifests {
		if name := d.Annotations[refName]; strings.HasPrefix(name, "run-") && (runID == "" || name == "run-"+runID) {
			found = append(found, d)
		}
	}
	if len(found) != 1 {
		return nil, fmt.Errorf("%w: %d runs match %q (pass the run id of one)", ErrPackage, len(found), runID)
	}
	var m ocispec.Manifest
	if err := p.json(found[0].Digest.String(), &m); err != nil {
		return nil, err
	}
	if len(m.Layers) != 1 {
		return nil, fmt.Errorf("%w: run root with %d layers", ErrPackage, len(m.Layers))
	}
	manifest, _ := p.get(found[0].Digest.String())
	reg, err := p.get(m.Layers[0].Digest.String())
	if err != nil {
		return nil, err
	}
	root, err := run.Parse(manifest, reg)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPackage, err)
	}
	return root, nil
}

// metadata returns the keyring envelopes and the proof leaves named by
// the package index's metadata manifest.
func (p *pkgReader) metadata(pkgIndex string) ([][]byte, []leaf, error) {
	var idx ocispec.Index
	if err := p.json(pkgIndex, &idx); err != nil {
		return nil, nil, err
	}
	if len(idx.Manifests) == 0 {
		return nil, nil, fmt.Errorf("%w: empty package index", ErrPackage)
	}
	var meta ocispec.Manifest
	if err := p.json(idx.Manifests[0].Digest.String(), &meta); err != nil {
		return nil, nil, err
	}
	var envs [][]byte
	var pr proofs
	for _, l := range meta.Layers {
		switch l.MediaType {
		case keyringMediaType:
			b, err := p.get(l.Digest.String())
			if err != nil {
				return nil, nil, err
			}
			envs = append(envs, b)
		case proofsMediaType:
			if err := p.json(l.Digest.String(), &pr); err != nil {
				return nil, nil, err
			}
		}
	}
	leaves := make([]leaf, 0, len(pr.Entries))
	for _, e := range pr.Entries {
		raw, err := base64.StdEncoding.DecodeString(e.Leaf)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: proof of %s: %w", ErrPackage, e.Digest, err)
		}
		lf, err := tlogproof.ParseLeaf(raw)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: proof of %s: %w", ErrPackage, e.Digest, err)
		}
		leaves = append(leaves, leaf{index: e.Index, leaf: lf})
	}
	return envs, leaves, nil
}
