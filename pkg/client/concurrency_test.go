package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dossier-audit/dossier/pkg/client"
	"github.com/dossier-audit/dossier/pkg/client/clienttest"
	"github.com/dossier-audit/dossier/pkg/record"
)

// TestConcurrentSubmitters: goroutines submitting while the daemon refuses
// lose nothing and duplicate nothing once it serves again.
func TestConcurrentSubmitters(t *testing.T) {
	t.Parallel()
	srv := clienttest.New("tok")
	defer srv.Close()
	c := newClient(t, srv.URL, t.TempDir())
	srv.Refuse(true)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				if _, err := c.Submit(context.Background(), "run-1", "dataset", dataset(fmt.Sprintf("g%d-%d", g, i))); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	srv.Refuse(false)
	if _, err := c.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	seen := map[any]bool{}
	for _, s := range srv.Accepted() {
		if seen[s.Predicate["name"]] {
			t.Fatalf("%v delivered twice", s.Predicate["name"])
		}
		seen[s.Predicate["name"]] = true
	}
	if len(seen) != 80 {
		t.Fatalf("%d delivered, want 80", len(seen))
	}
}

func TestSubmitBundle(t *testing.T) {
	t.Parallel()
	srv := clienttest.New("tok")
	defer srv.Close()
	b := []byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`)
	res, err := newClient(t, srv.URL, "").SubmitBundle(context.Background(), "run-1", b)
	if err != nil || res.Record == "" {
		t.Fatalf("%+v, %v", res, err)
	}
	if got := srv.Accepted(); len(got) != 1 || string(got[0].Bundle) != string(b) {
		t.Fatalf("accepted %+v", got)
	}
}

func TestRedirectIsNotFollowed(t *testing.T) {
	t.Parallel()
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("redirect followed to %s with Authorization %q", r.URL, r.Header.Get("Authorization"))
	}))
	defer elsewhere.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	_, err := newClient(t, srv.URL, "").Submit(context.Background(), "run-1", "dataset", dataset("a"))
	var perr *client.ProblemError
	if !errors.As(err, &perr) || perr.Status != http.StatusTemporaryRedirect || perr.Retryable() {
		t.Fatalf("got %v, want a final 307", err)
	}
}

func TestFlushLoopDrainsWhenDaemonReturns(t *testing.T) {
	t.Parallel()
	srv := clienttest.New("tok")
	defer srv.Close()
	c, err := client.New(srv.URL, client.Options{Token: "tok", OutboxDir: t.TempDir(), Producer: producer})
	if err != nil {
		t.Fatal(err)
	}
	srv.Refuse(true)
	if res, _ := c.Submit(context.Background(), "run-1", "dataset", dataset("a")); !res.Queued {
		t.Fatal("not queued")
	}
	srv.Refuse(false)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go c.FlushLoop(ctx, 20*time.Millisecond)
	for ctx.Err() == nil {
		if n, _ := c.Pending(); n == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(srv.Accepted()) != 1 {
		t.Fatalf("FlushLoop delivered %d, want 1", len(srv.Accepted()))
	}
}

func TestImportSpool(t *testing.T) {
	t.Parallel()
	var carried string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/import" || r.Header.Get("Content-Type") != "application/x-tar" {
			http.Error(w, `{"code":"not-found"}`, http.StatusNotFound)
			return
		}
		carried = r.URL.Query().Get("carriedBy") + ":" + r.URL.Query().Get("carriedByName")
		w.Write([]byte(`{"spool":"sha256:aa","spoolId":"s","records":3,"imported":3,"alreadyPresent":0,"transfer":"sha256:bb","transferExisting":false}`))
	}))
	defer srv.Close()
	res, err := newClient(t, srv.URL, "").ImportSpool(context.Background(), strings.NewReader("tar"), record.Party{ID: "person:m1", Name: "Max"})
	if err != nil || res.Imported != 3 || carried != "person:m1:Max" {
		t.Fatalf("%+v, %v, carried %q", res, err, carried)
	}
}
