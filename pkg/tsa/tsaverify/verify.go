// Package tsaverify verifies RFC 3161 time-stamp responses offline: the
// token's CMS signature, its message imprint against the exact bytes that
// were stamped, the nonce and policy, and the TSA certificate chain at the
// token's genTime. It links no network code, so the standalone verifier can
// import it.
package tsaverify

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/digitorus/pkcs7"
	"github.com/digitorus/timestamp"
	"github.com/sigstore/timestamp-authority/v2/pkg/verification"
)

// MaxResponseSize bounds a time-stamp response (a P-256 token with its
// chain is about 2 KB).
const MaxResponseSize = 64 << 10

// Errors returned by Verify, wrapped with their evidence; test with
// errors.Is.
var (
	ErrMalformed = errors.New("malformed time-stamp response")
	// ErrSignature: the CMS signature over the TSTInfo does not verify
	// (a forged or altered token).
	ErrSignature = errors.New("time-stamp token signature does not verify")
	// ErrImprint: the token stamps other bytes than the ones given.
	ErrImprint = errors.New("time-stamp imprint does not match the data")
	// ErrNonce: the token answers another request.
	ErrNonce = errors.New("time-stamp nonce does not match the request")
	// ErrPolicy: the token was issued under another TSA policy.
	ErrPolicy = errors.New("time-stamp policy does not match")
	// ErrUntrusted: the signer certificate does not chain to the
	// configured TSA roots, or lacks the critical timeStamping EKU.
	ErrUntrusted = errors.New("time-stamp signer is not a trusted TSA")
	// ErrValidity: the signer certificate (or the TSA's validity period in
	// the trust root) does not cover genTime ± accuracy.
	ErrValidity = errors.New("time-stamp outside the TSA certificate validity")
)

// Options says what a token must satisfy. Roots is required.
type Options struct {
	Roots         []*x509.Certificate
	Intermediates []*x509.Certificate
	// Nonce, when set, must equal the token's nonce.
	Nonce *big.Int
	// Policy, when set, must equal the token's TSA policy OID.
	Policy asn1.ObjectIdentifier
	// ValidFrom and ValidUntil, when set, bound the TSA's validity period
	// as the trust root states it (independent of the certificate).
	ValidFrom, ValidUntil time.Time
}

// Result is what a verified token proves: the data existed no later than
// GenTime + Accuracy.
type Result struct {
	GenTime  time.Time
	Accuracy time.Duration
	Serial   *big.Int
	Policy   asn1.ObjectIdentifier
	Nonce    *big.Int
	Hash     crypto.Hash
	Signer   *x509.Certificate
}

// Latest returns the upper bound the token puts on the data's existence.
func (r *Result) Latest() time.Time { return r.GenTime.Add(r.Accuracy) }

// Verify checks the DER time-stamp response tsr (a TimeStampResp, as served
// with application/timestamp-reply and read by openssl ts -verify -in)
// against data, the exact bytes that were stamped.
func Verify(tsr, data []byte, opts Options) (*Result, error) {
	ts, err := parse(tsr)
	if err != nil {
		return nil, err
	}
	if err := checkContent(ts, data, opts); err != nil {
		return nil, err
	}
	if _, err := verification.VerifyTimestampResponse(tsr, bytes.NewReader(data), verification.VerifyOpts{
		Roots: opts.Roots, Intermediates: opts.Intermediates, Nonce: opts.Nonce, OID: opts.Policy,
	}); err != nil {
		return nil, classifyChainError(err)
	}
	signer := signerCert(ts)
	if err := checkValidity(ts, signer, opts); err != nil {
		return nil, err
	}
	return &Result{GenTime: ts.Time.UTC(), Accuracy: ts.Accuracy, Serial: ts.SerialNumber, Policy: ts.Policy,
		Nonce: ts.Nonce, Hash: ts.HashAlgorithm, Signer: signer}, nil
}

// Inspect parses tsr without verifying anything but its CMS signature; for
// display only.
func Inspect(tsr []byte) (*Result, error) {
	ts, err := parse(tsr)
	if err != nil {
		return nil, err
	}
	return &Result{GenTime: ts.Time.UTC(), Accuracy: ts.Accuracy, Serial: ts.SerialNumber, Policy: ts.Policy,
		Nonce: ts.Nonce, Hash: ts.HashAlgorithm, Signer: signerCert(ts)}, nil
}

// Response is the RFC 3161 TimeStampResp: a status and, when granted, the
// token.
type Response struct {
	Status         StatusInfo
	TimeStampToken asn1.RawValue `asn1:"optional"`
}

// StatusInfo is the RFC 3161 PKIStatusInfo.
type StatusInfo struct {
	Status       int
	StatusString []string       `asn1:"optional,utf8"`
	FailInfo     asn1.BitString `asn1:"optional"`
}

// Granted reports status granted (0) or grantedWithMods (1).
func (s StatusInfo) Granted() bool { return s.Status == 0 || s.Status == 1 }

// ParseResponse decodes the outer TimeStampResp strictly (DER, no trailing
// bytes) without looking into the token.
func ParseResponse(tsr []byte) (*Response, error) {
	if len(tsr) > MaxResponseSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrMalformed, len(tsr), MaxResponseSize)
	}
	var resp Response
	rest, err := asn1.Unmarshal(tsr, &resp)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(rest))
	}
	return &resp, nil
}

func parse(tsr []byte) (*timestamp.Timestamp, error) {
	resp, err := ParseResponse(tsr)
	if err != nil {
		return nil, err
	}
	if !resp.Status.Granted() || len(resp.TimeStampToken.FullBytes) == 0 {
		return nil, fmt.Errorf("%w: status %d %q, not a granted response with a token", ErrMalformed,
			resp.Status.Status, resp.Status.StatusString)
	}
	return parseToken(resp.TimeStampToken.FullBytes)
}

func parseToken(token []byte) (*timestamp.Timestamp, error) {
	p7, err := pkcs7.Parse(token)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if len(p7.Certificates) == 0 {
		return nil, fmt.Errorf("%w: the token carries no signer certificate (request it with certReq)", ErrMalformed)
	}
	if err := p7.Verify(); err != nil {
		// pkcs7 checks the signing-time attribute against the signer's
		// validity and reports it only as text.
		if strings.Contains(err.Error(), "outside of certificate validity") {
			return nil, fmt.Errorf("%w: %v", ErrValidity, err)
		}
		return nil, fmt.Errorf("%w: %v", ErrSignature, err)
	}
	ts, err := timestamp.Parse(token)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return ts, nil
}

func checkContent(ts *timestamp.Timestamp, data []byte, opts Options) error {
	switch ts.HashAlgorithm {
	case crypto.SHA256, crypto.SHA384, crypto.SHA512:
	default:
		return fmt.Errorf("%w: imprint hash %v, want SHA-256, SHA-384 or SHA-512", ErrMalformed, ts.HashAlgorithm)
	}
	h := ts.HashAlgorithm.New()
	h.Write(data)
	if sum := h.Sum(nil); !bytes.Equal(sum, ts.HashedMessage) {
		return fmt.Errorf("%w: token stamps %x, data hashes to %x", ErrImprint, ts.HashedMessage, sum)
	}
	if opts.Nonce != nil && (ts.Nonce == nil || ts.Nonce.Cmp(opts.Nonce) != 0) {
		return fmt.Errorf("%w: got %v, want %v", ErrNonce, ts.Nonce, opts.Nonce)
	}
	if opts.Policy != nil && !opts.Policy.Equal(ts.Policy) {
		return fmt.Errorf("%w: got %v, want %v", ErrPolicy, ts.Policy, opts.Policy)
	}
	if len(opts.Roots) == 0 {
		return fmt.Errorf("%w: no TSA roots configured", ErrUntrusted)
	}
	return nil
}

func classifyChainError(err error) error {
	var inv x509.CertificateInvalidError
	if errors.As(err, &inv) && inv.Reason == x509.Expired {
		return fmt.Errorf("%w: %v", ErrValidity, err)
	}
	return fmt.Errorf("%w: %v", ErrUntrusted, err)
}

// signerCert returns the embedded certificate that is not a CA (the TSA
// leaf), or the first one.
func signerCert(ts *timestamp.Timestamp) *x509.Certificate {
	for _, c := range ts.Certificates {
		if !c.IsCA {
			return c
		}
	}
	if len(ts.Certificates) > 0 {
		return ts.Certificates[0]
	}
	return nil
}

// checkValidity requires [genTime − accuracy, genTime + accuracy] inside the
// signer certificate's validity and inside the trust root's validity period
// for the TSA (the rule of the Notary Project's timestamp verification).
func checkValidity(ts *timestamp.Timestamp, leaf *x509.Certificate, opts Options) error {
	lo, hi := ts.Time.Add(-ts.Accuracy), ts.Time.Add(ts.Accuracy)
	if leaf == nil {
		return fmt.Errorf("%w: no signer certificate", ErrUntrusted)
	}
	if lo.Before(leaf.NotBefore) || hi.After(leaf.NotAfter) {
		return fmt.Errorf("%w: genTime %s ± %s, certificate valid %s to %s", ErrValidity,
			ts.Time.UTC().Format(time.RFC3339), ts.Accuracy, leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if (!opts.ValidFrom.IsZero() && lo.Before(opts.ValidFrom)) || (!opts.ValidUntil.IsZero() && hi.After(opts.ValidUntil)) {
		return fmt.Errorf("%w: genTime %s ± %s, TSA valid %s to %s in the trust root", ErrValidity,
			ts.Time.UTC().Format(time.RFC3339), ts.Accuracy, fmtTime(opts.ValidFrom), fmtTime(opts.ValidUntil))
	}
	return nil
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
