package doctor

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/mod/sumdb/note"

	"github.com/dossier-audit/dossier/pkg/ingest"
	"github.com/dossier-audit/dossier/pkg/ingest/auth"
	"github.com/dossier-audit/dossier/pkg/keyring"
	"github.com/dossier-audit/dossier/pkg/keys"
	"github.com/dossier-audit/dossier/pkg/ntp"
	"github.com/dossier-audit/dossier/pkg/timecheck"
	"github.com/dossier-audit/dossier/pkg/tlog"
	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
)

func (d *doctor) config() {
	if err := d.cfg.Validate(); err != nil {
		d.add("config", Fail, strings.ReplaceAll(err.Error(), "\n", "; "), "fix the configuration file (see deploy/README.md) or the DOSSIERD_* variables")
		return
	}
	d.add("config", OK, "valid; data in "+d.cfg.DataDir, "")
}

// time runs the daemon's time check once and says what the daemon's
// policy would do with the verdict.
func (d *doctor) time(ctx context.Context) {
	tc := d.cfg.Time
	if len(tc.Servers) == 0 {
		d.add("time", d.policyStatus(tc.OnUnknown), "no NTP server configured: every record is stamped with unknown time quality (policy: "+tc.OnUnknown+")",
			"list your internal NTP servers in time.servers (e.g. the chrony servers of the cluster)")
		return
	}
	p := timecheck.DefaultPolicy()
	if tc.MinAgreeing > 0 {
		p.MinAgreeing = tc.MinAgreeing
	}
	if tc.MaxError > 0 {
		p.MaxError = tc.MaxError.D()
	}
	p.AllowUntraceable = tc.AllowUntraceable
	timeout := d.opts.NTPTimeout
	if timeout == 0 {
		timeout = ntp.DefaultTimeout
	}
	r := ntp.Check(ctx, tc.Servers, p, ntp.Options{Timeout: timeout, Now: d.opts.Now})
	action := map[timecheck.Verdict]string{timecheck.Good: ingest.PolicyFlag, timecheck.Degraded: tc.OnDegraded,
		timecheck.Untraceable: tc.OnUntraceable, timecheck.Bad: tc.OnBad}[r.Verdict]
	detail := fmt.Sprintf("%s: %s (%d of %d servers agree)", r.Verdict, r.Diagnosis, r.Agreeing, len(tc.Servers))
	switch {
	case r.Verdict == timecheck.Good:
		d.add("time", OK, detail, "")
	case action == ingest.PolicyRefuse:
		d.add("time", Fail, detail+"; the daemon refuses records (503 time-untrusted) with this verdict",
			"check the NTP servers ('dossier timecheck --server ...' shows each one) or change the policy time."+policyField[r.Verdict])
	default:
		d.add("time", Warn, detail+"; the daemon accepts records and flags their receipts",
			"check the NTP servers with 'dossier timecheck --server ...'")
	}
}

var policyField = map[timecheck.Verdict]string{timecheck.Degraded: "onDegraded", timecheck.Untraceable: "onUntraceable", timecheck.Bad: "onBad"}

func (d *doctor) policyStatus(p string) Status {
	if p == ingest.PolicyRefuse {
		return Fail
	}
	return Warn
}

func (d *doctor) keys(ctx context.Context) {
	d.ingestKey(ctx)
	d.logKey()
	d.keyring()
}

func (d *doctor) ingestKey(ctx context.Context) {
	if d.cfg.IngestKey == "" {
		return
	}
	src := keys.PasswordSource{Getenv: d.opts.Getenv, File: d.cfg.IngestKeyPassword}
	var lo []keys.LoadOption
	if d.cfg.IngestKeyUnencrypted {
		lo = append(lo, keys.AllowUnencrypted())
	}
	s, err := keys.LoadSigner(ctx, d.cfg.IngestKey, src.PassFunc(), lo...)
	if err != nil {
		d.add("ingest key", Fail, err.Error(), "check ingestKey and ingestKeyPasswordFile (or $"+keys.PasswordEnv+"); create a key with 'dossier key generate'")
		return
	}
	pub, err := keys.PublicKey(ctx, s)
	if err != nil {
		d.add("ingest key", Fail, err.Error(), "check that the KMS key is reachable and allows reading its public key")
		return
	}
	d.ingestKeyID = keys.Fingerprint(pub)
	d.add("ingest key", OK, "readable, "+d.ingestKeyID, "")
}

func (d *doctor) logKey() {
	if d.cfg.LogKey == "" {
		return
	}
	b, err := os.ReadFile(d.cfg.LogKey)
	if err == nil {
		d.logVKey, err = verifierKey(string(b))
	}
	if err != nil {
		d.add("log key", Fail, err.Error(), "logKey must be the .key file written by 'dossier log init' (or tlog.GenerateKey)")
		return
	}
	d.add("log key", OK, "readable, origin "+strings.SplitN(d.logVKey, "+", 2)[0], "")
}

// verifierKey derives the note verifier key of an Ed25519 note signer key
// ("PRIVATE+KEY+<name>+<hash>+<base64(1 || seed)>").
func verifierKey(skey string) (string, error) {
	skey = strings.TrimSpace(skey)
	if _, err := tlog.NewSigner(skey); err != nil {
		return "", err
	}
	f := strings.SplitN(skey, "+", 5)
	if len(f) != 5 {
		return "", errors.New("log key is not a note signer key")
	}
	raw, err := base64.StdEncoding.DecodeString(f[4])
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != 1 {
		return "", errors.New("log key is not an Ed25519 note signer key")
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	return note.NewEd25519VerifierKey(f[2], pub)
}

func (d *doctor) keyring() {
	if len(d.cfg.Keyring) == 0 {
		d.add("keyring", Warn, "no keyring configured: pipeline-signed bundles are refused and receipts are checked against the ingest key alone",
			"create one with 'dossier keyring create' (roles ingest, log, producer...) and set keyring and keyringRoot")
		return
	}
	var envs [][]byte
	for _, f := range d.cfg.Keyring {
		b, err := os.ReadFile(f)
		if err != nil {
			d.add("keyring", Fail, err.Error(), "check the keyring file paths")
			return
		}
		envs = append(envs, b)
	}
	sorted, err := keyring.SortEnvelopes(envs)
	var c *keyring.Chain
	if err == nil {
		c, err = keyring.VerifyChain(d.cfg.KeyringRoot, sorted...)
	}
	if err != nil {
		d.add("keyring", Fail, err.Error(), "check keyringRoot (the pinned fingerprint, from 'dossier keyring fingerprint') and the version files")
		return
	}
	doc := c.Latest()
	d.add("keyring", OK, fmt.Sprintf("%d versions verify from the pinned root", len(c.Versions)), "")
	d.keyRole(doc, "ingest key role", d.ingestKeyID, keyring.RoleIngest)
	if d.logVKey != "" {
		d.logInKeyring(doc)
	}
}

func (d *doctor) keyRole(doc *keyring.Document, name, id, role string) {
	if id == "" {
		return
	}
	k, ok := doc.Key(id)
	switch {
	case !ok:
		d.add(name, Fail, fmt.Sprintf("%s is not in keyring version %d", id, doc.Version),
			fmt.Sprintf("add it: dossier keyring create --previous <newest version> --add %s:<public key>:... signed by the root keys", role))
	case k.Revoked():
		d.add(name, Fail, fmt.Sprintf("%s is revoked in keyring version %d (%s)", id, doc.Version, k.Revocation.Reason), "rotate to a new key and add it to the keyring")
	case !k.HasRole(role):
		d.add(name, Fail, fmt.Sprintf("%s has roles %v, not %s", id, k.Roles, role), "give the key the "+role+" role in a new keyring version")
	default:
		d.add(name, OK, fmt.Sprintf("%s holds %s in keyring version %d", id, role, doc.Version), "")
	}
}

func (d *doctor) logInKeyring(doc *keyring.Document) {
	for _, k := range doc.KeysWithRole(keyring.RoleLog) {
		if k.NoteVerifierKey == d.logVKey && !k.Revoked() {
			d.add("log key role", OK, "the log key is in keyring version "+fmt.Sprint(doc.Version), "")
			return
		}
	}
	d.add("log key role", Fail, "the log key is not a log key of keyring version "+fmt.Sprint(doc.Version),
		"add it with --add log:<the .vkey file>:... in a new keyring version")
}

func (d *doctor) dataDir() {
	if d.cfg.DataDir == "" {
		return
	}
	if _, err := os.Stat(d.cfg.DataDir); errors.Is(err, os.ErrNotExist) {
		d.add("data directory", Fail, d.cfg.DataDir+" does not exist", "create it, owned by the dossierd user, on storage where fsync is honoured (not NFS without sync, not tmpfs)")
		return
	}
	f, err := os.CreateTemp(d.cfg.DataDir, ".doctor-*")
	if err == nil {
		_, err = f.Write([]byte("x"))
		if serr := f.Sync(); err == nil {
			err = serr
		}
		f.Close()
		os.Remove(f.Name())
	}
	if err != nil {
		d.add("data directory", Fail, "not writable: "+err.Error(), "give the dossierd user write access to "+d.cfg.DataDir)
		return
	}
	if free, ok := freeBytes(d.cfg.DataDir); ok {
		if free < 1<<30 {
			d.add("data directory", Warn, fmt.Sprintf("writable, %d MiB free", free>>20), "free space: below the reserve the daemon refuses records (507/503 storage-full)")
			return
		}
		d.add("data directory", OK, fmt.Sprintf("writable, fsync works, %d GiB free", free>>30), "")
		return
	}
	d.add("data directory", OK, "writable, fsync works", "")
}

func (d *doctor) log() {
	dir := filepath.Join(d.cfg.DataDir, "log")
	cp, err := tlog.ReadCheckpoint(dir)
	if errors.Is(err, os.ErrNotExist) {
		d.add("log", OK, "not created yet: dossierd creates "+dir+" on first start", "")
		return
	}
	if err != nil {
		d.add("log", Fail, err.Error(), "restore "+dir+" from backup, or investigate with 'dossier log checkpoint --dir "+dir+"'")
		return
	}
	if d.logVKey == "" {
		d.add("log", Warn, "checkpoint present but not verified (no log key)", "set logKey")
		return
	}
	v, err := tlog.NewVerifier(d.logVKey)
	if err == nil {
		_, err = tlogproof.VerifyCheckpoint(cp, v)
	}
	if err != nil {
		d.add("log", Fail, "the checkpoint is not signed by the configured log key: "+err.Error(),
			"logKey does not belong to this log directory: point logKey at the right key or dataDir at the right log")
		return
	}
	d.add("log", OK, "checkpoint signed by the log key: "+strings.SplitN(string(cp), "\n", 3)[1]+" records", "")
}

func (d *doctor) registry(ctx context.Context) {
	pc := d.cfg.Push
	if pc.Registry == "" {
		d.add("registry", Skip, "no registry: records stay in the local layout "+filepath.Join(d.cfg.DataDir, "layout"), "")
		return
	}
	host := strings.SplitN(pc.Registry, "/", 2)[0]
	scheme := "https"
	if pc.PlainHTTP {
		scheme = "http"
	}
	client := *d.opts.HTTP
	if pc.CAFile != "" {
		pool, err := caPool(pc.CAFile)
		if err != nil {
			d.add("registry", Fail, err.Error(), "check push.caFile")
			return
		}
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+host+"/v2/", nil)
	resp, err := client.Do(req)
	if err != nil {
		d.add("registry", Fail, "unreachable: "+err.Error(), "check push.registry, the firewall between the DMZ and the registry, and push.plainHTTP/caFile")
		return
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusUnauthorized {
		d.add("registry", Fail, fmt.Sprintf("%s answered %s to /v2/", host, resp.Status), "is push.registry an OCI registry (distribution, Harbor, zot)?")
		return
	}
	d.add("registry", OK, fmt.Sprintf("%s answers the OCI distribution API (%d)", host, resp.StatusCode), "")
}

func caPool(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return p, nil
}

// listener checks a listener's TLS files and authentication, and whether
// its port is free or already served by a healthy dossierd.
func (d *doctor) listener(ctx context.Context, name string, l ingest.Listener) {
	if l.Addr == "" {
		return
	}
	name = name + " listener " + l.Addr
	tlsOn := l.TLSCert != "" || l.TLSKey != ""
	if tlsOn {
		if _, err := tls.LoadX509KeyPair(l.TLSCert, l.TLSKey); err != nil {
			d.add(name, Fail, "TLS: "+err.Error(), "check tlsCert and tlsKey")
			return
		}
	}
	if _, err := auth.Load(l.Auth, d.opts.Now); err != nil {
		d.add(name, Fail, "authentication: "+err.Error(), "configure tokensFile, clientCAFile or jwt.jwksFile for this listener (deploy/README.md)")
		return
	}
	if !tlsOn && !isLoopback(l.Addr) {
		d.add(name, Warn, "plain HTTP on a non-loopback address: bearer tokens travel in clear", "set tlsCert and tlsKey")
	}
	d.port(ctx, name, l.Addr, tlsOn)
}

func (d *doctor) port(ctx context.Context, name, addr string, tlsOn bool) {
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		ln.Close()
		d.add(name, OK, "port free", "")
		return
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		d.add(name, Fail, err.Error(), "check the address (is it an address of this host?)")
		return
	}
	scheme := "http"
	client := *d.opts.HTTP
	if tlsOn {
		scheme = "https"
		// Liveness only: the certificate was checked above.
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+addr+"/healthz", nil)
	resp, err := client.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	if err != nil || resp.StatusCode != http.StatusOK {
		d.add(name, Fail, "port in use by something that is not a healthy dossierd", "stop the other program or choose another address")
		return
	}
	d.add(name, OK, "dossierd is serving (/healthz 200)", "")
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
