package verify

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
)

// classes returns the failure classes of res.
func classes(res *Result) []Failure {
	var out []Failure
	for _, f := range res.Failures {
		out = append(out, f.Class)
	}
	return out
}

func TestVerifyPackageRejects(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		sp    spec
		opts  func(*built) PackageOptions
		class Failure
		step  string
	}{
		{"withheld record", spec{Runs: 2, RecordsPerRun: 3, DropRecord: true}, nil, FailSequence, "8"},
		{"record signed by the time key", spec{Runs: 1, RecordsPerRun: 3, SignWithTimeKey: true}, nil, FailKeyRole, "6"},
		{"record signed by a stranger", spec{Runs: 1, RecordsPerRun: 3, SignWithStranger: true}, nil, FailKeyRole, "6"},
		{"oci subject of another run", spec{Runs: 2, RecordsPerRun: 3, WrongOCISubject: true}, nil, FailSubject, "6"},
		{"checkpoint of another log", spec{Runs: 1, RecordsPerRun: 2, ForeignLogKey: true}, nil, FailCheckpoint, "7"},
		{"edited report", spec{Runs: 1, RecordsPerRun: 2, EditReport: true}, nil, FailHumanCopy, "3"},
		{"export count", spec{Runs: 1, RecordsPerRun: 2, WrongExportCount: true}, nil, FailExport, "10"},
		{"missing run-closed", spec{Runs: 1, RecordsPerRun: 2, NoRunClosed: true}, nil, FailPolicy, "11"},
		{"evidence reference", spec{Runs: 1, RecordsPerRun: 3, EvidenceAfter: true}, nil, FailTime, "9"},
		{"untraceable time", spec{Runs: 1, RecordsPerRun: 2, Verdict: "untraceable"}, nil, FailTimeUntraceable, "9"},
		{"bad time", spec{Runs: 1, RecordsPerRun: 2, Verdict: "bad"}, nil, FailTime, "9"},
		{"unreferenced blob", spec{Runs: 1, RecordsPerRun: 2, ExtraBlob: true}, nil, FailLayout, "2"},
		{"tampered bundle", spec{Runs: 1, RecordsPerRun: 3, TamperBundle: true}, nil, FailSignature, "6"},
		{"wrong fingerprint", spec{Runs: 1, RecordsPerRun: 1}, func(b *built) PackageOptions {
			return PackageOptions{RootFingerprint: "SHA256:" + string(bytes.Repeat([]byte("ab"), 32))}
		}, FailKeyring, "4"},
		{"created after --at", spec{Runs: 1, RecordsPerRun: 1}, func(b *built) PackageOptions {
			return PackageOptions{At: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		}, FailTime, "9"},
		{"auditor policy rejects untraceable", spec{Runs: 1, RecordsPerRun: 1, Verdict: "untraceable",
			PolicyJSON: `{"mediaType":"application/vnd.dossier.policy.v1+json","time":{"accept":["good"],"acceptUntraceable":true,"maxProducerSkewSeconds":300},"requiredKinds":[]}`},
			func(b *built) PackageOptions {
				return PackageOptions{Policy: &Policy{MediaType: PolicyMediaType, Time: TimePolicy{Accept: []string{"good"}}}}
			}, FailTimeUntraceable, "9"},
		{"trusted head larger", spec{Runs: 1, RecordsPerRun: 1}, func(b *built) PackageOptions {
			return PackageOptions{TrustedHead: signedHead(t, b, 1<<20)}
		}, FailConsistency, "12"},
		{"trusted head forked", spec{Runs: 1, RecordsPerRun: 1}, func(b *built) PackageOptions {
			return PackageOptions{TrustedHead: signedHead(t, b, 0)}
		}, FailConsistency, "12"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := buildPackage(t, tc.sp)
			var opts PackageOptions
			if tc.opts != nil {
				opts = tc.opts(b)
			}
			res := verifyBuilt(b, opts)
			if res.Outcome != Rejected {
				t.Fatalf("outcome %s, want rejected; failures %+v", res.Outcome, res.Failures)
			}
			for _, f := range res.Failures {
				if f.Class == tc.class && f.Step == tc.step {
					return
				}
			}
			t.Fatalf("failures %v, want class %s at step %s: %+v", classes(res), tc.class, tc.step, res.Failures)
		})
	}
}

// signedHead signs a checkpoint of the package's log: of size n with a
// made-up root, or (n == 0) of the package's size with another root.
func signedHead(t *testing.T, b *built, n uint64) []byte {
	t.Helper()
	cp, err := tlogproof.ParseCheckpointBody(noteText(t, b.Checkpoint))
	if err != nil {
		t.Fatal(err)
	}
	size := n
	if n == 0 {
		size = cp.Size
	}
	root := cp.Root
	root[0] ^= 1
	out, err := note.Sign(&note.Note{Text: string(tlogproof.FormatCheckpointBody(b.Origin, size, root))}, b.LogSigner)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func noteText(t *testing.T, signed []byte) []byte {
	i := bytes.Index(signed, []byte("\n\n"))
	if i < 0 {
		t.Fatal("not a note")
	}
	return signed[:i+1]
}

func TestVerifyPackageAcceptsUntraceableByPolicy(t *testing.T) {
	t.Parallel()
	b := buildPackage(t, spec{Runs: 1, RecordsPerRun: 1, Verdict: "untraceable"})
	p := &Policy{MediaType: PolicyMediaType, Time: TimePolicy{AcceptUntraceable: true}, RequiredKinds: []string{"run-closed"}}
	res := verifyBuilt(b, PackageOptions{Policy: p})
	if res.Outcome != Verified || res.Summary.PolicySource != "auditor" || res.Summary.TimeVerdicts["untraceable"] != 1 {
		t.Fatalf("outcome %s, source %s, verdicts %v, failures %+v", res.Outcome, res.Summary.PolicySource, res.Summary.TimeVerdicts, res.Failures)
	}
}

func TestVerifyPackageTrustedHeadEqual(t *testing.T) {
	t.Parallel()
	b := buildPackage(t, spec{Runs: 1, RecordsPerRun: 1})
	res := verifyBuilt(b, PackageOptions{TrustedHead: b.Checkpoint})
	if res.Outcome != Verified || !slices.ContainsFunc(res.Checks, func(c Check) bool { return c.Subject == "trusted-head" && c.Status == Pass }) {
		t.Fatalf("outcome %s, failures %+v", res.Outcome, res.Failures)
	}
}

func TestVerifyPackageOptions(t *testing.T) {
	t.Parallel()
	for _, fp := range []string{"", "sha256:" + string(bytes.Repeat([]byte("a"), 64)), "SHA256:abc", "SHA256:" + string(bytes.Repeat([]byte("A"), 64))} {
		if err := CheckOptions(PackageOptions{RootFingerprint: fp}); err == nil {
			t.Errorf("fingerprint %q accepted", fp)
		}
	}
}

func TestVerifyPackageTrustedHeadUnprovable(t *testing.T) {
	t.Parallel()
	b := buildPackage(t, spec{Runs: 1, RecordsPerRun: 1})
	head := signedHead(t, b, 2)
	res := verifyBuilt(b, PackageOptions{TrustedHead: head})
	if res.Outcome != Rejected || !containsClass(res, FailConsistency) {
		t.Fatalf("outcome %s, failures %+v", res.Outcome, res.Failures)
	}
}
