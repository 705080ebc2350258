// Command demotsa runs sigstore's timestamp-authority API server
// in-process on a loopback address, with its in-memory test signer and a
// generated chain, for make demo and manual tests (spec/anchors.md §4).
// Unlike the stock timestamp-server binary it opens no other port (that
// one always binds its metrics on :2112, all interfaces) and never
// queries NTP servers. Its chain is new at every start: nothing here is
// for production.
//
//	demotsa [-listen 127.0.0.1:0] [-url-out FILE]
//
// prints the base URL (POST <url>/api/v1/timestamp, GET
// <url>/api/v1/timestamp/certchain) and serves until SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sigstore/timestamp-authority/v2/pkg/server"
	"github.com/spf13/viper"

	"github.com/dossier-audit/dossier/internal/atomicfile"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "loopback address to listen on")
	urlOut := flag.String("url-out", "", "write the base URL to this file once listening")
	flag.Parse()
	if err := run(*listen, *urlOut); err != nil {
		fmt.Fprintf(os.Stderr, "demotsa: %v\n", err)
		os.Exit(1)
	}
}

func run(listen, urlOut string) error {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-listen %s: a loopback address only (this is a test TSA)", listen)
	}
	viper.Set("timestamp-signer", "memory")
	viper.Set("timestamp-signer-hash", "sha256")
	viper.Set("default-policy-oid", "1.3.6.1.4.1.57264.2") // the stock server's defaults
	viper.Set("accepted-policy-oids", []string{"1.3.6.1.4.1.57264.2"})
	viper.Set("include-chain-in-response", true)
	viper.Set("max-request-body-size", 1<<20)
	api := server.NewRestAPIServer(host, 0, []string{"http"}, false, 10*time.Second, 10*time.Second)
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	url := "http://" + ln.Addr().String()
	if urlOut != "" {
		if err := atomicfile.WriteFile(urlOut, []byte(url+"\n"), 0o644); err != nil {
			return err
		}
	}
	fmt.Println(url)
	srv := &http.Server{Handler: api.GetHandler(), ReadHeaderTimeout: 5 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
