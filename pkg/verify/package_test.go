package verify

import (
	"bytes"
	"testing"
)

func verifyBuilt(b *built, opts PackageOptions) *Result {
	if opts.RootFingerprint == "" {
		opts.RootFingerprint = b.Fingerprint
	}
	return VerifyPackage(bytes.NewReader(b.Tar), int64(len(b.Tar)), opts)
}

func TestVerifyPackageValid(t *testing.T) {
	t.Parallel()
	b := buildPackage(t, spec{Runs: 2, RecordsPerRun: 3})
	res := verifyBuilt(b, PackageOptions{})
	if res.Outcome != Verified {
		for _, f := range res.Failures {
			t.Errorf("failure %s (%s) %s: %s", f.Class, f.Step, f.Subject, f.Message)
		}
		for _, c := range res.Checks {
			if c.Status != Pass {
				t.Errorf("check %+v", c)
			}
		}
		t.Fatalf("outcome %s", res.Outcome)
	}
}
