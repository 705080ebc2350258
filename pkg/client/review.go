package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// MaxReviewBytes bounds a review document read from the daemon (as
// review.MaxDocument bounds one read back from a file).
const MaxReviewBytes = 256 << 20

// ErrViewDigest is wrapped by ViewDigestError.
var ErrViewDigest = errors.New("review document does not match its view digest")

// ViewDigestError is a review document whose bytes do not hash to the
// Dossier-View-Digest header the daemon sent with it (or one without a
// well-formed header): Got is the digest of the bytes received.
type ViewDigestError struct {
	Got, Want string
}

func (e *ViewDigestError) Error() string {
	return fmt.Sprintf("%v: got %s, header says %q", ErrViewDigest, e.Got, e.Want)
}

func (e *ViewDigestError) Unwrap() error { return ErrViewDigest }

// ErrReviewTooLarge is returned for a review document over MaxReviewBytes.
var ErrReviewTooLarge = errors.New("review document too large")

// Review is a run's review document as the daemon served it.
type Review struct {
	// Document is the exact bytes 'dossier approve --review' signs.
	Document []byte
	// ViewDigest is "sha256:<hex>" of Document (checked against the
	// Dossier-View-Digest header).
	ViewDigest string
}

var viewDigestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// Review fetches the run's current review document, GET
// /v1/runs/{runId}/review (a reviewer, exporter or operator identity), and
// checks that its bytes hash to the Dossier-View-Digest header. A refusal
// is a *ProblemError, a transport failure a *NetError, a mismatch a
// *ViewDigestError.
func (c *Client) Review(ctx context.Context, runID string) (*Review, error) {
	u := strings.TrimSuffix(c.base.String(), "/") + "/v1/runs/" + url.PathEscape(runID) + "/review"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/html, application/problem+json")
	if c.opts.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.opts.Token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, &NetError{Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return nil, newProblem(resp, b)
	}
	return readReview(resp)
}

// readReview reads a 200 answer's body, bounded, and checks its digest.
func readReview(resp *http.Response) (*Review, error) {
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxReviewBytes+1))
	if err != nil {
		return nil, &NetError{Err: err}
	}
	if len(b) > MaxReviewBytes {
		return nil, fmt.Errorf("%w: over %d bytes", ErrReviewTooLarge, MaxReviewBytes)
	}
	got, want := ContentDigest(b), resp.Header.Get("Dossier-View-Digest")
	if got != want || !viewDigestRE.MatchString(want) {
		return nil, &ViewDigestError{Got: got, Want: want}
	}
	return &Review{Document: b, ViewDigest: got}, nil
}
