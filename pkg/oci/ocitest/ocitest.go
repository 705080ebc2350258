// Package ocitest builds fixtures for the pkg/oci tests: a run, signed
// records of it, a log holding them, and an in-process CNCF distribution
// v3 registry on 127.0.0.1. Only tests import it.
package ocitest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	_ "github.com/distribution/distribution/v3/registry/auth/htpasswd" // htpasswd access controller
	"github.com/distribution/distribution/v3/registry/handlers"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory" // inmemory storage driver
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sirupsen/logrus"
	"golang.org/x/crypto/bcrypt"

	"github.com/dossier-audit/dossier/pkg/bundle"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/run"
	"github.com/dossier-audit/dossier/pkg/tlog"
)

// RunID is the run id of the record templates.
const RunID = "llama3-ft-2026-11-27-001"

// Root returns the run root of RunID.
func Root(t testing.TB) *run.Root {
	t.Helper()
	r, err := run.New(run.Registration{RunID: RunID, Project: "support-assistant", Model: "acme/notes",
		StartedBy: run.Identity{ID: "workload:trainer", Kind: "workload"}, StartedAt: "2026-11-27T20:00:00Z"})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// OtherRoot returns a run root of the same id with another start time.
func OtherRoot(t testing.TB) *run.Root {
	t.Helper()
	r, err := run.New(run.Registration{RunID: RunID, Project: "support-assistant", Model: "acme/notes",
		StartedBy: run.Identity{ID: "workload:trainer", Kind: "workload"}, StartedAt: "2026-11-27T21:00:00Z"})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Signer returns a fresh ECDSA P-256 signer.
func Signer(t testing.TB) signature.Signer {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := signature.LoadSigner(priv, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Sign signs predicate (JSON) of kind as a record about root.
func Sign(t testing.TB, s signature.Signer, root *run.Root, kind string, predicate []byte) []byte {
	t.Helper()
	k, ok := record.LookupKind(kind)
	if !ok {
		t.Fatalf("unknown kind %q", kind)
	}
	subject := record.RunSubject(root.Registration.RunID, root.Digest())
	if !k.RunScoped {
		var err error
		if subject, err = record.DerivedSubject(k.PredicateType, predicate); err != nil {
			t.Fatal(err)
		}
	}
	st, err := record.NewStatement([]record.ResourceDescriptor{subject}, k.PredicateType, predicate)
	if err != nil {
		t.Fatalf("statement %s: %v", kind, err)
	}
	b, err := bundle.Sign(context.Background(), s, bundle.PayloadTypeInToto, st)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Records signs n records of root cycling through the given kinds
// (templates; ECDSA makes each bundle distinct).
func Records(t testing.TB, s signature.Signer, root *run.Root, n int, kinds ...string) [][]byte {
	t.Helper()
	out := make([][]byte, n)
	for i := range out {
		k := kinds[i%len(kinds)]
		out[i] = Sign(t, s, root, k, record.Template(k))
	}
	return out
}

// AttachmentDoc returns a document and an attachment predicate naming it.
func AttachmentDoc(t testing.TB) (doc, predicate []byte) {
	t.Helper()
	doc = []byte("%PDF-1.7 validation report\n")
	var p map[string]any
	if err := json.Unmarshal(record.Template("attachment"), &p); err != nil {
		t.Fatal(err)
	}
	sum := fmt.Sprintf("%x", sha256Sum(doc))
	p["document"] = map[string]any{"name": "report.pdf", "mediaType": "application/pdf",
		"digest": map[string]string{"sha256": sum}, "annotations": map[string]any{"size": len(doc)}}
	predicate, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return doc, predicate
}

// Log creates a log in dir holding bundles (stream derived from each) and
// returns its verifier key text.
func Log(t testing.TB, dir string, bundles [][]byte) string {
	t.Helper()
	skey, vkey, err := tlog.GenerateKey("example.test/oci-log")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := tlog.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	l, err := tlog.Open(ctx, dir, tlog.Options{Signer: signer, BatchMaxAge: time.Millisecond, CheckpointInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bundles {
		stream, err := tlog.StreamOf(b)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Append(ctx, b, stream); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	return vkey
}

// RegistryOptions configure an in-process registry.
type RegistryOptions struct {
	// Users maps user names to passwords; empty means no authentication.
	Users map[string]string
	// TLS serves HTTPS with a test certificate (srv.Certificate()).
	TLS bool
	// ReferrersAPI puts a minimal OCI referrers API in front of the
	// registry (distribution v3 has none), as zot or Harbor would offer.
	ReferrersAPI bool
}

// Registry starts CNCF distribution v3 (in-memory storage) on 127.0.0.1
// and returns its server; it stops at the end of the test.
func Registry(t testing.TB, opts RegistryOptions) *httptest.Server {
	t.Helper()
	logrus.SetOutput(io.Discard)
	logrus.SetLevel(logrus.ErrorLevel)
	cfg := &configuration.Configuration{Storage: configuration.Storage{"inmemory": configuration.Parameters{},
		"maintenance": configuration.Parameters{"uploadpurging": map[any]any{"enabled": false}}}}
	cfg.Log.Level = "error"
	cfg.Log.AccessLog.Disabled = true
	if len(opts.Users) > 0 {
		path := filepath.Join(t.TempDir(), "htpasswd")
		var buf bytes.Buffer
		for u, p := range opts.Users {
			h, err := bcrypt.GenerateFromPassword([]byte(p), bcrypt.MinCost)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&buf, "%s:%s\n", u, h)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg.Auth = configuration.Auth{"htpasswd": configuration.Parameters{"realm": "test", "path": path}}
	}
	var h http.Handler = handlers.NewApp(context.Background(), cfg)
	if opts.ReferrersAPI {
		h = &referrersAPI{next: h, refs: map[string][]ocispec.Descriptor{}}
	}
	srv := httptest.NewUnstartedServer(h)
	if opts.TLS {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv
}

// Host returns "127.0.0.1:PORT" of a test server.
func Host(srv *httptest.Server) string { return srv.Listener.Addr().String() }

// Proxy starts a reverse proxy to srv whose responses pass through edit.
func Proxy(t testing.TB, target string, edit func(*http.Response) error) *httptest.Server {
	t.Helper()
	rp := newReverseProxy(target, edit)
	p := httptest.NewServer(rp)
	t.Cleanup(p.Close)
	return p
}
