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
	e := &Entry{Method: http.MethodPost, Path: "/v1/runs/" + url.PathEscape(runID) + "/approvals", Body: string(bundle),
		RunID: runID, Kind: "approval", Key: IdempotencyKey(runID, "approval", 1, ContentDigest(bundle))}
	var res Result
	if err := c.send(ctx, e, &res); err != nil {
		return nil, err
	}
	res.Key = e.Key
	return &res, nil
}
