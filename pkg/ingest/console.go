package ingest

import "github.com/dossier-audit/dossier/pkg/console"

// consoleExportsDir (under the data directory) holds the packages the review
// console lists: its own exports, and hard links to the API's.
const consoleExportsDir = "exports-console"

// mountConsole serves the review console (pkg/console, see its MOUNT.md)
// at /console/ on the review listener only, when a keyring is configured
// (the console verifies records and approvals against it). Approvals
// uploaded through it are checked by the backend the approval import
// shares (approvals.go) and logged through the submission path, with a
// receipt.
func (s *Service) mountConsole(rev *methodMux) {
	if len(s.keyringEnvs) == 0 {
		s.logger.Info("review console not mounted: no keyring configured")
		return
	}
	b, err := s.reviewBackend()
	if err != nil {
		s.logger.Error("review console not mounted", "err", err)
		return
	}
	rev.Handle("/console/", console.New(b, console.Options{Auth: s.authRev, Now: s.now, Secure: s.cfg.Review.TLSCert != ""}))
}
