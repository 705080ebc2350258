package auth

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"time"
)

// CertRule maps a verified client certificate to an identity. Exactly one
// of URI, DNS, Email or CommonName is set; it must equal a URI SAN (e.g. a
// SPIFFE ID), a DNS SAN, an email SAN or the subject common name of the leaf
// certificate. Subject defaults to the matched value.
type CertRule struct {
	URI        string   `json:"uri,omitempty"`
	DNS        string   `json:"dns,omitempty"`
	Email      string   `json:"email,omitempty"`
	CommonName string   `json:"commonName,omitempty"`
	Subject    string   `json:"subject,omitempty"`
	Name       string   `json:"name,omitempty"`
	Team       string   `json:"team,omitempty"`
	Roles      []string `json:"roles"`
}

// maxChain bounds the certificates a client may present.
const maxChain = 5

type certAuth struct {
	pool  *x509.CertPool
	rules []CertRule
	now   func() time.Time
}

// ClientCAPool reads a PEM bundle of client CAs, for the listener's
// tls.Config.ClientCAs (with ClientAuth tls.VerifyClientCertIfGiven). The
// Authenticator verifies the chain again itself, at its own clock.
func ClientCAPool(path string) (*x509.CertPool, error) {
	b, err := readLimited(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%w: %s holds no PEM certificate", ErrConfig, path)
	}
	return pool, nil
}

func loadCerts(caFile string, rules []CertRule, now func() time.Time) (*certAuth, error) {
	pool, err := ClientCAPool(caFile)
	if err != nil {
		return nil, err
	}
	for i, r := range rules {
		if n := countSet(r.URI, r.DNS, r.Email, r.CommonName); n != 1 {
			return nil, fmt.Errorf("%w: certificate rule %d: set exactly one of uri, dns, email, commonName (got %d)", ErrConfig, i, n)
		}
		if err := validRoles(r.Roles); err != nil {
			return nil, fmt.Errorf("certificate rule %d: %w", i, err)
		}
	}
	return &certAuth{pool: pool, rules: rules, now: now}, nil
}

func countSet(vals ...string) int {
	n := 0
	for _, v := range vals {
		if v != "" {
			n++
		}
	}
	return n
}

// authenticate verifies the presented chain against the client CAs at the
// injected time (independently of what the TLS stack did) and maps the leaf.
func (c *certAuth) authenticate(cs *tls.ConnectionState) (*Identity, error) {
	certs := cs.PeerCertificates
	if len(certs) > maxChain {
		return nil, fmt.Errorf("%w: client presented %d certificates, limit %d", ErrUnauthenticated, len(certs), maxChain)
	}
	inter := x509.NewCertPool()
	for _, ic := range certs[1:] {
		inter.AddCert(ic)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{
		Roots:         c.pool,
		Intermediates: inter,
		CurrentTime:   c.now(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return nil, fmt.Errorf("%w: client certificate: %v", ErrUnauthenticated, err)
	}
	for _, r := range c.rules {
		if v, ok := r.match(certs[0]); ok {
			id := &Identity{Subject: r.Subject, Name: r.Name, Team: r.Team, Roles: append([]string(nil), r.Roles...), Method: MethodMTLS}
			if id.Subject == "" {
				id.Subject = v
			}
			return id, nil
		}
	}
	return nil, fmt.Errorf("%w: client certificate %q matches no rule", ErrUnauthenticated, certs[0].Subject.String())
}

func (r CertRule) match(c *x509.Certificate) (string, bool) {
	switch {
	case r.URI != "":
		for _, u := range c.URIs {
			if u.String() == r.URI {
				return r.URI, true
			}
		}
	case r.DNS != "":
		for _, d := range c.DNSNames {
			if d == r.DNS {
				return r.DNS, true
			}
		}
	case r.Email != "":
		for _, e := range c.EmailAddresses {
			if e == r.Email {
				return r.Email, true
			}
		}
	case r.CommonName != "":
		return r.CommonName, c.Subject.CommonName == r.CommonName
	}
	return "", false
}
