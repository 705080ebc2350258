package ocitest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"sync"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

var (
	reReferrers = regexp.MustCompile(`^/v2/(.+)/referrers/(sha256:[a-f0-9]{64})$`)
	reManifest  = regexp.MustCompile(`^/v2/(.+)/manifests/[^/]+$`)
)

// referrersAPI adds the OCI referrers API (distribution-spec v1.1) in
// front of a registry that lacks it: manifest PUTs with a subject are
// answered with OCI-Subject and indexed; GET .../referrers/<digest> lists
// them, filtered by artifactType.
type referrersAPI struct {
	next http.Handler
	mu   sync.Mutex
	refs map[string][]ocispec.Descriptor // repo + "@" + subject digest
}

func (h *referrersAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if m := reReferrers.FindStringSubmatch(r.URL.Path); m != nil && r.Method == http.MethodGet {
		h.list(w, r, m[1]+"@"+m[2])
		return
	}
	m := reManifest.FindStringSubmatch(r.URL.Path)
	if m == nil || r.Method != http.MethodPut {
		h.next.ServeHTTP(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	var man ocispec.Manifest
	if json.Unmarshal(body, &man) != nil || man.Subject == nil {
		h.next.ServeHTTP(w, r)
		return
	}
	w.Header().Set("OCI-Subject", man.Subject.Digest.String())
	h.next.ServeHTTP(w, r)
	d := ocispec.Descriptor{MediaType: r.Header.Get("Content-Type"), Digest: digest.FromBytes(body), Size: int64(len(body)),
		ArtifactType: man.ArtifactType, Annotations: man.Annotations}
	h.mu.Lock()
	defer h.mu.Unlock()
	key := m[1] + "@" + man.Subject.Digest.String()
	for _, e := range h.refs[key] {
		if e.Digest == d.Digest {
			return
		}
	}
	h.refs[key] = append(h.refs[key], d)
}

func (h *referrersAPI) list(w http.ResponseWriter, r *http.Request, key string) {
	want := r.URL.Query().Get("artifactType")
	h.mu.Lock()
	idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{}}
	for _, d := range h.refs[key] {
		if want == "" || d.ArtifactType == want {
			idx.Manifests = append(idx.Manifests, d)
		}
	}
	h.mu.Unlock()
	idx.SchemaVersion = 2
	b, _ := json.Marshal(idx)
	w.Header().Set("Content-Type", ocispec.MediaTypeImageIndex)
	if want != "" {
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	w.Write(b)
}
