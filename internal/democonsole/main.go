// Command democonsole signs in to a running review console with a bearer
// token in headless Chromium (Debian's /usr/bin/chromium, through chromedp)
// and saves screenshots of the queue, a run page and the exports page:
// queue.png, run.png and export.png. make demo runs it against dossierd.
// Without Chromium it says so and exits 0: the demo does not need it.
//
//	go run ./internal/democonsole -url http://127.0.0.1:8081/console/ \
//	  -token-file out/demo/dossierd/console-token -run demo-daemon-run-1 -out out/demo/screenshots
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run parses the flags, takes the screenshots and maps errors to exit codes.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("democonsole", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := Config{}
	var tokenFile string
	fs.StringVar(&cfg.URL, "url", "", "the console's URL, e.g. http://127.0.0.1:8081/console/")
	fs.StringVar(&cfg.Token, "token", "", "the bearer token to sign in with (prefer -token-file)")
	fs.StringVar(&tokenFile, "token-file", "", "a file holding the bearer token")
	fs.StringVar(&cfg.RunID, "run", "", "the run whose page to capture")
	fs.StringVar(&cfg.OutDir, "out", "out/demo/screenshots", "where to write queue.png, run.png and export.png")
	fs.StringVar(&cfg.Chromium, "chromium", DefaultChromium, "the Chromium binary")
	timeout := fs.Duration("timeout", 90*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if tokenFile != "" {
		b, err := os.ReadFile(tokenFile)
		if err != nil {
			fmt.Fprintf(stderr, "democonsole: %v\n", err)
			return 3
		}
		cfg.Token = strings.TrimSpace(string(b))
	}
	if cfg.URL == "" || cfg.Token == "" || cfg.RunID == "" || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "usage: democonsole -url URL (-token TOKEN | -token-file FILE) -run RUNID [-out DIR]")
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	files, err := Capture(ctx, cfg)
	switch {
	case errors.Is(err, ErrNoChromium):
		fmt.Fprintf(stdout, "chromium not installed: no screenshots; install it with scripts/ci-install-chromium.sh (%v)\n", err)
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "democonsole: %v\n", err)
		return 1
	}
	for _, f := range files {
		fmt.Fprintf(stdout, "screenshot %s\n", f)
	}
	return 0
}
