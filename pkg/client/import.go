package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/dossier-audit/dossier/pkg/record"
)

// ImportResult is the daemon's answer to POST /v1/import (pkg/spool.Report).
type ImportResult struct {
	Spool            string `json:"spool"`
	SpoolID          string `json:"spoolId"`
	Records          int    `json:"records"`
	Imported         int    `json:"imported"`
	AlreadyPresent   int    `json:"alreadyPresent"`
	Transfer         string `json:"transfer"`
	TransferExisting bool   `json:"transferExisting"`
}

// ImportSpool sends a spool tar (from 'dossier spool pack') to the daemon
// (POST /v1/import?carriedBy=ID&carriedByName=NAME, Content-Type
// application/x-tar),
// which verifies it and appends its records in their original order with
// receipts, then logs who carried it. Importing the same tar again changes
// nothing. It is never queued in the outbox: the tar is the durable copy.
func (c *Client) ImportSpool(ctx context.Context, tar io.Reader, carriedBy record.Party) (*ImportResult, error) {
	q := url.Values{"carriedBy": {carriedBy.ID}, "carriedByName": {carriedBy.Name}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.base.String(), "/")+"/v1/import?"+q.Encode(), tar)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-tar")
	if c.opts.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.opts.Token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, &NetError{Err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, &NetError{Err: err}
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		return nil, newProblem(resp, b)
	}
	var out ImportResult
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, &NetError{Err: fmt.Errorf("decoding the daemon's answer: %w", err)}
	}
	return &out, nil
}
