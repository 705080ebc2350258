package browsertest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/dossier-audit/dossier/pkg/console"
	"github.com/dossier-audit/dossier/pkg/console/consoletest"
	"github.com/dossier-audit/dossier/pkg/ingest/auth"
)

const chromium = "/usr/bin/chromium"

type tokens map[string]auth.Identity

func (t tokens) Authenticate(r *http.Request) (*auth.Identity, error) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if id, found := t[tok]; ok && found {
		return &id, nil
	}
	return nil, fmt.Errorf("%w: unknown token", auth.ErrUnauthenticated)
}

// needChromium skips without Chromium, or fails under CI=true.
func needChromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing under CI=true: install it (scripts/ci-install-chromium.sh)", chromium)
		}
		t.Skipf("%s is missing: install Chromium (apt-get install -y chromium, or scripts/ci-install-chromium.sh) to run the browser test", chromium)
	}
}

// screenshotDir is out/screenshots at the repository root.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
	out := filepath.Join(dir, "out", "screenshots")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	return out
}

func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium), chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.WindowSize(1280, 1000),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	return ctx
}

func shot(ctx context.Context, t *testing.T, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100: PNG
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReviewerPath(t *testing.T) {
	needChromium(t)
	shots := screenshotDir(t)
	b, err := consoletest.New(3, 12, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	id := auth.Identity{Subject: "rita", Name: "Rita Reviewer", Roles: []string{auth.RoleReviewer, auth.RoleExporter}, Method: auth.MethodToken}
	mux := http.NewServeMux()
	mux.Handle("/console/", console.New(b, console.Options{Auth: tokens{"rev-token": id}}))
	srv := httptest.NewServer(mux) // 127.0.0.1
	defer srv.Close()

	run, _ := b.Run(t.Context(), "run-001")
	bundle, err := b.Approve(run, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	bundlePath := filepath.Join(t.TempDir(), "approval-run-001.json")
	if err := os.WriteFile(bundlePath, bundle, 0o644); err != nil {
		t.Fatal(err)
	}
	downloads := t.TempDir()
	ctx := newBrowser(t)

	// sign in → queue
	step(t, ctx, "sign in",
		chromedp.Navigate(srv.URL+"/console/"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), "rev-token"),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("queue")))
	if text := textOf(ctx, t, "queue"); !strings.Contains(text, "run-001") || !strings.Contains(text, "approvals.required") {
		t.Fatalf("queue shows %q, want run-001 and what it lacks", text)
	}
	shot(ctx, t, shots, "queue.png")

	// queue → run
	step(t, ctx, "open the run",
		chromedp.Click(chromedp.CSS(`a[href="/console/runs/run-001"]`)),
		chromedp.WaitVisible(chromedp.ID("view-digest")))
	if text := textOf(ctx, t, "view-digest"); text != run.ViewDigest {
		t.Fatalf("run page shows view digest %q, want %q", text, run.ViewDigest)
	}
	step(t, ctx, "wait", chromedp.Sleep(time.Second)) // the review iframe loads after the page
	shot(ctx, t, shots, "run.png")

	// upload the approval signed with the reviewer's key
	step(t, ctx, "upload the approval",
		chromedp.SetUploadFiles(chromedp.ID("bundle"), []string{bundlePath}),
		chromedp.Click(chromedp.ID("upload")),
		chromedp.WaitVisible(chromedp.ID("flash")))
	if text := textOf(ctx, t, "flash"); !strings.Contains(text, "logged at index") {
		t.Fatalf("after the upload: %q", text)
	}

	// export the run, then download the package
	step(t, ctx, "export",
		chromedp.Navigate(srv.URL+"/console/exports"),
		chromedp.WaitVisible(chromedp.ID("export-form")),
		chromedp.Click(chromedp.CSS(`input[name="run"][value="run-001"]`)),
		chromedp.SendKeys(chromedp.ID("reason"), "pre-market inspection"),
		chromedp.SendKeys(chromedp.ID("organisation"), "Notified Body 0123"),
		chromedp.Click(chromedp.ID("export")),
		chromedp.WaitVisible(chromedp.ID("flash")))
	if text := textOf(ctx, t, "flash"); !strings.Contains(text, "built and logged") {
		t.Fatalf("after the export: %q", text)
	}
	shot(ctx, t, shots, "export.png")
	ex, _ := b.Exports(t.Context(), console.Page{Limit: 1})
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads}); err != nil {
		t.Fatalf("allowing downloads: %v", err)
	}
	step(t, ctx, "download", chromedp.Click(chromedp.CSS("a.download")))
	got := waitFile(t, filepath.Join(downloads, "dossier-"+ex.Exports[0].ID[:16]+".tar"))
	if d := fmt.Sprintf("sha256:%x", sha256.Sum256(got)); d != ex.Exports[0].Package {
		t.Fatalf("downloaded package hashes to %s, want %s", d, ex.Exports[0].Package)
	}
}

func step(t *testing.T, ctx context.Context, name string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func textOf(ctx context.Context, t *testing.T, id string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID(id)))
	if err != nil {
		t.Fatalf("reading #%s: %v", id, err)
	}
	return strings.TrimSpace(s)
}

// waitFile waits for a completed download.
func waitFile(t *testing.T, path string) []byte {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
			return b
		}
		time.Sleep(100 * time.Millisecond)
	}
	ents, _ := os.ReadDir(filepath.Dir(path))
	t.Fatalf("no download at %s (directory holds %v)", path, ents)
	return nil
}
