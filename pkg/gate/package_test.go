package gate

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/dossier-audit/dossier/pkg/dossier"
	"github.com/dossier-audit/dossier/pkg/keyring"
	"github.com/dossier-audit/dossier/pkg/policy"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/review"
	"github.com/dossier-audit/dossier/pkg/run"
)

// export writes a package of the fixture's run and returns its path.
func (f *fixture) export(t *testing.T) string {
	t.Helper()
	l := f.open(t)
	defer f.close(t, l)
	out := filepath.Join(t.TempDir(), "package.tar")
	_, err := dossier.Export(context.Background(), dossier.ExportRequest{Runs: []*run.Root{f.root}, Keyring: [][]byte{f.keyring},
		Producer: record.Producer{ID: "person:erika", Name: "Erika", Kind: "person"}, RequestedBy: record.Party{ID: "person:erika", Name: "Erika"},
		Recipient: record.Recipient{Organisation: "Model risk committee"}, Purpose: "review", At: at, Output: out}, dossier.Deps{Log: l, Exporter: f.exporter.signer})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestLoadPackage: a "for review" package (no approvals yet) gives the
// same facts and the same review document as the log; after the approvals
// a second package satisfies the policy.
func TestLoadPackage(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	v1, err := keyring.Parse(f.keyring)
	if err != nil {
		t.Fatal(err)
	}
	pin := keyring.RootFingerprint(v1.Payload)
	load := func(path string) *Facts {
		t.Helper()
		file, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer file.Close()
		st, _ := file.Stat()
		facts, _, err := LoadPackage(file, st.Size(), "", pin)
		if err != nil {
			t.Fatal(err)
		}
		return facts
	}
	fromLog := f.load(t)
	fromPkg := load(f.export(t))
	digests := func(fs *Facts) []string {
		var out []string
		for _, r := range fs.Records {
			out = append(out, r.Digest)
		}
		return out
	}
	if !slices.Equal(digests(fromLog), digests(fromPkg)) || !slices.Equal(fromLog.Indices, fromPkg.Indices) {
		t.Fatalf("package facts %q (keyring at %v) differ from the log's %q (%v)", digests(fromPkg), fromPkg.Indices, digests(fromLog), fromLog.Indices)
	}
	docLog, dLog, _ := review.Render(fromLog.ReviewInput(nil, ""))
	docPkg, dPkg, err := review.Render(fromPkg.ReviewInput(nil, ""))
	if err != nil || dLog != dPkg {
		t.Fatalf("review from the package %s differs from the log's %s (%v)", dPkg, dLog, err)
	}
	f.appendAll(t, f.approval(t, docPkg, f.rita, "approve"), f.approval(t, docLog, f.victor, "approve"))
	pol, _ := policy.Parse([]byte(releasePolicy))
	if rep := policy.Evaluate(load(f.export(t)).PolicyInput(pol, at, false)); !rep.OK() {
		t.Fatalf("policy over the approved package: %s", rep.Error())
	}
}

func TestLoadPackageRejects(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	path := f.export(t)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v1, _ := keyring.Parse(f.keyring)
	pin := keyring.RootFingerprint(v1.Payload)
	r := bytes.NewReader(b)
	if _, _, err := LoadPackage(r, int64(len(b)), "other-run", pin); !errors.Is(err, ErrPackage) {
		t.Errorf("another run id: %v, want ErrPackage", err)
	}
	if _, _, err := LoadPackage(r, int64(len(b)), "", "SHA256:"+weightsHex); !errors.Is(err, ErrPackage) {
		t.Errorf("another pin: %v, want ErrPackage", err)
	}
	bad := slices.Clone(b)
	bad[len(bad)/2] ^= 1
	if _, _, err := LoadPackage(bytes.NewReader(bad), int64(len(bad)), "", pin); !errors.Is(err, ErrPackage) {
		t.Errorf("a flipped byte: %v, want ErrPackage", err)
	}
}
