package gate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dossier-audit/dossier/pkg/keys"
	"github.com/dossier-audit/dossier/pkg/policy"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/run"
	"github.com/dossier-audit/dossier/pkg/tlog"
)

// withOtherRun logs a record of another run after the fixture's records
// and returns that run.
func withOtherRun(t *testing.T, f *fixture) *run.Root {
	t.Helper()
	other, err := run.New(run.Registration{RunID: "other-001", Project: "support-assistant", Model: "acme/notes",
		StartedBy: run.Identity{ID: "workload:trainer", Kind: "workload"}, StartedAt: "2026-11-27T09:00:00Z"})
	if err != nil {
		t.Fatal(err)
	}
	l := f.open(t)
	defer f.close(t, l)
	var m map[string]any
	if err := json.Unmarshal(record.Template("run-closed"), &m); err != nil {
		t.Fatal(err)
	}
	m["runId"] = other.Registration.RunID
	pred, _ := json.Marshal(m)
	f.appendTo(t, l, f.signFor(t, other, f.pipeline, "run-closed", pred), other.Digest())
	return other
}

// TestLoadFromOpenLog: the facts read through the open log's Bundle are
// those Load reads from the directory.
func TestLoadFromOpenLog(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	withOtherRun(t, f)
	want := f.load(t)
	l := f.open(t)
	defer f.close(t, l)
	got, err := LoadFrom(context.Background(), f.dir, l.Bundle, f.root, [][]byte{f.keyring}, "")
	if err != nil {
		t.Fatal(err)
	}
	digests := func(rs []policy.Record) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.Digest+"@"+r.Kind)
		}
		return out
	}
	if got.Size != want.Size || !slices.Equal(got.Indices, want.Indices) || !slices.Equal(digests(got.Records), digests(want.Records)) {
		t.Fatalf("LoadFrom: size %d, keyring at %v, records %v; want %d, %v, %v", got.Size, got.Indices, digests(got.Records), want.Size, want.Indices, digests(want.Records))
	}
}

// TestLoadFromRejects: a bundle the store returns tampered, swapped or not
// at all fails LoadFrom as it fails Load.
func TestLoadFromRejects(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	facts := f.load(t)
	victim := facts.Records[len(facts.Records)-1].Digest
	l := f.open(t)
	defer f.close(t, l)
	tests := []struct {
		name string
		get  func(ctx context.Context, d string) ([]byte, error)
		want error
	}{
		{"missing", missingBundle(l, victim), ErrLog},
		{"tampered", func(ctx context.Context, d string) ([]byte, error) {
			b, err := l.Bundle(ctx, d)
			if d == victim && err == nil {
				b = bytes.Replace(b, []byte(`"`), []byte(` "`), 1)
			}
			return b, err
		}, ErrRecord},
		{"swapped", swappedBundle(l, victim, facts.Records[0].Digest), ErrRecord},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadFrom(context.Background(), f.dir, tc.get, f.root, [][]byte{f.keyring}, "")
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), victim) {
				t.Fatalf("LoadFrom: %v, want %v naming %s", err, tc.want, victim)
			}
		})
	}
}

// TestLoadMissingBundleStore: without the bundle store, Load fails with
// ErrLog naming the record it could not read.
func TestLoadMissingBundleStore(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if err := os.RemoveAll(filepath.Join(f.dir, ".dossier", "bundles")); err != nil {
		t.Fatal(err)
	}
	_, err := Load(context.Background(), f.dir, f.root, [][]byte{f.keyring}, "")
	if !errors.Is(err, ErrLog) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load without the bundle store: %v, want ErrLog wrapping fs.ErrNotExist", err)
	}
}

// TestLoadChecksOtherStreams: the leaves of other runs, which Load does
// not keep, still hash into the checkpoint's root: one altered on disk
// fails the load of this run.
func TestLoadChecksOtherStreams(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	other := withOtherRun(t, f)
	f.load(t)
	altered := 0
	err := filepath.WalkDir(filepath.Join(f.dir, "tile", "entries"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		hex := other.Hex()
		flipped := strings.Map(func(r rune) rune {
			if r == '0' {
				return '1'
			}
			return '0'
		}, hex[:1]) + hex[1:]
		if nb := bytes.ReplaceAll(b, []byte(hex), []byte(flipped)); !bytes.Equal(nb, b) {
			altered++
			return os.WriteFile(p, nb, 0o644)
		}
		return nil
	})
	if err != nil || altered == 0 {
		t.Fatalf("altering the other run's leaf: %v, %d entry bundles changed", err, altered)
	}
	if _, err := Load(context.Background(), f.dir, f.root, [][]byte{f.keyring}, ""); !errors.Is(err, ErrLog) || !strings.Contains(err.Error(), "do not hash to the checkpoint root") {
		t.Fatalf("Load with another run's leaf altered: %v, want ErrLog (the leaves do not hash to the root)", err)
	}
}

// TestLoadKeyHint: a record signed by the key that verified the record
// before it, whose bundle's hint names no key or another key, fails as it
// did before verify tried the previous record's key first.
func TestLoadKeyHint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		hint func(f *fixture) string
		want string
	}{
		{"empty", func(*fixture) string { return "" }, "which no keyring version lists"},
		{"another key", func(f *fixture) string { return keys.Fingerprint(f.alice.pub) }, "signature"},
		{"unknown key", func(f *fixture) string { return keys.Fingerprint(f.exporter.pub) + "x" }, "which no keyring version lists"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			var m map[string]any
			if err := json.Unmarshal(record.Template("dataset"), &m); err != nil {
				t.Fatal(err)
			}
			m["name"] = "signed by the pipeline, hint changed"
			pred, _ := json.Marshal(m)
			b := f.sign(t, f.pipeline, "dataset", pred, true)
			hint := []byte(`"hint":"` + keys.Fingerprint(f.pipeline.pub) + `"`)
			if !bytes.Contains(b, hint) {
				t.Fatalf("no %s in the bundle", hint)
			}
			f.appendAll(t, bytes.Replace(b, hint, []byte(`"hint":"`+tc.hint(f)+`"`), 1))
			_, err := Load(context.Background(), f.dir, f.root, [][]byte{f.keyring}, "")
			if !errors.Is(err, ErrRecord) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load: %v, want ErrRecord (%s)", err, tc.want)
			}
		})
	}
}

// missingBundle reads bundles from l except victim's, which is missing.
func missingBundle(l *tlog.Log, victim string) BundleFunc {
	return func(ctx context.Context, d string) ([]byte, error) {
		if d == victim {
			return nil, fs.ErrNotExist
		}
		return l.Bundle(ctx, d)
	}
}

// swappedBundle reads bundles from l, other's bytes in place of victim's.
func swappedBundle(l *tlog.Log, victim, other string) BundleFunc {
	return func(ctx context.Context, d string) ([]byte, error) {
		if d == victim {
			d = other
		}
		return l.Bundle(ctx, d)
	}
}
