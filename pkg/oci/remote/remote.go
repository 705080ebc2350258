// Package remote stores runs in an OCI registry through oras-go v2: a
// repository addressed as HOST[:PORT]/REPO, credentials from the Docker
// config file and its credential helpers or given explicitly, TLS with an
// optional extra CA bundle, plain HTTP only when asked.
//
// Referrers: with the referrers API (zot, Harbor) records are found by
// their subject. Without it (CNCF distribution v3) the repository's
// referrers tag schema index "sha256-<subject hex>" is written by Commit,
// once per subject and batch, never once per record; oras-go's own
// per-push fallback indexing is switched off. One writer per run at a time:
// the tag schema has no lock (distribution-spec v1.1.1).
//
// Every push is read back at Commit: each manifest is fetched by digest and
// hashed, each blob's size is checked; a mismatch is an error.
package remote

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry"
	oremote "oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/credentials"
	"oras.land/oras-go/v2/registry/remote/retry"

	"github.com/dossier-audit/dossier/pkg/oci"
)

// Referrers modes.
const (
	ReferrersAuto = "auto" // probe the referrers API, fall back to the tag schema
	ReferrersAPI  = "api"  // the registry has the referrers API
	ReferrersTags = "tags" // always maintain the tag schema index
)

// Errors.
var (
	// ErrReadBack: the registry did not store what was pushed.
	ErrReadBack = errors.New("registry read-back mismatch")
	// ErrIndexTooLarge: a tag schema index would exceed the registry's
	// manifest size limit.
	ErrIndexTooLarge = errors.New("referrers tag schema index too large")
	// ErrMode: unknown referrers mode.
	ErrMode = errors.New("unknown referrers mode")
)

// MaxIndexSize is the largest tag schema index written (the
// distribution-spec's minimum manifest size a registry must accept).
const MaxIndexSize = 4 << 20

// Options configure Open.
type Options struct {
	PlainHTTP bool
	// CAFile is a PEM bundle trusted in addition to the system roots.
	CAFile string
	// Username and Password, when Username is set, replace the Docker
	// config credentials.
	Username, Password string
	// DockerConfig is the Docker config file (default: $DOCKER_CONFIG or
	// ~/.docker/config.json), with its credential helpers.
	DockerConfig string
	// Referrers is ReferrersAuto (default), ReferrersAPI or ReferrersTags.
	Referrers string
	// Transport replaces the default (retrying) transport; tests use it.
	Transport http.RoundTripper
}

// Repository is a registry repository as an oci.Reader and oci.Writer.
type Repository struct {
	repo *oremote.Repository
	mode string

	mu       sync.Mutex
	probed   bool
	subjects map[digest.Digest]ocispec.Descriptor
	batch    map[digest.Digest][]ocispec.Descriptor // subject -> referrers pushed in this batch
	manifest []ocispec.Descriptor                   // pushed manifests, read back at Commit
	blobs    []ocispec.Descriptor                   // pushed blobs, read back at Commit
}

// Open returns the repository ref ("HOST[:PORT]/REPO").
func Open(ref string, opts Options) (*Repository, error) {
	repo, err := oremote.NewRepository(ref)
	if err != nil {
		return nil, err
	}
	if repo.Reference.Reference != "" {
		return nil, fmt.Errorf("repository %q: want HOST[:PORT]/REPO without a tag or digest", ref)
	}
	repo.PlainHTTP = opts.PlainHTTP
	repo.SkipReferrersGC = true
	if repo.Client, err = newClient(repo.Reference.Registry, opts); err != nil {
		return nil, err
	}
	r := &Repository{repo: repo, mode: opts.Referrers, subjects: map[digest.Digest]ocispec.Descriptor{},
		batch: map[digest.Digest][]ocispec.Descriptor{}}
	switch r.mode {
	case "", ReferrersAuto:
		r.mode = ReferrersAuto
	case ReferrersAPI, ReferrersTags:
	default:
		return nil, fmt.Errorf("%w %q: want auto, api or tags", ErrMode, opts.Referrers)
	}
	// Writes never let oras-go index referrers per push: Commit does it.
	_ = repo.SetReferrersCapability(true)
	return r, nil
}

// Name returns HOST[:PORT]/REPO.
func (r *Repository) Name() string { return r.repo.Reference.String() }

func newClient(host string, opts Options) (*auth.Client, error) {
	tr := opts.Transport
	if tr == nil {
		base := http.DefaultTransport.(*http.Transport).Clone()
		if opts.CAFile != "" {
			pool, err := caPool(opts.CAFile)
			if err != nil {
				return nil, err
			}
			base.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		}
		tr = retry.NewTransport(base)
	}
	c := &auth.Client{Client: &http.Client{Transport: tr}, Cache: auth.NewCache(),
		Header: http.Header{"User-Agent": {"dossier"}}}
	if opts.Username != "" {
		c.Credential = auth.StaticCredential(host, auth.Credential{Username: opts.Username, Password: opts.Password})
		return c, nil
	}
	store, err := dockerStore(opts.DockerConfig)
	if err != nil {
		return nil, fmt.Errorf("reading Docker credentials: %w", err)
	}
	c.Credential = credentials.Credential(store)
	return c, nil
}

func dockerStore(path string) (credentials.Store, error) {
	if path != "" {
		return credentials.NewStore(path, credentials.StoreOptions{})
	}
	return credentials.NewStoreFromDocker(credentials.StoreOptions{})
}

func caPool(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading CA bundle: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA bundle %s holds no PEM certificate", path)
	}
	return pool, nil
}

func mapNotFound(err error) error {
	if errors.Is(err, errdef.ErrNotFound) {
		return fmt.Errorf("%w: %w", oci.ErrNotFound, err)
	}
	return err
}

// Resolve returns the descriptor a tag points at.
func (r *Repository) Resolve(ctx context.Context, tag string) (ocispec.Descriptor, error) {
	d, err := r.repo.Resolve(ctx, tag)
	return d, mapNotFound(err)
}

// Fetch returns the content of desc (the caller verifies it).
func (r *Repository) Fetch(ctx context.Context, desc ocispec.Descriptor) ([]byte, error) {
	if desc.Size < 0 || desc.Size > 1<<36 {
		return nil, fmt.Errorf("fetching %s: size %d out of range", desc.Digest, desc.Size)
	}
	rc, err := r.repo.Fetch(ctx, desc)
	if err != nil {
		return nil, mapNotFound(err)
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, desc.Size+1))
}

// Tags lists the repository's tags starting with prefix.
func (r *Repository) Tags(ctx context.Context, prefix string) ([]string, error) {
	all, err := registry.Tags(ctx, r.repo)
	if err != nil {
		return nil, mapNotFound(err)
	}
	var out []string
	for _, t := range all {
		if strings.HasPrefix(t, prefix) {
			out = append(out, t)
		}
	}
	return out, nil
}
