package ingest

import (
	"net/http"

	"github.com/dossier-audit/dossier/pkg/ingest/auth"
)

// exporter builds packages for POST /v1/exports.
type exporter struct{ s *Service }

func newExporter(s *Service) *exporter { return &exporter{s: s} }

func (s *Service) handleExport(w http.ResponseWriter, r *http.Request, id *auth.Identity) *Problem {
	return problem(http.StatusNotImplemented, CodeNotImplemented, "exports over the API are not implemented yet; use 'dossier export' on the log")
}

func (s *Service) handleExportGet(w http.ResponseWriter, r *http.Request, id *auth.Identity) *Problem {
	return problem(http.StatusNotImplemented, CodeNotImplemented, "exports over the API are not implemented yet")
}
