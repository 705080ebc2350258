package verify

import (
	"os"
	"path/filepath"
	"testing"
)

// TestWriteCLITestdata regenerates cmd/dossier-verify/testdata (packages
// signed with fresh keys, so only when asked):
//
//	DOSSIER_WRITE_CLI_TESTDATA=1 go test ./pkg/verify -run TestWriteCLITestdata
func TestWriteCLITestdata(t *testing.T) {
	if os.Getenv("DOSSIER_WRITE_CLI_TESTDATA") != "1" {
		t.Skip("set DOSSIER_WRITE_CLI_TESTDATA=1 to regenerate cmd/dossier-verify/testdata")
	}
	dir := filepath.Join("..", "..", "cmd", "dossier-verify", "testdata")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	valid := buildPackage(t, spec{Runs: 1, RecordsPerRun: 2})
	files := map[string][]byte{
		"valid.tar":               valid.Tar,
		"root-fingerprint":        []byte(valid.Fingerprint + "\n"),
		"trusted-head":            valid.Checkpoint,
		"untraceable.tar":         buildPackage(t, spec{Runs: 1, RecordsPerRun: 2, Verdict: "untraceable"}).Tar,
		"withheld.tar":            buildPackage(t, spec{Runs: 1, RecordsPerRun: 2, DropRecord: true}).Tar,
		"edited-report.tar":       buildPackage(t, spec{Runs: 1, RecordsPerRun: 2, EditReport: true}).Tar,
		"accept-untraceable.json": []byte(`{"mediaType":"application/vnd.dossier.policy.v1+json","time":{"accept":["good"],"acceptUntraceable":true,"maxProducerSkewSeconds":300},"requiredKinds":["dataset","run-closed"]}` + "\n"),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
