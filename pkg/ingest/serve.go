package ingest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/dossier-audit/dossier/pkg/ingest/auth"
)

// Run starts the service and its listeners and serves until ctx ends;
// then it stops accepting connections, lets requests in progress finish
// (Limits.ShutdownTimeout), drains submissions and closes the log.
func Run(ctx context.Context, cfg Config, deps Deps) error {
	s, err := New(ctx, cfg, deps)
	if err != nil {
		return err
	}
	in, err := net.Listen("tcp", cfg.Ingest.Addr)
	if err != nil {
		_ = s.Close(context.Background())
		return fmt.Errorf("ingest listener: %w", err)
	}
	var rev net.Listener
	if cfg.Review.Addr != "" {
		if rev, err = net.Listen("tcp", cfg.Review.Addr); err != nil {
			in.Close()
			_ = s.Close(context.Background())
			return fmt.Errorf("review listener: %w", err)
		}
	}
	return s.Serve(ctx, in, rev)
}

// Serve serves the ingest handler on in and the review handler on rev
// (nil when there is no review listener) until ctx ends, then shuts down
// gracefully and closes the service.
func (s *Service) Serve(ctx context.Context, in, rev net.Listener) error {
	hin, hrev := s.Handlers()
	servers := []*http.Server{}
	errc := make(chan error, 2)
	start := func(l net.Listener, h http.Handler, lc Listener, name string) error {
		srv, err := s.server(h, lc)
		if err != nil {
			return err
		}
		servers = append(servers, srv)
		s.logger.Info("listening", "listener", name, "addr", l.Addr().String(), "tls", srv.TLSConfig != nil)
		go func() {
			var err error
			if srv.TLSConfig != nil {
				err = srv.ServeTLS(l, "", "")
			} else {
				err = srv.Serve(l)
			}
			if !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("%s listener: %w", name, err)
			}
		}()
		return nil
	}
	err := start(in, hin, s.cfg.Ingest, ListenerIngest)
	if err == nil && rev != nil {
		err = start(rev, hrev, s.cfg.Review, ListenerReview)
	}
	if err == nil {
		select {
		case <-ctx.Done():
		case err = <-errc:
		}
	}
	return errors.Join(err, s.shutdown(servers))
}

func (s *Service) shutdown(servers []*http.Server) error {
	s.logger.Info("shutting down: draining requests")
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Limits.ShutdownTimeout.D())
	defer cancel()
	var errs []error
	for _, srv := range servers {
		errs = append(errs, srv.Shutdown(ctx))
	}
	errs = append(errs, s.Close(ctx))
	err := errors.Join(errs...)
	s.logger.Info("stopped", "err", err)
	return err
}

// server builds an http.Server with the limits against slow and large
// requests and, when configured, TLS (client certificates requested for
// mTLS and verified by the authenticator).
func (s *Service) server(h http.Handler, lc Listener) (*http.Server, error) {
	l := s.cfg.Limits
	srv := &http.Server{Handler: h, ReadHeaderTimeout: l.ReadHeaderTimeout.D(), ReadTimeout: l.ReadTimeout.D(),
		WriteTimeout: l.WriteTimeout.D(), IdleTimeout: l.IdleTimeout.D(), MaxHeaderBytes: l.MaxHeaderBytes,
		ErrorLog: slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn)}
	if lc.TLSCert == "" {
		return srv, nil
	}
	cert, err := tls.LoadX509KeyPair(lc.TLSCert, lc.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("%w: TLS: %v", ErrConfig, err)
	}
	srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if lc.Auth.ClientCAFile != "" {
		pool, err := auth.ClientCAPool(lc.Auth.ClientCAFile)
		if err != nil {
			return nil, err
		}
		srv.TLSConfig.ClientCAs = pool
		srv.TLSConfig.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return srv, nil
}
