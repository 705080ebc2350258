package tsatest

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/digitorus/timestamp"
)

// Fault selects how the fake TSA misbehaves.
type Fault int

// The faults a Fake can inject.
const (
	OK           Fault = iota
	Slow               // answer after Fake.Delay
	WrongImprint       // stamp the hash of other bytes
	WrongNonce         // answer with another nonce
	Forged             // flip a byte of the signature
	BadStatus          // answer HTTP 500
	Rejection          // a granted=false TimeStampResp (status rejection)
)

// Fake is a loopback RFC 3161 TSA signing with Leaf.
type Fake struct {
	Leaf  *Leaf
	Fault Fault
	Delay time.Duration
	// Now is the genTime source; time.Now when nil.
	Now func() time.Time
	srv *httptest.Server
}

// NewFake starts a fake TSA on 127.0.0.1 and stops it when the test ends.
func NewFake(t testing.TB, leaf *Leaf, fault Fault) *Fake {
	f := &Fake{Leaf: leaf, Fault: fault, Delay: 5 * time.Second}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// URL is the endpoint to POST requests to.
func (f *Fake) URL() string { return f.srv.URL + "/api/v1/timestamp" }

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if f.Fault == Slow {
		select {
		case <-time.After(f.Delay):
		case <-r.Context().Done():
			return
		}
	}
	if f.Fault == BadStatus {
		http.Error(w, "signer unavailable", http.StatusInternalServerError)
		return
	}
	resp, err := f.respond(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/timestamp-reply")
	_, _ = w.Write(resp)
}

// Token returns a time-stamp response over data signed by leaf at genTime,
// with nonce, as the fake TSA would answer a request with certReq (fault
// applied). It needs no network.
func Token(t testing.TB, leaf *Leaf, data []byte, nonce *big.Int, genTime time.Time, fault Fault) []byte {
	t.Helper()
	req, err := timestamp.CreateRequest(bytes.NewReader(data), &timestamp.RequestOptions{Hash: crypto.SHA256, Certificates: true, Nonce: nonce})
	if err != nil {
		t.Fatal(err)
	}
	f := &Fake{Leaf: leaf, Fault: fault, Now: func() time.Time { return genTime }}
	resp, err := f.respond(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func (f *Fake) respond(body []byte) ([]byte, error) {
	if f.Fault == Rejection {
		return timestamp.CreateErrorResponse(timestamp.Rejection, timestamp.BadRequest)
	}
	req, err := timestamp.ParseRequest(body)
	if err != nil {
		return nil, err
	}
	now := time.Now
	if f.Now != nil {
		now = f.Now
	}
	ts := timestamp.Timestamp{
		HashAlgorithm: req.HashAlgorithm, HashedMessage: req.HashedMessage, Time: now().UTC(),
		Accuracy: time.Second, SerialNumber: big.NewInt(now().UnixNano()), Policy: PolicyOID,
		Nonce: req.Nonce, Certificates: f.Leaf.Chain[1:], AddTSACertificate: req.Certificates,
	}
	switch f.Fault {
	case WrongImprint:
		other := sha256.Sum256([]byte("other bytes"))
		ts.HashAlgorithm, ts.HashedMessage = crypto.SHA256, other[:]
	case WrongNonce:
		ts.Nonce = new(big.Int).Add(req.Nonce, big.NewInt(1))
	}
	out, err := ts.CreateResponseWithOpts(f.Leaf.Cert, f.Leaf.Key, crypto.SHA256)
	if err != nil || f.Fault != Forged {
		return out, err
	}
	out[len(out)-3] ^= 0x01 // inside the signature value, the last field
	return out, nil
}
