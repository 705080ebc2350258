package verify

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/dossier-audit/dossier/pkg/internal/strictjson"
)

// OCI media types the verifier walks.
const (
	mediaTypeManifest = "application/vnd.oci.image.manifest.v1+json"
	mediaTypeIndex    = "application/vnd.oci.image.index.v1+json"
	ociLayoutContent  = `{"imageLayoutVersion":"1.0.0"}`
	maxManifestSize   = 4 << 20
	maxIndexSize      = 256 << 20
)

// ErrLayout is wrapped by every layout rejection (class layout).
var ErrLayout = errors.New("invalid oci layout")

// descriptor is an OCI content descriptor.
type descriptor struct {
	MediaType    string            `json:"mediaType"`
	Digest       string            `json:"digest"`
	Size         int64             `json:"size"`
	URLs         []string          `json:"urls,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	Data         *string           `json:"data,omitempty"`
	Platform     map[string]any    `json:"platform,omitempty"`
	ArtifactType string            `json:"artifactType,omitempty"`
}

// manifest is an OCI image manifest or image index (by MediaType).
type manifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	ArtifactType  string            `json:"artifactType,omitempty"`
	Config        *descriptor       `json:"config,omitempty"`
	Layers        []descriptor      `json:"layers,omitempty"`
	Manifests     []descriptor      `json:"manifests,omitempty"`
	Subject       *descriptor       `json:"subject,omitempty"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

func (m *manifest) isIndex() bool { return m.MediaType == mediaTypeIndex }

// children are the descriptors a manifest references.
func (m *manifest) children() []descriptor {
	var out []descriptor
	if m.Config != nil {
		out = append(out, *m.Config)
	}
	out = append(out, m.Layers...)
	out = append(out, m.Manifests...)
	if m.Subject != nil {
		out = append(out, *m.Subject)
	}
	return out
}

// checkLayout implements spec/package.md §4 step 2:
//
//	> `layout` — `oci-layout`, `index.json`; every descriptor reachable from
//	> `index.json`: sha256 only, blob present, size and digest match;
//	> manifests strict, `schemaVersion` 2, media type equals the
//	> descriptor's; no unreferenced blob.
//
// Blob digests were computed by the tar pass; here every blob's name must
// equal its digest and every descriptor must match a blob.
func (s *pkgState) checkLayout() bool {
	ok := s.checkBlobNames()
	if b, err := s.tar.readEntry(s.r, "oci-layout", 1<<10); err != nil || string(b) != ociLayoutContent {
		s.layoutFail("oci-layout", "oci-layout must be exactly %s (%v)", ociLayoutContent, err)
		return false
	}
	b, err := s.tar.readEntry(s.r, "index.json", maxIndexSize)
	if err != nil {
		s.layoutFail("index.json", "%v", err)
		return false
	}
	top, err := parseManifest(b, mediaTypeIndex)
	if err != nil {
		s.layoutFail("index.json", "%v", err)
		return false
	}
	s.top = top
	s.preload(top.Manifests)
	if !s.walk(top.Manifests) {
		return false
	}
	s.preloaded = nil
	return s.checkUnreferenced() && ok
}

func (s *pkgState) layoutFail(subject, format string, args ...any) {
	s.c.fail(fail(FailLayout, "2", fmt.Errorf("%w: "+format, append([]any{ErrLayout}, args...)...)), subject)
}

// checkBlobNames requires every blob's content to hash to its name.
func (s *pkgState) checkBlobNames() bool {
	ok := true
	for _, e := range s.tar.entries {
		if name, isBlob := strings.CutPrefix(e.Name, "blobs/sha256/"); isBlob && e.Digest != "sha256:"+name {
			s.layoutFail(e.Name, "blob content has digest %s", e.Digest)
			ok = false
		}
	}
	if ok {
		s.c.pass("2", FailLayout, "", "every blob's content matches its name")
	}
	return ok
}

// walk checks every descriptor reachable from ds, depth first without
// recursion, parsing manifests and indexes once each.
func (s *pkgState) walk(ds []descriptor) bool {
	stack := append([]descriptor(nil), ds...)
	ok := true
	for len(stack) > 0 {
		d := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if !s.checkDescriptor(d) {
			ok = false
			continue
		}
		if _, seen := s.manifests[d.Digest]; seen || (d.MediaType != mediaTypeManifest && d.MediaType != mediaTypeIndex) {
			continue
		}
		m, err := s.preloaded[d.Digest], error(nil)
		if m == nil {
			m, err = s.loadManifest(d)
		}
		if err != nil {
			s.layoutFail(d.Digest, "%v", err)
			ok = false
			continue
		}
		s.manifests[d.Digest] = m
		stack = append(stack, m.children()...)
	}
	if ok {
		s.c.pass("2", FailLayout, "", fmt.Sprintf("%d manifests and every descriptor they reach are present with matching size and digest", len(s.manifests)))
	}
	return ok
}

// checkDescriptor: "sha256 only, blob present, size and digest match".
func (s *pkgState) checkDescriptor(d descriptor) bool {
	hexd, ok := strings.CutPrefix(d.Digest, "sha256:")
	if !ok || !isHex64(hexd) {
		s.layoutFail(d.Digest, "descriptor digest %q is not sha256:<64 lowercase hex>", d.Digest)
		return false
	}
	s.refs[d.Digest] = true
	i, ok := s.tar.byName["blobs/sha256/"+hexd]
	if !ok {
		s.layoutFail(d.Digest, "blob missing")
		return false
	}
	if e := s.tar.entries[i]; e.Size != d.Size {
		s.layoutFail(d.Digest, "descriptor size %d, blob is %d bytes", d.Size, e.Size)
		return false
	}
	if d.Data != nil {
		return s.checkData(d)
	}
	return true
}

func (s *pkgState) checkData(d descriptor) bool {
	b, err := s.blob(d.Digest, maxManifestSize)
	if err == nil && base64.StdEncoding.EncodeToString(b) == *d.Data {
		return true
	}
	s.layoutFail(d.Digest, "descriptor data does not match the blob (%v)", err)
	return false
}

// loadManifest reads and strictly parses the manifest or index d names.
func (s *pkgState) loadManifest(d descriptor) (*manifest, error) {
	limit := int64(maxManifestSize)
	if d.MediaType == mediaTypeIndex {
		limit = maxIndexSize
	}
	b, err := s.blob(d.Digest, limit)
	if err != nil {
		return nil, err
	}
	m, err := parseManifest(b, d.MediaType)
	if err != nil {
		return nil, err
	}
	if d.ArtifactType != "" && d.ArtifactType != m.ArtifactType {
		return nil, fmt.Errorf("descriptor artifactType %q, manifest has %q", d.ArtifactType, m.ArtifactType)
	}
	return m, nil
}

// parseManifest parses b strictly: schemaVersion 2 and the wanted media type.
func parseManifest(b []byte, mediaType string) (*manifest, error) {
	var m manifest
	if err := decodeStrict(b, &m, strictjson.Limits{MaxBytes: maxIndexSize, MaxDepth: 8}); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if m.SchemaVersion != 2 {
		return nil, fmt.Errorf("schemaVersion %d, want 2", m.SchemaVersion)
	}
	if m.MediaType != mediaType {
		return nil, fmt.Errorf("manifest mediaType %q, descriptor says %q", m.MediaType, mediaType)
	}
	if m.isIndex() && (m.Config != nil || m.Layers != nil) || !m.isIndex() && (m.Config == nil || m.Manifests != nil) {
		return nil, fmt.Errorf("members do not fit media type %s", mediaType)
	}
	m.trim()
	return &m, nil
}

// trim drops what no step reads — manifest annotations, platforms, and
// descriptor annotations other than ref names and titles — so 10^5 record
// descriptors do not each keep a map of unsigned annotations.
func (m *manifest) trim() {
	m.Annotations = nil
	for _, ds := range [][]descriptor{m.Manifests, m.Layers} {
		for i := range ds {
			ds[i].Platform = nil
			ds[i].Annotations = keepAnnotations(ds[i].Annotations)
		}
	}
}

func keepAnnotations(a map[string]string) map[string]string {
	var out map[string]string
	for _, k := range []string{annRefName, annTitle} {
		if v, ok := a[k]; ok {
			if out == nil {
				out = map[string]string{}
			}
			out[k] = v
		}
	}
	return out
}

// checkUnreferenced: "no unreferenced blob".
func (s *pkgState) checkUnreferenced() bool {
	ok := true
	for _, e := range s.tar.entries {
		if name, isBlob := strings.CutPrefix(e.Name, "blobs/sha256/"); isBlob && !s.refs["sha256:"+name] {
			s.layoutFail(e.Name, "blob is not referenced from index.json")
			ok = false
		}
	}
	if ok {
		s.c.pass("2", FailLayout, "", "no unreferenced blob")
	}
	return ok
}

// blob returns the content of the blob with digest d (at most limit bytes),
// re-hashed on read.
func (s *pkgState) blob(d string, limit int64) ([]byte, error) {
	return s.tar.readEntry(s.r, "blobs/sha256/"+strings.TrimPrefix(d, "sha256:"), limit)
}

// blobReader streams a blob without holding it.
func (s *pkgState) blobReader(d string) (io.Reader, int64, error) {
	i, ok := s.tar.byName["blobs/sha256/"+strings.TrimPrefix(d, "sha256:")]
	if !ok {
		return nil, 0, fmt.Errorf("no blob %s", d)
	}
	e := s.tar.entries[i]
	return io.NewSectionReader(s.r, e.Offset, e.Size), e.Size, nil
}
