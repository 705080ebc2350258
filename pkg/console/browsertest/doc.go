// Package browsertest drives the review console in headless Chromium
// (Debian's /usr/bin/chromium, through chromedp) along a reviewer's path:
// sign in, queue, run, upload an approval, export, download. It saves
// screenshots under out/screenshots/ at the repository root. Without
// Chromium the test skips, except under CI=true, where it fails.
package browsertest
