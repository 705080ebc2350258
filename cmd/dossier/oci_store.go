package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"oras.land/oras-go/v2/registry/remote/errcode"

	"github.com/dossier-audit/dossier/cmd/internal/cli"
	"github.com/dossier-audit/dossier/internal/atomicfile"
	"github.com/dossier-audit/dossier/pkg/oci"
	"github.com/dossier-audit/dossier/pkg/oci/remote"
)

// registryPasswordEnv holds a registry password for --username.
const registryPasswordEnv = "DOSSIER_REGISTRY_PASSWORD"

const locationHelp = "a store is layout:DIR (OCI image layout), tar:FILE (uncompressed tar of a layout) or HOST[:PORT]/REPO (registry)"

type registryFlags struct {
	plainHTTP     bool
	caFile        string
	username      string
	passwordStdin bool
	dockerConfig  string
	referrers     string
}

func addRegistryFlags(fs *flag.FlagSet) *registryFlags {
	f := &registryFlags{}
	fs.BoolVar(&f.plainHTTP, "plain-http", false, "talk HTTP, not HTTPS, to the registry (loopback/test registries only)")
	fs.StringVar(&f.caFile, "ca-file", "", "PEM bundle of CAs trusted for the registry, besides the system roots")
	fs.StringVar(&f.username, "username", "", "registry user (password from --password-stdin or $"+registryPasswordEnv+"); default: Docker config credentials")
	fs.BoolVar(&f.passwordStdin, "password-stdin", false, "read the registry password from stdin")
	fs.StringVar(&f.dockerConfig, "registry-config", "", "Docker config file with credentials and helpers (default ~/.docker/config.json)")
	fs.StringVar(&f.referrers, "referrers", "auto", "how referrers are found: auto, api (referrers API) or tags (sha256-<hex> tag schema)")
	return f
}

func (f *registryFlags) options(env *cli.Env) (remote.Options, error) {
	o := remote.Options{PlainHTTP: f.plainHTTP, CAFile: f.caFile, Username: f.username,
		DockerConfig: f.dockerConfig, Referrers: f.referrers}
	if f.username == "" {
		return o, nil
	}
	o.Password = env.Getenv(registryPasswordEnv)
	if f.passwordStdin {
		b, err := io.ReadAll(io.LimitReader(env.Stdin, 64<<10))
		if err != nil {
			return o, cli.Inconclusive(err, "")
		}
		o.Password = strings.TrimRight(string(b), "\r\n")
	}
	return o, nil
}

// store is an opened location; finish writes a tar destination and
// removes temporary directories.
type store struct {
	oci.Reader
	oci.Writer
	finish func(commit bool) error
}

func openStore(env *cli.Env, loc string, rf *registryFlags, write bool) (*store, error) {
	switch {
	case strings.HasPrefix(loc, "layout:"):
		s, err := oci.OpenLayout(strings.TrimPrefix(loc, "layout:"))
		if err != nil {
			return nil, cli.Inconclusive(err, "")
		}
		return &store{Reader: s, Writer: s, finish: func(bool) error { return nil }}, nil
	case strings.HasPrefix(loc, "tar:"):
		return openTar(strings.TrimPrefix(loc, "tar:"), write)
	case pathExists(loc):
		return nil, cli.Usage("store %q is a local path: write layout:%s or tar:%s", loc, loc, loc)
	case strings.Contains(loc, "/") && !strings.HasPrefix(loc, "/") && !strings.HasPrefix(loc, "."):
		opts, err := rf.options(env)
		if err != nil {
			return nil, err
		}
		r, err := remote.Open(loc, opts)
		if err != nil {
			return nil, cli.Usage("%s: %v", loc, err)
		}
		return &store{Reader: r, Writer: r, finish: func(bool) error { return nil }}, nil
	}
	return nil, cli.Usage("store %q: %s", loc, locationHelp)
}

// openTar reads a tar into a temporary layout, or prepares a temporary
// layout that finish writes to path as a tar.
func openTar(path string, write bool) (*store, error) {
	tmp, err := os.MkdirTemp("", "dossier-tar-*")
	if err != nil {
		return nil, cli.Inconclusive(err, "")
	}
	dir := filepath.Join(tmp, "layout")
	cleanup := func() { os.RemoveAll(tmp) }
	if !write {
		if err := extract(path, dir); err != nil {
			cleanup()
			return nil, err
		}
	}
	s, err := oci.OpenLayout(dir)
	if err != nil {
		cleanup()
		return nil, cli.Inconclusive(err, "")
	}
	finish := func(commit bool) error {
		defer cleanup()
		if !write || !commit {
			return nil
		}
		var buf bytes.Buffer
		if err := oci.WriteTar(dir, &buf); err != nil {
			return cli.Inconclusive(err, "")
		}
		if err := atomicfile.WriteNew(path, buf.Bytes(), 0o644); err != nil {
			return cli.Inconclusive(err, "remove the existing tar or choose another name")
		}
		return nil
	}
	return &store{Reader: s, Writer: s, finish: finish}, nil
}

func extract(path, dir string) error {
	f, err := os.Open(path)
	if err != nil {
		return cli.Inconclusive(err, "")
	}
	defer f.Close()
	if err := oci.ExtractTar(f, dir); err != nil {
		if errors.Is(err, oci.ErrUnsafeTar) || errors.Is(err, oci.ErrDigestMismatch) {
			return cli.Failed(fmt.Errorf("%s: %w", path, err), "the tar was not written by 'dossier copy'; do not trust its content")
		}
		return cli.Inconclusive(fmt.Errorf("%s: %w", path, err), "")
	}
	return nil
}

// storeError maps a store error to an exit code.
func storeError(err error) error {
	var ce *cli.Error
	switch {
	case err == nil || errors.As(err, &ce):
		return err
	case errors.Is(err, oci.ErrNotFound):
		return cli.Failed(err, "check the run id and the store")
	case errors.Is(err, oci.ErrDigestMismatch), errors.Is(err, oci.ErrNotCanonical), errors.Is(err, remote.ErrReadBack),
		errors.Is(err, oci.ErrSubjectMismatch), errors.Is(err, oci.ErrInvalidRecord), errors.Is(err, oci.ErrNotLogged),
		errors.Is(err, oci.ErrAttachment):
		return cli.Failed(err, "")
	case isUnauthorized(err):
		return cli.Inconclusive(err, "check --username and the password, or the Docker config credentials for this registry")
	case errors.Is(err, remote.ErrIndexTooLarge):
		return cli.Failed(err, "use a registry with the OCI referrers API (zot, Harbor) for runs this large")
	}
	return cli.Inconclusive(err, "")
}

func isUnauthorized(err error) bool {
	var er *errcode.ErrorResponse
	return errors.As(err, &er) && (er.StatusCode == http.StatusUnauthorized || er.StatusCode == http.StatusForbidden)
}

func pathExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
