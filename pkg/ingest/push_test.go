package ingest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dossier-audit/dossier/pkg/oci"
	"github.com/dossier-audit/dossier/pkg/oci/ocitest"
	"github.com/dossier-audit/dossier/pkg/oci/remote"
)

// flakyRegistry is the in-process registry behind a switch that answers
// 503 while down.
func flakyRegistry(t *testing.T) (host string, down *atomic.Bool) {
	t.Helper()
	reg := ocitest.Registry(t, ocitest.RegistryOptions{})
	u, _ := url.Parse(reg.URL)
	rp := httputil.NewSingleHostReverseProxy(u)
	down = new(atomic.Bool)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String(), down
}

// TestRegistryDownThenBack ingests while the registry is down, restarts
// the daemon with the backlog, brings the registry back and checks that
// the backlog drains and the registry holds exactly the acknowledged
// records, by digest.
func TestRegistryDownThenBack(t *testing.T) {
	t.Parallel()
	host, down := flakyRegistry(t)
	down.Store(true)
	dir := t.TempDir()
	cfg := testConfigIn(t, dir)
	cfg.Push.Registry = host + "/dossier/records"
	cfg.Push.PlainHTTP = true
	cfg.Push.Interval = Duration(50 * time.Millisecond)
	cfg.Push.MaxBackoff = Duration(200 * time.Millisecond)
	d := startDaemon(t, cfg)
	registerRun(t, d, testRunID)
	var want []string
	for i := range 20 {
		r := submit(t, d, testRunID, datasetBody(t, testRunID, i), "")
		if r.status != http.StatusCreated {
			t.Fatalf("submit with the registry down: %d %s", r.status, r.body)
		}
		want = append(want, decodeResult(t, r).Record)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Second) // oras-go retries 503s for ~13 s
	defer cancel()
	if err := d.s.DrainPush(ctx); err == nil {
		t.Fatal("push succeeded with the registry down")
	}
	if n, _ := d.s.pusher.backlog(t.Context()); n == 0 {
		t.Fatal("no backlog while the registry is down")
	}
	must(t, d.stop())
	d = startDaemon(t, cfg) // the backlog survives the restart
	if n, _ := d.s.pusher.backlog(t.Context()); n == 0 {
		t.Fatal("backlog lost in the restart")
	}
	down.Store(false)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if n, _ := d.s.pusher.backlog(t.Context()); n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("backlog did not drain after the registry came back")
		}
		time.Sleep(50 * time.Millisecond)
	}
	repo, err := remote.Open(cfg.Push.Registry, remote.Options{PlainHTTP: true})
	must(t, err)
	rc, probs, err := oci.ReadRun(context.Background(), repo, testRunID)
	if err != nil || len(probs) > 0 {
		t.Fatalf("reading the run back: %v %v", err, probs)
	}
	var got []string
	for _, r := range rc.Records {
		got = append(got, r.BundleDigest())
	}
	sort.Strings(got)
	sort.Strings(want)
	if len(got) != len(want) {
		t.Fatalf("registry has %d records, acknowledged %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("record %d: registry %s, acknowledged %s", i, got[i], want[i])
		}
	}
	// The local layout holds them too.
	ls, err := oci.OpenLayout(cfg.DataDir + "/layout")
	must(t, err)
	lrc, _, err := oci.ReadRun(context.Background(), ls, testRunID)
	if err != nil || len(lrc.Records) != len(want) {
		t.Fatalf("layout: %v, %d records", err, len(lrc.Records))
	}
}
