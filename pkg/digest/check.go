package digest

import (
	"context"
	"crypto/hmac"
	"fmt"
)

// CheckReport lists how a tree differs from a manifest. Names are as in the
// manifest (hashed when it has hashed names).
type CheckReport struct {
	MediaType string `json:"mediaType"`
	// Identical is true when nothing is missing, added or changed.
	Identical bool `json:"identical"`
	// Checked is the number of files the manifest lists.
	Checked int `json:"checked"`
	// TreeDigest is the manifest's tree digest; Got is the tree's now.
	TreeDigest    string `json:"treeDigest"`
	GotTreeDigest string `json:"gotTreeDigest"`
	// Missing are files of the manifest no longer in the tree.
	Missing []ResourceDescriptor `json:"missing"`
	// Added are files in the tree, not excluded, that the manifest lacks.
	Added []ResourceDescriptor `json:"added"`
	// Changed are files whose digest or size differ.
	Changed []Change `json:"changed"`
	// TypeChanged are files with the same content that became or stopped
	// being links, or whose link target moved.
	TypeChanged []Change `json:"typeChanged"`
	// Paths maps the hashed names of added and changed files to their names
	// in clear, for a manifest with hashed names (the owner holds the salt).
	// Missing files are gone and cannot be named.
	Paths map[string]string `json:"paths,omitempty"`
}

// Change is one file as the manifest recorded it and as it is now.
type Change struct {
	Name string             `json:"name"`
	Want ResourceDescriptor `json:"want"`
	Got  ResourceDescriptor `json:"got"`
}

// Check hashes roots again with the manifest's excludes, link and name
// settings and reports every difference. opts supplies Workers, Progress,
// Planned and, for a manifest with hashed names, the Salt; its other fields
// are ignored. Errors are for trees that cannot be hashed at all (the same
// as Hash's) and for a salt that is missing or wrong.
func Check(ctx context.Context, m *Manifest, roots []string, opts Options) (*CheckReport, error) {
	if len(roots) != len(m.Roots) {
		return nil, fmt.Errorf("%w: %d, manifest has %d", ErrRootCount, len(roots), len(m.Roots))
	}
	if m.HashedNames {
		if opts.Salt == nil {
			return nil, ErrSaltRequired
		}
		if !hmac.Equal([]byte(SaltCheck(opts.Salt)), []byte(m.SaltCheck)) {
			return nil, ErrWrongSalt
		}
	}
	opts.Excludes = m.Excludes
	opts.AllowExternalLinks = m.AllowExternalLinks
	opts.HashNames = false
	got, err := Hash(ctx, roots, opts)
	if err != nil {
		return nil, err
	}
	if !m.HashedNames {
		return compare(m, got), nil
	}
	clear := make(map[string]string, len(got.Files))
	for _, f := range got.Files {
		clear[HashName(opts.Salt, f.Name)] = f.Name
	}
	hideNames(got, opts.Salt)
	r := compare(m, got)
	r.addPaths(clear)
	return r, nil
}

// addPaths fills Paths for the files of the tree that differ.
func (r *CheckReport) addPaths(clear map[string]string) {
	r.Paths = map[string]string{}
	for _, d := range r.Added {
		r.Paths[d.Name] = clear[d.Name]
	}
	for _, c := range append(r.Changed, r.TypeChanged...) {
		r.Paths[c.Name] = clear[c.Name]
	}
}

// compare merges the two sorted file lists.
func compare(want, got *Manifest) *CheckReport {
	r := &CheckReport{
		MediaType: CheckMediaType, Checked: len(want.Files),
		TreeDigest: want.TreeDigest, GotTreeDigest: got.TreeDigest,
		Missing: []ResourceDescriptor{}, Added: []ResourceDescriptor{},
		Changed: []Change{}, TypeChanged: []Change{},
	}
	w, g := want.Files, got.Files
	for len(w) > 0 || len(g) > 0 {
		switch {
		case len(g) == 0 || (len(w) > 0 && w[0].Name < g[0].Name):
			r.Missing, w = append(r.Missing, w[0]), w[1:]
		case len(w) == 0 || g[0].Name < w[0].Name:
			r.Added, g = append(r.Added, g[0]), g[1:]
		default:
			r.classify(w[0], g[0])
			w, g = w[1:], g[1:]
		}
	}
	r.Identical = len(r.Missing)+len(r.Added)+len(r.Changed)+len(r.TypeChanged) == 0
	return r
}

func (r *CheckReport) classify(want, got ResourceDescriptor) {
	c := Change{Name: want.Name, Want: want, Got: got}
	switch {
	case want.Digest != got.Digest || want.Annotations.Size != got.Annotations.Size:
		r.Changed = append(r.Changed, c)
	case want.Annotations.LinkTarget != got.Annotations.LinkTarget:
		r.TypeChanged = append(r.TypeChanged, c)
	}
}
