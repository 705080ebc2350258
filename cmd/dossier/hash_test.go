package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dossier-audit/dossier/cmd/internal/cli"
	"github.com/dossier-audit/dossier/pkg/digest"
)

// runHashCmd runs "dossier hash" in-process and returns the exit code,
// stdout and stderr.
func runHashCmd(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	env := &cli.Env{Prog: "dossier", Stdout: &out, Stderr: &errb, Now: time.Now,
		Getenv: func(string) string { return "" }}
	code := commands.Main(env, append([]string{"hash"}, args...), "", "")
	return code, out.String(), errb.String()
}

func hashTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range map[string]string{"data/a.bin": "alpha", "data/b.bin": "beta", "notes.tmp": "x"} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestHashCommand(t *testing.T) {
	t.Parallel()
	dir := hashTree(t)
	outside := hashTree(t)
	escaping := hashTree(t)
	os.Symlink(filepath.Join(outside, "data", "a.bin"), filepath.Join(escaping, "l"))
	existing := filepath.Join(t.TempDir(), "salt")
	os.WriteFile(existing, []byte("x"), 0o600)
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr string
	}{
		{"human", []string{dir}, 0, []string{"  5  data/a.bin\n", "  4  data/b.bin\n", "  1  notes.tmp\n"}, "hashed 3 files, 10 B in"},
		{"flags after paths", []string{dir, "--exclude", "*.tmp", "--json"}, 0, []string{`"excludes": [` + "\n" + `    "*.tmp"`, `"fileCount": 2`}, ""},
		{"double dash", []string{"--json", "--", dir}, 0, []string{`"fileCount": 3`}, ""},
		{"escaping link", []string{escaping}, 1, nil, "hint: hash the directory that holds the link targets"},
		{"external links allowed", []string{"--allow-external-links", escaping}, 0, []string{" -> ../", "/data/a.bin\n"}, ""},
		{"no path", nil, 2, nil, "hash needs at least one PATH"},
		{"missing path", []string{filepath.Join(dir, "nope")}, 3, nil, "no such file"},
		{"bad pattern", []string{"--exclude", "[", dir}, 2, nil, "bad exclude pattern"},
		{"hash names without salt file", []string{"--hash-names", dir}, 2, nil, "--hash-names needs --salt-out FILE"},
		{"salt-out exists", []string{"--hash-names", "--salt-out", existing, dir}, 2, nil, "file exists"},
		{"check with excludes", []string{"--check", "m.json", "--exclude", "x", dir}, 2, nil, "takes its excludes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runHashCmd(tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, stdout, stderr)
			}
			for _, s := range tc.stdout {
				if !strings.Contains(stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout)
				}
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, stderr)
			}
		})
	}
}

func TestHashCommandCheck(t *testing.T) {
	t.Parallel()
	dir := hashTree(t)
	manifest := filepath.Join(t.TempDir(), "m.json")
	if code, stdout, stderr := runHashCmd("-o", manifest, "--exclude", "*.tmp", dir); code != 0 || stdout != "" {
		t.Fatalf("hash -o: exit %d, stdout %q: %s", code, stdout, stderr)
	}
	code, stdout, stderr := runHashCmd("--check", manifest, dir)
	if code != 0 || !strings.Contains(stdout, "2 files checked: identical") {
		t.Fatalf("unchanged: exit %d\n%s%s", code, stdout, stderr)
	}
	os.WriteFile(filepath.Join(dir, "data", "a.bin"), []byte("ALPHA"), 0o644)
	os.Remove(filepath.Join(dir, "data", "b.bin"))
	os.WriteFile(filepath.Join(dir, "data", "c.bin"), []byte("c"), 0o644)
	os.WriteFile(filepath.Join(dir, "more.tmp"), []byte("c"), 0o644)
	code, stdout, stderr = runHashCmd("--check", manifest, dir)
	for _, want := range []string{"missing       data/b.bin", "added         data/c.bin", "changed       data/a.bin", "1 missing, 1 added, 1 changed, 0 type changed"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if code != 1 || !strings.Contains(stderr, "the data differs from") {
		t.Errorf("changed: exit %d, stderr %q", code, stderr)
	}
	code, stdout, _ = runHashCmd("--check", manifest, "--json", dir)
	if code != 1 || !strings.Contains(stdout, `"mediaType": "`+digest.CheckMediaType) || !strings.Contains(stdout, `"identical": false`) {
		t.Errorf("--json: exit %d:\n%s", code, stdout)
	}
	os.WriteFile(manifest, []byte("{}"), 0o644)
	if code, _, stderr = runHashCmd("--check", manifest, dir); code != 1 || !strings.Contains(stderr, "bad hash manifest") {
		t.Errorf("bad manifest: exit %d, %s", code, stderr)
	}
}

func TestHashCommandHashedNames(t *testing.T) {
	t.Parallel()
	dir := hashTree(t)
	tmp := t.TempDir()
	salt, manifest := filepath.Join(tmp, "salt"), filepath.Join(tmp, "m.json")
	code, stdout, stderr := runHashCmd("--hash-names", "--salt-out", salt, "-o", manifest, dir)
	if code != 0 || strings.Contains(stdout, "data/") {
		t.Fatalf("exit %d, names visible:\n%s%s", code, stdout, stderr)
	}
	if fi, err := os.Stat(salt); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("salt file: %v, %v", fi, err)
	}
	if code, _, stderr = runHashCmd("--check", manifest, dir); code != 2 || !strings.Contains(stderr, "--salt FILE") {
		t.Errorf("check without salt: exit %d, %s", code, stderr)
	}
	if code, stdout, stderr = runHashCmd("--check", manifest, "--salt", salt, dir); code != 0 {
		t.Errorf("check with salt: exit %d\n%s%s", code, stdout, stderr)
	}
	os.WriteFile(filepath.Join(dir, "data", "b.bin"), []byte("BETA"), 0o644)
	code, stdout, _ = runHashCmd("--check", manifest, "--salt", salt, dir)
	if code != 1 || !strings.Contains(stdout, " = data/b.bin (sha256") {
		t.Errorf("check of a changed file: exit %d, clear path missing:\n%s", code, stdout)
	}
	os.WriteFile(filepath.Join(dir, "data", "b.bin"), []byte("beta"), 0o644)
	_, again, _ := runHashCmd("--hash-names", "--salt", salt, "--json", dir)
	want, _ := os.ReadFile(manifest)
	if again != string(want) {
		t.Errorf("--salt reuse gives a different manifest:\n%s\nwant\n%s", again, want)
	}
}
