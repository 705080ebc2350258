package remote_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/opencontainers/go-digest"
	"oras.land/oras-go/v2/registry/remote/errcode"

	"github.com/dossier-audit/dossier/pkg/oci"
	"github.com/dossier-audit/dossier/pkg/oci/ocitest"
	"github.com/dossier-audit/dossier/pkg/oci/remote"
	"github.com/dossier-audit/dossier/pkg/run"
)

func runContent(t *testing.T, root *run.Root, n int) *oci.RunContent {
	t.Helper()
	s := ocitest.Signer(t)
	bs := ocitest.Records(t, s, root, n, "dataset", "evaluation")
	doc, pred := ocitest.AttachmentDoc(t)
	bs = append(bs, ocitest.Sign(t, s, root, "attachment", pred))
	seq := map[string]uint64{}
	for i, b := range bs {
		seq[digest.FromBytes(b).String()] = uint64(i)
	}
	rc, _, err := oci.PackRun(root, bs, [][]byte{doc}, func(d string) (string, uint64, bool) {
		return root.Digest(), seq[d], true
	})
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

// counting wraps a transport and counts requests matching a predicate.
type counting struct {
	base  http.RoundTripper
	match func(*http.Request) bool
	n     atomic.Int64
	// failAfter, when > 0, makes every request after that many fail.
	failAfter int64
}

func (c *counting) RoundTrip(r *http.Request) (*http.Response, error) {
	if c.match == nil || c.match(r) {
		if n := c.n.Add(1); c.failAfter > 0 && n > c.failAfter {
			return nil, errors.New("connection refused (registry died)")
		}
	}
	return c.base.RoundTrip(r)
}

func open(t *testing.T, host, repo string, opts remote.Options) *remote.Repository {
	t.Helper()
	opts.PlainHTTP = true
	if opts.Transport == nil {
		opts.Transport = http.DefaultTransport
	}
	r, err := remote.Open(host+"/"+repo, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestPushListCopyWithTagSchemaFallback(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := ocitest.Registry(t, ocitest.RegistryOptions{})
	root := ocitest.Root(t)
	rc := runContent(t, root, 20)
	tagPuts := &counting{base: http.DefaultTransport, match: func(r *http.Request) bool {
		return r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/sha256-")
	}}
	repo := open(t, ocitest.Host(srv), "dossier/demo", remote.Options{Transport: tagPuts})
	if err := oci.WriteRun(ctx, repo, rc); err != nil {
		t.Fatal(err)
	}
	// One tag schema index for the run root and one for the attachment
	// record, each written once for the whole batch.
	if n := tagPuts.n.Load(); n != 2 {
		t.Errorf("tag schema index written %d times, want 2 (once per subject per batch)", n)
	}
	got, problems, err := oci.ReadRun(ctx, open(t, ocitest.Host(srv), "dossier/demo", remote.Options{}), ocitest.RunID)
	if err != nil || len(problems) > 0 {
		t.Fatalf("ReadRun: %v %v", err, problems)
	}
	if len(got.Records) != len(rc.Records) || len(got.Attachments) != 1 {
		t.Fatalf("listed %d records, %d attachments; want %d, 1", len(got.Records), len(got.Attachments), len(rc.Records))
	}
	// A second push of the same run changes nothing and writes no index.
	if err := oci.WriteRun(ctx, repo, rc); err != nil || tagPuts.n.Load() != 2 {
		t.Fatalf("second push: %v, %d index writes", err, tagPuts.n.Load())
	}
	// Copy to another repository, through a tar and back.
	other := open(t, ocitest.Host(srv), "dossier/copy", remote.Options{Referrers: remote.ReferrersTags})
	if err := oci.WriteRun(ctx, other, got); err != nil {
		t.Fatal(err)
	}
	back, problems, err := oci.ReadRun(ctx, other, ocitest.RunID)
	if err != nil || len(problems) > 0 || len(back.Records) != len(rc.Records) {
		t.Fatalf("ReadRun of the copy: %v %v", err, problems)
	}
	for i := range back.Records {
		if back.Records[i].Descriptor.Digest != rc.Records[i].Descriptor.Digest {
			t.Fatalf("record %d changed digest in the copy", i)
		}
	}
}

func TestReferrersAPIForcedOnARegistryWithout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := ocitest.Registry(t, ocitest.RegistryOptions{})
	root := ocitest.Root(t)
	repo := open(t, ocitest.Host(srv), "dossier/api", remote.Options{Referrers: remote.ReferrersAPI})
	if err := oci.WriteRun(ctx, repo, runContent(t, root, 2)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := oci.ReadRun(ctx, repo, ocitest.RunID); err == nil {
		t.Fatal("reading referrers through an absent referrers API succeeded")
	}
	if _, err := remote.Open(ocitest.Host(srv)+"/x", remote.Options{Referrers: "sometimes"}); !errors.Is(err, remote.ErrMode) {
		t.Fatalf("unknown mode: %v, want ErrMode", err)
	}
}

func TestRegistryDiesMidPush(t *testing.T) {
	t.Parallel()
	srv := ocitest.Registry(t, ocitest.RegistryOptions{})
	dying := &counting{base: http.DefaultTransport, failAfter: 25}
	repo := open(t, ocitest.Host(srv), "dossier/dies", remote.Options{Transport: dying})
	err := oci.WriteRun(context.Background(), repo, runContent(t, ocitest.Root(t), 20))
	if err == nil || !strings.Contains(err.Error(), "registry died") {
		t.Fatalf("WriteRun against a dying registry = %v, want the transport error", err)
	}
}

func TestWrongCredentials(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := ocitest.Registry(t, ocitest.RegistryOptions{Users: map[string]string{"alice": "s3cret"}})
	rc := runContent(t, ocitest.Root(t), 2)
	bad := open(t, ocitest.Host(srv), "dossier/auth", remote.Options{Username: "alice", Password: "wrong"})
	err := oci.WriteRun(ctx, bad, rc)
	var er *errcode.ErrorResponse
	if !errors.As(err, &er) || er.StatusCode != http.StatusUnauthorized {
		t.Fatalf("push with a wrong password = %v, want 401", err)
	}
	good := open(t, ocitest.Host(srv), "dossier/auth", remote.Options{Username: "alice", Password: "s3cret"})
	if err := oci.WriteRun(ctx, good, rc); err != nil {
		t.Fatalf("push with the right password: %v", err)
	}
}

func TestRegistryAnsweringWrongDigests(t *testing.T) {
	t.Parallel()
	srv := ocitest.Registry(t, ocitest.RegistryOptions{})
	bogus := "sha256:" + strings.Repeat("ab", 32)
	tests := []struct {
		name string
		edit func(*http.Response) error
	}{
		{"digest header", func(r *http.Response) error {
			if r.Header.Get("Docker-Content-Digest") != "" {
				r.Header.Set("Docker-Content-Digest", bogus)
			}
			return nil
		}},
		{"manifest body", func(r *http.Response) error {
			if r.Request.Method != http.MethodGet || !strings.Contains(r.Request.URL.Path, "/manifests/sha256:") {
				return nil
			}
			b, _ := io.ReadAll(r.Body)
			b = bytes.Replace(b, []byte(`"schemaVersion":2`), []byte(`"schemaVersion":3`), 1)
			r.Body = io.NopCloser(bytes.NewReader(b))
			return nil
		}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := ocitest.Proxy(t, srv.URL, tc.edit)
			repo := open(t, ocitest.Host(p), "dossier/lies"+string(rune('a'+i)), remote.Options{})
			err := oci.WriteRun(context.Background(), repo, runContent(t, ocitest.Root(t), 3))
			if err == nil {
				t.Fatal("push through a lying registry reported success")
			}
			if tc.name == "manifest body" && !errors.Is(err, remote.ErrReadBack) {
				t.Fatalf("err = %v, want ErrReadBack", err)
			}
		})
	}
}

func TestTLSWithCustomCA(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := ocitest.Registry(t, ocitest.RegistryOptions{TLS: true})
	ca := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(ca, pemBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	rc := runContent(t, ocitest.Root(t), 2)
	untrusted, err := remote.Open(ocitest.Host(srv)+"/dossier/tls", remote.Options{DockerConfig: filepath.Join(t.TempDir(), "none.json")})
	if err != nil {
		t.Fatal(err)
	}
	var unknown x509.UnknownAuthorityError
	if err := oci.WriteRun(ctx, untrusted, rc); !errors.As(err, &unknown) {
		t.Fatalf("push without the CA = %v, want an unknown authority error", err)
	}
	trusted, err := remote.Open(ocitest.Host(srv)+"/dossier/tls", remote.Options{CAFile: ca, DockerConfig: filepath.Join(t.TempDir(), "none.json")})
	if err != nil {
		t.Fatal(err)
	}
	if err := oci.WriteRun(ctx, trusted, rc); err != nil {
		t.Fatalf("push with the CA bundle: %v", err)
	}
}

func TestPushResumesAfterTheRegistryCameBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := ocitest.Registry(t, ocitest.RegistryOptions{})
	rc := runContent(t, ocitest.Root(t), 10)
	dying := &counting{base: http.DefaultTransport, failAfter: 30}
	if err := oci.WriteRun(ctx, open(t, ocitest.Host(srv), "dossier/resume", remote.Options{Transport: dying}), rc); err == nil {
		t.Fatal("push through a dying transport succeeded")
	}
	repo := open(t, ocitest.Host(srv), "dossier/resume", remote.Options{})
	if err := oci.WriteRun(ctx, repo, rc); err != nil {
		t.Fatalf("second push: %v", err)
	}
	got, problems, err := oci.ReadRun(ctx, repo, ocitest.RunID)
	if err != nil || len(problems) > 0 || len(got.Records) != len(rc.Records) {
		t.Fatalf("after resume: %v %v", err, problems)
	}
}

func TestAutoModeUsesTheReferrersAPI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := ocitest.Registry(t, ocitest.RegistryOptions{ReferrersAPI: true})
	tagPuts := &counting{base: http.DefaultTransport, match: func(r *http.Request) bool {
		return r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/sha256-")
	}}
	repo := open(t, ocitest.Host(srv), "dossier/api", remote.Options{Transport: tagPuts})
	rc := runContent(t, ocitest.Root(t), 5)
	if err := oci.WriteRun(ctx, repo, rc); err != nil {
		t.Fatal(err)
	}
	if n := tagPuts.n.Load(); n != 0 {
		t.Errorf("%d tag schema indexes written to a registry with the referrers API", n)
	}
	got, problems, err := oci.ReadRun(ctx, open(t, ocitest.Host(srv), "dossier/api", remote.Options{}), ocitest.RunID)
	if err != nil || len(problems) > 0 || len(got.Records) != len(rc.Records) || len(got.Attachments) != 1 {
		t.Fatalf("ReadRun through the referrers API: %v %v", err, problems)
	}
}
