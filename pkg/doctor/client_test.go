package doctor

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/dossier-audit/dossier/pkg/ingest"
	"github.com/dossier-audit/dossier/pkg/ingest/auth"
)

func TestClientChecksAgainstRealDaemon(t *testing.T) {
	t.Parallel()
	d := newDeployment(t, true)
	os.MkdirAll(d.cfg.DataDir, 0o750)
	tok := filepath.Join(d.dir, "tokens2.json")
	write(t, tok, []byte(`{"tokens":[{"sha256":"`+auth.HashToken("good")+`","subject":"p","roles":["producer"]}]}`))
	d.cfg.Ingest.Auth = auth.Config{TokensFile: tok}
	s, err := ingest.New(context.Background(), d.cfg, ingest.Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	in, _ := s.Handlers()
	srv := httptest.NewServer(in)
	defer srv.Close()
	outbox := t.TempDir()
	os.MkdirAll(filepath.Join(outbox, "dead"), 0o700)

	st := statuses(RunClient(context.Background(), Target{URL: srv.URL, Token: "good", Outbox: outbox}, Options{}))
	if st["daemon"] != OK || st["credentials"] != OK || st["outbox"] != OK {
		t.Fatalf("healthy client: %v", st)
	}
	write(t, filepath.Join(outbox, "dead", "00000000000000000001.json"), []byte("{}"))
	write(t, filepath.Join(outbox, "dead", "00000000000000000001.problem.json"), []byte("{}"))
	r := RunClient(context.Background(), Target{URL: srv.URL, Token: "bad", Outbox: outbox}, Options{})
	st = statuses(r)
	if st["credentials"] != Fail || st["outbox"] != Fail || r.Healthy {
		t.Fatalf("bad token and a dead letter: %+v", r.Checks)
	}
	srv.Close()
	if st := statuses(RunClient(context.Background(), Target{URL: srv.URL, Outbox: ""}, Options{})); st["daemon"] != Fail || st["outbox"] != Warn {
		t.Fatalf("daemon down: %v", st)
	}
}
