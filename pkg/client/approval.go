package client

import (
	"context"
	"net/http"
	"net/url"
)

// SubmitApproval sends an approval a reviewer signed elsewhere ('dossier
// approve', e.g. offline over a package's review document) to the daemon's
// review API, POST /v1/runs/{runId}/approvals, which checks it against the
// run as logged and logs it with a receipt. bundle is the approval's exact
// bytes. It is never queued in the outbox: the reviewer holds the file and
// must see a refusal (a *ProblemError, code approval-refused) at once.
// Sending the same bundle again returns the first answer.
func (c *Client) SubmitApproval(ctx context.Context, runID string, bundle []byte) (*Result, error) {
	return c.submitReviewed(ctx, runID, "approval", "/approvals", bundle)
}

// SubmitPlan sends an evaluation plan signed by a validator's reviewer key
// to POST /v1/runs/{runId}/plans (producer keys use Submit or
// SubmitBundle). Never queued, like SubmitApproval.
func (c *Client) SubmitPlan(ctx context.Context, runID string, bundle []byte) (*Result, error) {
	return c.submitReviewed(ctx, runID, "evaluation-plan", "/plans", bundle)
}

func (c *Client) submitReviewed(ctx context.Context, runID, kind, path string, bundle []byte) (*Result, error) {
	e := &Entry{Method: http.MethodPost, Path: "/v1/runs/" + url.PathEscape(runID) + path, Body: string(bundle),
		RunID: runID, Kind: kind, Key: IdempotencyKey(runID, kind, 1, ContentDigest(bundle))}
	var res Result
	if err := c.send(ctx, e, &res); err != nil {
		return nil, err
	}
	res.Key = e.Key
	return &res, nil
}
