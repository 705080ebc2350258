package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dossier-audit/dossier/internal/atomicfile"
)

// DefaultChromium is Debian's Chromium (scripts/ci-install-chromium.sh).
const DefaultChromium = "/usr/bin/chromium"

// ErrNoChromium is returned when the Chromium binary is missing.
var ErrNoChromium = errors.New("chromium not found")

// ErrPage is returned when a console page does not show what it should.
var ErrPage = errors.New("console page")

// Config says where the console is, who signs in and what to capture.
type Config struct {
	URL      string // the console's root, ending in /console/
	Token    string // a bearer token of a reviewer or exporter
	RunID    string // the run whose page is captured
	OutDir   string // where the PNGs go
	Chromium string // the browser binary
}

// Capture signs in and saves queue.png, run.png and export.png in
// cfg.OutDir, returning their paths.
func Capture(ctx context.Context, cfg Config) ([]string, error) {
	if _, err := os.Stat(cfg.Chromium); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoChromium, err)
	}
	if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
		return nil, err
	}
	profile, err := os.MkdirTemp("", "democonsole-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(profile)
	ctx, stop := newBrowser(ctx, cfg.Chromium, profile)
	defer stop()
	base := strings.TrimSuffix(cfg.URL, "/")
	if err := signIn(ctx, base, cfg.Token); err != nil {
		return nil, err
	}
	pages := []struct{ name, path, ready string }{
		{"queue.png", "/queue", "main"},
		{"run.png", "/runs/" + url.PathEscape(cfg.RunID), "#view-digest"},
		{"export.png", "/exports", "#export-form"},
	}
	var files []string
	for _, p := range pages {
		f := filepath.Join(cfg.OutDir, p.name)
		if err := capturePage(ctx, base+p.path, p.ready, f); err != nil {
			return files, err
		}
		files = append(files, f)
	}
	return files, nil
}

// newBrowser starts headless Chromium with the browser test's flags.
func newBrowser(ctx context.Context, chromium, profile string) (context.Context, func()) {
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium), chromedp.UserDataDir(profile),
		chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.WindowSize(1280, 1000),
	}
	actx, cancelA := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelB := chromedp.NewContext(actx)
	return bctx, func() { cancelB(); cancelA() }
}

// signIn exchanges the token for a session cookie on the sign-in form.
func signIn(ctx context.Context, base, token string) error {
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), token),
		chromedp.Click(chromedp.ID("signin"))); err != nil {
		return fmt.Errorf("signing in at %s/login: %w", base, err)
	}
	if err := waitFor(ctx, "nav"); err != nil {
		return fmt.Errorf("%w: signing in: %w", ErrPage, err)
	}
	return nil
}

// capturePage opens u, waits for the ready selector and saves a full-page PNG.
func capturePage(ctx context.Context, u, ready, file string) error {
	if err := chromedp.Do(ctx, chromedp.Navigate(u)); err != nil {
		return fmt.Errorf("opening %s: %w", u, err)
	}
	if err := waitFor(ctx, ready); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrPage, u, err)
	}
	if err := chromedp.Do(ctx, chromedp.Sleep(time.Second)); err != nil { // the run page's review iframe loads after the page
		return err
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100: PNG
	if err != nil {
		return fmt.Errorf("screenshot of %s: %w", u, err)
	}
	return atomicfile.WriteFile(file, png, 0o644)
}

// waitFor polls the page until it holds sel, shows an error (#error, as the
// error page does) or ctx ends.
func waitFor(ctx context.Context, sel string) error {
	js := fmt.Sprintf(`(() => {
  const e = document.getElementById('error');
  if (e) return 'error: ' + e.innerText;
  return document.querySelector(%q) ? 'ok' : '';
})()`, sel)
	for {
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		switch {
		case err == nil && got == "ok":
			return nil
		case err == nil && got != "":
			return errors.New(strings.TrimPrefix(got, "error: "))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no %s on the page: %w", sel, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
