package client_test

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/dossier-audit/dossier/pkg/bundle"
	"github.com/dossier-audit/dossier/pkg/client"
	"github.com/dossier-audit/dossier/pkg/ingest"
	"github.com/dossier-audit/dossier/pkg/keyring"
	"github.com/dossier-audit/dossier/pkg/keys"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/run"
	"github.com/dossier-audit/dossier/pkg/spool"
)

// TestImportSpoolIntoRealDaemon is the air-gap path end to end: records
// signed by a producer key on the training side, spooled and packed, then
// imported through dossierd's POST /v1/import, which trusts the producer
// key through its keyring; the second import changes nothing.
func TestImportSpoolIntoRealDaemon(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	producerKey, producerSigner := signerFor(t)
	rootKey, rootSigner := signerFor(t)
	owner := keyring.Owner{Name: "Ops", PersonID: "person:o1", Team: "ops"}
	rk, _ := keyring.NewKey(rootKey.Public(), []string{keyring.RoleRoot}, owner, "2026-11-27T00:00:00Z", "")
	pk, _ := keyring.NewKey(producerKey.Public(), []string{keyring.RoleProducer}, owner, "2026-11-27T00:00:00Z", "")
	doc := &keyring.Document{MediaType: keyring.MediaType, Version: 1, IssuedAt: "2026-11-27T00:00:00Z", RootThreshold: 1, Keys: []keyring.Key{rk, pk}}
	docBytes, err := doc.Marshal()
	check(t, err)
	rds, _ := keyring.NewSigner(ctx, rootSigner)
	env, err := keyring.Sign(docBytes, rds)
	check(t, err)
	kr := filepath.Join(dir, "keyring-v1.json")
	check(t, os.WriteFile(kr, env, 0o600))

	s := realDaemonWith(t, func(cfg *ingest.Config) {
		cfg.Keyring, cfg.KeyringRoot = []string{kr}, keyring.RootFingerprint(docBytes)
	})
	in, _ := s.Handlers()
	srv := httptest.NewServer(in)
	defer srv.Close()

	tarBytes := packSpool(t, producerSigner)
	c, err := client.New(srv.URL, client.Options{Token: itToken})
	check(t, err)
	carrier := record.Party{ID: "person:m41877", Name: "Max Mustermann"}
	first, err := c.ImportSpool(ctx, bytes.NewReader(tarBytes), carrier)
	if err != nil || first.Imported != 2 || first.Transfer == "" {
		t.Fatalf("first import: %+v, %v", first, err)
	}
	again, err := c.ImportSpool(ctx, bytes.NewReader(tarBytes), carrier)
	if err != nil || again.Imported != 0 || again.AlreadyPresent != 2 || !again.TransferExisting || again.Transfer != first.Transfer {
		t.Fatalf("second import: %+v, %v", again, err)
	}
}

func signerFor(t *testing.T) (crypto.Signer, signature.Signer) {
	t.Helper()
	priv, err := keys.Generate(keys.ECDSAP256)
	check(t, err)
	s, err := signature.LoadSigner(priv, crypto.SHA256)
	check(t, err)
	return priv, s
}

// packSpool writes two signed records of one run into a spool and packs it.
func packSpool(t *testing.T, s signature.Signer) []byte {
	t.Helper()
	ctx := context.Background()
	root, err := run.New(run.Registration{RunID: "gap-run", Project: "p", Model: "m",
		StartedBy: run.Identity{ID: "workload:slurm", Kind: "workload"}, StartedAt: "2026-11-27T08:00:00Z"})
	check(t, err)
	d, err := spool.Create(filepath.Join(t.TempDir(), "spool"), "spool-it", "node-17", time.Now)
	check(t, err)
	for i, kind := range []string{"dataset", "run-closed"} {
		var m map[string]any
		check(t, json.Unmarshal(record.Template(kind), &m))
		m["runId"], m["producedAt"] = "gap-run", time.Date(2026, 11, 27, 9, i, 0, 0, time.UTC).Format(time.RFC3339)
		delete(m, "timeEvidence")
		pred, _ := json.Marshal(m)
		k, _ := record.LookupKind(kind)
		rd := record.RunSubject("gap-run", root.Digest())
		subjects, err := record.Subjects(k.PredicateType, pred, &rd)
		check(t, err)
		stmt, err := record.NewStatement(subjects, k.PredicateType, pred)
		check(t, err)
		b, err := bundle.Sign(ctx, s, bundle.PayloadTypeInToto, stmt)
		check(t, err)
		_, err = d.Add(ctx, root, b)
		check(t, err)
	}
	ds, err := keyring.NewSigner(ctx, s)
	check(t, err)
	var buf bytes.Buffer
	_, err = d.Pack(ctx, &buf, spool.PackOptions{PackedBy: record.Party{ID: "workload:slurm", Name: "job"}, Signer: ds})
	check(t, err)
	return buf.Bytes()
}
