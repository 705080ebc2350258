package ingest

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// Problem type codes: the stable catalogue of spec/errors.md. The
// problem's type is ErrorTypeBase + code.
const (
	CodeMalformed            = "malformed-request"
	CodeUnsupportedMedia     = "unsupported-media-type"
	CodeTooLarge             = "request-too-large"
	CodeUnauthenticated      = "unauthenticated"
	CodeForbidden            = "forbidden"
	CodeNotFound             = "not-found"
	CodeMethod               = "method-not-allowed"
	CodeInvalidRecord        = "invalid-record"
	CodeInvalidRun           = "invalid-run"
	CodeRunConflict          = "run-conflict"
	CodeKeyNotAllowed        = "key-not-allowed"
	CodeSignature            = "signature-invalid"
	CodeRecordConflict       = "record-conflict"
	CodeIdempotencyReused    = "idempotency-key-reused"
	CodeIdempotencyInFlight  = "request-outstanding"
	CodeIdempotencyMalformed = "idempotency-key-invalid"
	CodeTimeUntrusted        = "time-untrusted"
	CodeOverloaded           = "overloaded"
	CodeStorage              = "storage-unavailable"
	CodeSigner               = "signer-unavailable"
	CodeShuttingDown         = "shutting-down"
	CodeProofNotReady        = "proof-not-ready"
	CodeExportFailed         = "export-failed"
	CodeInternal             = "internal-error"
	CodeNotImplemented       = "not-implemented"
	CodeInvalidSpool         = "invalid-spool"
	CodeReleasePolicy        = "release-policy-unmet"
	CodeApprovalRefused      = "approval-refused"
	CodeRunTooLarge          = "run-too-large"
)

// ErrorTypeBase prefixes every problem type URI.
const ErrorTypeBase = "https://dossier.dev/errors/"

// Problem is an RFC 9457 problem document with a stable code.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	Code   string `json:"code"`
	// Rules names the failed policy rules ("<runId>: <rule>") of a
	// release-policy-unmet problem (an RFC 9457 extension member).
	Rules []string `json:"rules,omitempty"`
	// RetryAfter, in seconds, is sent as the Retry-After header.
	RetryAfter int `json:"-"`
}

// Error makes a Problem an error.
func (p *Problem) Error() string { return p.Code + ": " + p.Detail }

var titles = map[string]string{
	CodeMalformed:            "The request is malformed",
	CodeUnsupportedMedia:     "Unsupported media type",
	CodeTooLarge:             "Request body too large",
	CodeUnauthenticated:      "Authentication required",
	CodeForbidden:            "Not allowed",
	CodeNotFound:             "Not found",
	CodeMethod:               "Method not allowed",
	CodeInvalidRecord:        "The record is invalid",
	CodeInvalidRun:           "The run registration is invalid",
	CodeRunConflict:          "The run id is registered with other fields",
	CodeKeyNotAllowed:        "The signing key is not allowed",
	CodeSignature:            "The signature does not verify",
	CodeRecordConflict:       "The record is already logged elsewhere",
	CodeIdempotencyReused:    "Idempotency key reused with another request",
	CodeIdempotencyInFlight:  "A request with this idempotency key is in progress",
	CodeIdempotencyMalformed: "Invalid idempotency key",
	CodeTimeUntrusted:        "Time is not trusted; records are refused",
	CodeOverloaded:           "Too many outstanding requests",
	CodeStorage:              "Storage unavailable",
	CodeSigner:               "Signer unavailable",
	CodeShuttingDown:         "The daemon is shutting down",
	CodeProofNotReady:        "No checkpoint covers the record yet",
	CodeExportFailed:         "The export failed",
	CodeInternal:             "Internal error",
	CodeNotImplemented:       "Not implemented",
	CodeInvalidSpool:         "The spool tar does not verify",
	CodeReleasePolicy:        "The run does not satisfy the release policy",
	CodeApprovalRefused:      "The approval does not verify against the run",
	CodeRunTooLarge:          "The run holds more records than the daemon loads for review",
}

func problem(status int, code, detail string) *Problem {
	return &Problem{Type: ErrorTypeBase + code, Title: titles[code], Status: status, Detail: detail, Code: code}
}

func (p *Problem) retry(seconds int) *Problem { p.RetryAfter = seconds; return p }

// writeProblem sends p as application/problem+json.
func writeProblem(w http.ResponseWriter, p *Problem) {
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	if p.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(p.RetryAfter))
	}
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// writeJSON sends v as application/json with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
