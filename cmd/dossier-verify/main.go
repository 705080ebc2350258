// Command dossier-verify checks a Dossier compliance package offline:
//
//	dossier-verify [--json] [--policy FILE] [--trusted-head FILE] [--at RFC3339] --root-fingerprint SHA256:<hex> PACKAGE.tar
//
// It implements spec/package.md §4 through verify.VerifyPackage and the
// conformance CLI protocol of §6: with --json, stdout carries exactly one
// result document. It links no network, registry or NTP client code
// (depcheck_test.go).
package main

import (
	"fmt"
	"os"
	"runtime/debug"

	"github.com/dossier-audit/dossier/cmd/internal/cli"
)

const usage = `usage: dossier-verify [--json] [--policy FILE] [--trusted-head FILE] [--at RFC3339] --root-fingerprint SHA256:<hex> PACKAGE.tar

Verifies a compliance package offline, step by step (spec/package.md §4),
against the keyring root fingerprint obtained out of band.

flags:
`

const exitCodes = `
exit codes:
  0  verified: every mandatory check ran and passed
  1  rejected: a check ran and failed
  2  usage error
  3  inconclusive: the package could not be read (I/O or internal error)
`

// memoryLimit is the soft heap limit (runtime/debug.SetMemoryLimit) unless
// GOMEMLIMIT is set: it keeps the peak of a 10^5-record package under
// 512 MiB by collecting earlier; larger packages still verify, only slower.
const memoryLimit = 384 << 20

// version is set at release build time (-ldflags "-X main.version=...").
var version string

func main() {
	if cli.IsVersionFlag(os.Args[1:]) {
		fmt.Println("dossier-verify", cli.VersionString(version))
		os.Exit(0)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	os.Exit(run(cli.Default("dossier-verify"), os.Args[1:]))
}
