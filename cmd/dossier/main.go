// Command dossier is the toolbox of pipelines, reviewers and operators:
// keys, hashing, runs, records, the log and the time check. Each command
// group lives in its own file and registers itself with the registry below.
package main

import (
	"fmt"
	"os"

	"github.com/dossier-audit/dossier/cmd/internal/cli"
)

var commands cli.Registry

const header = `dossier keeps a tamper-evident audit trail of ML training.

usage: dossier <command> [flags] [args]

commands:
`

const footer = `
exit codes:
  0  success (a verification passed)
  1  a check ran and failed (bad signature, changed file, lint findings)
  2  usage error
  3  I/O or internal error: nothing could be concluded

Run 'dossier <command> -h' for the flags of one command.
`

// version is set at release build time (-ldflags "-X main.version=...").
var version string

func main() {
	if cli.IsVersionFlag(os.Args[1:]) {
		fmt.Println("dossier", cli.VersionString(version))
		os.Exit(0)
	}
	os.Exit(commands.Main(cli.Default("dossier"), os.Args[1:], header, footer))
}
