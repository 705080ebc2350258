package keyring

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dossier-audit/dossier/pkg/witness/witnessverify"
)

// MaxTimestampAuthorities bounds the TSAs of one keyring version.
const MaxTimestampAuthorities = 64

// TimestampAuthority is an RFC 3161 time-stamping authority the trust root
// accepts (spec/anchors.md §4): its certificate chain (PEM, signer side
// first, root last), the period in which its tokens count, and optionally
// the TSA policy OID its tokens must carry.
type TimestampAuthority struct {
	Name       string `json:"name"`
	ChainPEM   string `json:"chainPem"`
	ValidFrom  string `json:"validFrom"`
	ValidUntil string `json:"validUntil"`
	Policy     string `json:"policy,omitempty"`
}

// Chain returns the TSA's certificates: the last is the trust anchor, the
// others are intermediates.
func (a *TimestampAuthority) Chain() (roots, intermediates []*x509.Certificate, err error) {
	certs, err := ParseChain([]byte(a.ChainPEM))
	if err != nil {
		return nil, nil, err
	}
	return certs[len(certs)-1:], certs[:len(certs)-1], nil
}

// Validity returns the parsed validFrom and validUntil.
func (a *TimestampAuthority) Validity() (from, until time.Time, err error) {
	if from, err = parseTime("validFrom", a.ValidFrom); err != nil {
		return from, until, err
	}
	until, err = parseTime("validUntil", a.ValidUntil)
	return from, until, err
}

// PolicyOID returns the pinned TSA policy, nil when none is pinned.
func (a *TimestampAuthority) PolicyOID() (asn1.ObjectIdentifier, error) {
	if a.Policy == "" {
		return nil, nil
	}
	return parseOID(a.Policy)
}

// Witnesses parses the document's witness policy; nil, nil when the
// document has none.
func (d *Document) Witnesses() (*witnessverify.Policy, error) {
	if d.WitnessPolicy == "" {
		return nil, nil
	}
	p, err := witnessverify.ParsePolicy([]byte(d.WitnessPolicy))
	if err != nil {
		return nil, invalid("witnessPolicy", "%v", err)
	}
	return p, nil
}

func (d *Document) validateAnchors() error {
	var errs []error
	if n := len(d.TimestampAuthorities); n > MaxTimestampAuthorities {
		errs = append(errs, invalid("timestampAuthorities", "%d entries, limit %d", n, MaxTimestampAuthorities))
	}
	seen := map[string]bool{}
	for i := range d.TimestampAuthorities {
		a := &d.TimestampAuthorities[i]
		path := fmt.Sprintf("timestampAuthorities[%d]", i)
		if seen[a.Name] {
			errs = append(errs, invalid(path+".name", "%q listed twice", a.Name))
		}
		seen[a.Name] = true
		errs = append(errs, a.validate(path))
	}
	errs = append(errs, d.validateWitnessPolicy())
	return errors.Join(errs...)
}

func (a *TimestampAuthority) validate(path string) error {
	var errs []error
	if a.Name == "" || strings.ContainsAny(a.Name, " \t\n") {
		errs = append(errs, invalid(path+".name", "%q, want a non-empty name without spaces", a.Name))
	}
	if _, err := ParseChain([]byte(a.ChainPEM)); err != nil {
		errs = append(errs, invalid(path+".chainPem", "%v", err))
	}
	from, until, err := a.Validity()
	switch {
	case err != nil:
		errs = append(errs, invalid(path, "%v", err))
	case !until.After(from):
		errs = append(errs, invalid(path+".validUntil", "%s is not after validFrom %s", a.ValidUntil, a.ValidFrom))
	}
	if _, err := a.PolicyOID(); err != nil {
		errs = append(errs, invalid(path+".policy", "%v", err))
	}
	return errors.Join(errs...)
}

// validateWitnessPolicy parses the policy and requires every log line to
// name a log key of this document.
func (d *Document) validateWitnessPolicy() error {
	p, err := d.Witnesses()
	if err != nil || p == nil {
		return err
	}
	var logKeys []string
	for _, k := range d.KeysWithRole(RoleLog) {
		logKeys = append(logKeys, k.NoteVerifierKey)
	}
	for _, l := range p.Logs {
		if !slices.Contains(logKeys, l.VKey) {
			return invalid("witnessPolicy", "log %s is not a log key of this keyring", l.VKey)
		}
	}
	return nil
}

// ParseChain parses PEM data holding CERTIFICATE blocks only (at least
// one), as a timestamp authority's chain is written in a keyring.
func ParseChain(rest []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for len(bytes.TrimSpace(rest)) > 0 {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil || b.Type != "CERTIFICATE" {
			return nil, errors.New("want PEM CERTIFICATE blocks only")
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("no certificate")
	}
	return certs, nil
}

func parseOID(s string) (asn1.ObjectIdentifier, error) {
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return nil, fmt.Errorf("%q is not a dotted OID", s)
	}
	oid := make(asn1.ObjectIdentifier, len(parts))
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || (len(p) > 1 && p[0] == '0') {
			return nil, fmt.Errorf("%q is not a dotted OID", s)
		}
		oid[i] = n
	}
	return oid, nil
}
