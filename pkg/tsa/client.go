// Package tsa is an RFC 3161 time-stamping client: it asks a TSA for a
// token over the exact bytes of a signed checkpoint (SHA-256 imprint, a
// random nonce, certReq, an optional policy OID) and verifies the answer
// with tsaverify before returning it. Verification alone, without network
// code, is in package tsaverify.
package tsa

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"time"

	"github.com/digitorus/timestamp"

	"github.com/dossier-audit/dossier/pkg/tsa/tsaverify"
)

// Media types of RFC 3161 over HTTP (RFC 3161 §3.4).
const (
	QueryMediaType = "application/timestamp-query"
	ReplyMediaType = "application/timestamp-reply"
)

// DefaultTimeout bounds one request when the Client has no http.Client.
const DefaultTimeout = 10 * time.Second

// Errors of the client, besides the tsaverify errors a bad answer gives.
var (
	// ErrUnavailable: the TSA could not be reached or did not answer in
	// time (retry later; the anchor is delayed, nothing is lost).
	ErrUnavailable = errors.New("time-stamping authority unavailable")
	// ErrRefused: the TSA answered, but not with a granted token.
	ErrRefused = errors.New("time-stamping authority refused the request")
)

// Client requests tokens from one TSA.
type Client struct {
	// URL is the TSA endpoint, e.g. https://tsa.internal/api/v1/timestamp.
	URL string
	// HTTP is the client used; nil means one with DefaultTimeout.
	HTTP *http.Client
	// Policy, when set, is requested and required in the token.
	Policy asn1.ObjectIdentifier
	// Verify holds the TSA roots (and validity) the answer must satisfy.
	Verify tsaverify.Options
	// Rand is the nonce source; crypto/rand when nil.
	Rand io.Reader
}

// Stamp is a verified token over some bytes.
type Stamp struct {
	// Response is the DER TimeStampResp exactly as the TSA sent it (what
	// "openssl ts -verify -in" reads).
	Response []byte
	Result   *tsaverify.Result
}

// Stamp asks the TSA for a token over data and verifies it (imprint, nonce,
// policy, chain at genTime) before returning it.
func (c *Client) Stamp(ctx context.Context, data []byte) (*Stamp, error) {
	nonce, err := c.nonce()
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	req := timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: sum[:], Certificates: true,
		Nonce: nonce, TSAPolicyOID: c.Policy}
	query, err := req.Marshal()
	if err != nil {
		return nil, fmt.Errorf("encoding time-stamp request: %w", err)
	}
	resp, err := c.post(ctx, query)
	if err != nil {
		return nil, err
	}
	opts := c.Verify
	opts.Nonce, opts.Policy = nonce, c.Policy
	res, err := tsaverify.Verify(resp, data, opts)
	if err != nil {
		return nil, fmt.Errorf("answer of %s: %w", c.URL, err)
	}
	return &Stamp{Response: resp, Result: res}, nil
}

func (c *Client) nonce() (*big.Int, error) {
	r := c.Rand
	if r == nil {
		r = rand.Reader
	}
	n, err := rand.Int(r, new(big.Int).Lsh(big.NewInt(1), 63))
	if err != nil {
		return nil, fmt.Errorf("drawing a nonce: %w", err)
	}
	return n, nil
}

func (c *Client) post(ctx context.Context, query []byte) ([]byte, error) {
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: DefaultTimeout}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(query))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	req.Header.Set("Content-Type", QueryMediaType)
	req.Header.Set("Accept", ReplyMediaType)
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, tsaverify.MaxResponseSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading the answer of %s: %v", ErrUnavailable, c.URL, err)
	}
	if resp.StatusCode >= 500 {
		return nil, fmt.Errorf("%w: %s answered %s", ErrUnavailable, c.URL, resp.Status)
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("%w: %s answered %s: %.200s", ErrRefused, c.URL, resp.Status, body)
	}
	if len(body) > tsaverify.MaxResponseSize {
		return nil, fmt.Errorf("%w: answer larger than %d bytes", tsaverify.ErrMalformed, tsaverify.MaxResponseSize)
	}
	r, err := tsaverify.ParseResponse(body)
	if err != nil {
		return nil, err
	}
	if !r.Status.Granted() {
		return nil, fmt.Errorf("%w: %s answered status %d %q", ErrRefused, c.URL, r.Status.Status, r.Status.StatusString)
	}
	return body, nil
}
