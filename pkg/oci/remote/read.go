package remote

import (
	"context"
	"errors"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	oremote "oras.land/oras-go/v2/registry/remote"
)

var errorsIs = errors.Is

// zeroManifest is the subject of the referrers API probe.
var zeroManifest = ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest,
	Digest: "sha256:0000000000000000000000000000000000000000000000000000000000000000"}

// hasReferrersAPI reports whether referrers are read from the referrers
// API (true) or the tag schema (false), probing once in auto mode.
func (r *Repository) hasReferrersAPI(ctx context.Context) (bool, error) {
	switch r.mode {
	case ReferrersAPI:
		return true, nil
	case ReferrersTags:
		return false, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.probed {
		return r.mode == ReferrersAPI, nil
	}
	probe := &oremote.Repository{Client: r.repo.Client, Reference: r.repo.Reference, PlainHTTP: r.repo.PlainHTTP}
	if err := probe.Referrers(ctx, zeroManifest, "", func([]ocispec.Descriptor) error { return nil }); err != nil {
		return false, err
	}
	// The probe settled the capability; setting "supported" fails when the
	// registry has no referrers API.
	r.mode = ReferrersTags
	if probe.SetReferrersCapability(true) == nil {
		r.mode = ReferrersAPI
	}
	r.probed = true
	return r.mode == ReferrersAPI, nil
}

// Referrers lists the referrers of subject with the given artifactType,
// from the referrers API or the tag schema index.
func (r *Repository) Referrers(ctx context.Context, subject ocispec.Descriptor, artifactType string) ([]ocispec.Descriptor, error) {
	api, err := r.hasReferrersAPI(ctx)
	if err != nil {
		return nil, err
	}
	var all []ocispec.Descriptor
	if api {
		err = r.repo.Referrers(ctx, subject, artifactType, func(ds []ocispec.Descriptor) error {
			all = append(all, ds...)
			return nil
		})
		return all, mapNotFound(err)
	}
	list, err := r.tagIndex(ctx, subject)
	if err != nil {
		return nil, err
	}
	for _, d := range list {
		if artifactType == "" || d.ArtifactType == artifactType {
			all = append(all, d)
		}
	}
	return all, nil
}
