package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/dossier-audit/dossier/pkg/verify"
)

// renderHuman prints the result for an auditor: the verdict first, then
// what the package holds, the failures, the checks, and what the verdict
// covers (verified), what it does not prove (asserted) and what was not
// checked.
func renderHuman(w io.Writer, r *verify.Result) {
	fmt.Fprintf(w, "dossier-verify: %s\n\n", strings.ToUpper(string(r.Outcome)))
	renderPackage(w, &r.Summary)
	if len(r.Failures) > 0 {
		fmt.Fprintf(w, "\nfailures (%d):\n", len(r.Failures))
		for _, f := range r.Failures {
			fmt.Fprintf(w, "  step %-3s %-18s %s%s\n", f.Step, f.Class, subject(f.Subject), f.Message)
		}
	}
	fmt.Fprintf(w, "\nchecks:\n")
	for _, c := range r.Checks {
		renderCheck(w, c)
	}
	if r.Outcome == verify.Verified {
		list(w, "verified (cryptographically)", r.Summary.Verified)
	} else {
		fmt.Fprintf(w, "\nverified: nothing can be relied on; the package was %s\n", r.Outcome)
	}
	list(w, "asserted (stated by signers, not proven)", r.Summary.Asserted)
	list(w, "not checked", r.Summary.NotChecked)
}

func renderPackage(w io.Writer, s *verify.Summary) {
	if s.PackageID != "" {
		fmt.Fprintf(w, "package   %s, created %s\n", s.PackageID, s.Created)
	}
	if s.Checkpoint != nil {
		fmt.Fprintf(w, "log       %s, size %d, root %s\n", s.Checkpoint.Origin, s.Checkpoint.Size, s.Checkpoint.RootHash)
	}
	for _, k := range s.Keyring {
		fmt.Fprintf(w, "keyring   v%d %s, issued %s, %d keys\n", k.Version, k.Digest, k.IssuedAt, k.Keys)
	}
	switch s.PolicySource {
	case "package":
		fmt.Fprintf(w, "policy    proposed by the package's exporter (give --policy to apply your own)\n")
	case "auditor":
		fmt.Fprintf(w, "policy    the auditor's (--policy)\n")
	}
	if s.At != "" {
		fmt.Fprintf(w, "at        %s\n", s.At)
	}
	fmt.Fprintf(w, "records   %d %s\n", s.RecordCount, counts(s.Kinds))
	for _, r := range s.Runs {
		fmt.Fprintf(w, "run       %s (%s): %d records %s\n", r.RunID, r.Root, r.Records, counts(r.Kinds))
	}
	if len(s.TimeVerdicts) > 0 {
		fmt.Fprintf(w, "time      %s\n", counts(s.TimeVerdicts))
	}
	renderAnchors(w, s.Anchors)
}

// maxAnchorLines bounds the per-record anchor lines of the human output
// (--json lists every record).
const maxAnchorLines = 50

// renderAnchors prints, per record, whether its time is anchored (and by
// what, no later than when) or only asserted by the log operator, and any
// fork evidence as the transferable document it is.
func renderAnchors(w io.Writer, a *verify.AnchorSummary) {
	if a == nil {
		return
	}
	if len(a.ForkEvidence) > 0 {
		renderFork(w, a.ForkEvidence)
		return
	}
	fmt.Fprintf(w, "anchors   %d anchored checkpoint(s): %d record(s) anchored, %d asserted by the operator\n", a.Entries, a.Anchored, a.Asserted)
	for i, r := range a.Records {
		if i == maxAnchorLines {
			fmt.Fprintf(w, "          ... %d more (--json lists all)\n", len(a.Records)-i)
			break
		}
		if r.Status == "anchored" {
			fmt.Fprintf(w, "          #%d %s anchored: existed no later than %s (%s)\n", r.Index, r.Digest, r.NotAfter, strings.Join(r.By, ", "))
		} else {
			fmt.Fprintf(w, "          #%d %s asserted by the operator\n", r.Index, r.Digest)
		}
	}
}

func renderFork(w io.Writer, ev []byte) {
	var b bytes.Buffer
	if json.Indent(&b, ev, "  ", "  ") == nil {
		fmt.Fprintf(w, "\nFORK EVIDENCE: two validly signed checkpoints of this log cannot both be honest.\n"+
			"Keep this document; anyone can check it with the log's public key:\n  %s\n", b.String())
	}
}

func renderCheck(w io.Writer, c verify.Check) {
	what := c.Message
	if c.Count > 0 {
		what = fmt.Sprintf("%d checked", c.Count)
	}
	fmt.Fprintf(w, "  %-11s step %-3s %-18s %s%s\n", c.Status, c.Step, c.Class, subject(c.Subject), what)
}

func subject(s string) string {
	if s == "" {
		return ""
	}
	return s + ": "
}

func list(w io.Writer, title string, items []string) {
	if len(items) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%s:\n", title)
	for _, it := range items {
		fmt.Fprintf(w, "  - %s\n", it)
	}
}

// counts renders a kind->count map as "(a 1, b 2)", sorted.
func counts(m map[string]int) string {
	if len(m) == 0 {
		return "(none)"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return "(" + strings.Join(parts, ", ") + ")"
}
