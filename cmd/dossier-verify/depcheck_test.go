package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// forbiddenImports are packages the standalone verifier must never link:
// network clients, registry clients, the NTP client, KMS providers and
// sigstore-go (DESIGN.md "Architecture", issue 5 item 4). Prefix match.
var forbiddenImports = []string{
	"net/http",
	"net/rpc",
	"net/smtp",
	"crypto/tls",
	"oras.land/oras-go",
	"github.com/beevik/ntp",
	"github.com/dossier-audit/dossier/pkg/ntp",
	"github.com/dossier-audit/dossier/pkg/keys/kmsproviders",
	"github.com/dossier-audit/dossier/pkg/oci",
	"github.com/dossier-audit/dossier/pkg/tlog/", // only tlogproof is allowed, checked below
	"github.com/sigstore/sigstore-go",
	"github.com/sigstore/sigstore/pkg/signature/kms/aws",
	"github.com/sigstore/sigstore/pkg/signature/kms/azure",
	"github.com/sigstore/sigstore/pkg/signature/kms/gcp",
	"github.com/sigstore/sigstore/pkg/signature/kms/hashivault",
	"github.com/transparency-dev/tessera",
	"google.golang.org/grpc",
}

var allowed = map[string]bool{"github.com/dossier-audit/dossier/pkg/tlog/tlogproof": true}

func goCmd(t *testing.T, env []string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), append([]string{"GOTOOLCHAIN=local"}, env...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %v: %v\n%s", args, err, stderr.String())
	}
	return out
}

// TestDepcheck: `go list -deps` of the binary holds none of the forbidden
// packages.
func TestDepcheck(t *testing.T) {
	deps := strings.Fields(string(goCmd(t, nil, "list", "-deps", ".")))
	for _, d := range deps {
		for _, f := range forbiddenImports {
			if strings.HasPrefix(d, f) && !allowed[d] {
				t.Errorf("dossier-verify links %s (forbidden: %s)", d, f)
			}
		}
	}
}

// networkSymbols match code that opens sockets, dials, or starts
// processes. The "net" package itself is linked by crypto/x509 (IP
// addresses in certificates) and net/url; only its init and
// /etc-file helpers survive dead-code elimination, which this checks.
var networkSymbols = regexp.MustCompile(`(?m) T (net\.(Dial|\(\*Dialer\)|\(\*netFD\)|Listen|\(\*Resolver\)\.(lookup|Lookup))|syscall\.(Socket|Connect)|os/exec\.|net/http\.)`)

// TestBinarySymbols builds the verifier statically and reproducibly
// (CGO_ENABLED=0 go build -trimpath -ldflags=-buildid=) twice: the bytes
// are identical and no dialing, socket or process-spawning code is linked.
func TestBinarySymbols(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary twice")
	}
	dir := t.TempDir()
	var bins [2][]byte
	for i := range bins {
		out := filepath.Join(dir, "dossier-verify"+string(rune('a'+i)))
		goCmd(t, []string{"CGO_ENABLED=0"}, "build", "-trimpath", "-ldflags=-buildid=", "-o", out, ".")
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		bins[i] = b
	}
	if !bytes.Equal(bins[0], bins[1]) {
		t.Fatal("two builds differ: the build is not reproducible")
	}
	nm := goCmd(t, nil, "tool", "nm", filepath.Join(dir, "dossier-verifya"))
	if m := networkSymbols.FindAll(nm, 10); len(m) > 0 {
		t.Fatalf("network or exec code linked: %q", m)
	}
}
