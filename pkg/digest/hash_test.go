package digest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// writeTree creates files (name -> content) and links (name -> target)
// below a new temporary directory and returns it.
func writeTree(t *testing.T, files, links map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, target := range links {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.FromSlash(target), p); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func mustHash(t *testing.T, roots []string, opts Options) *Manifest {
	t.Helper()
	m, err := Hash(context.Background(), roots, opts)
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	return m
}

func names(m *Manifest) []string {
	var out []string
	for _, f := range m.Files {
		out = append(out, f.Name)
	}
	return out
}

func TestHashTree(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string]string{
		"a/b/c.bin": "hello",
		"a-x":       "dash sorts before slash",
		"empty":     "",
		"z.txt":     "zz",
	}, nil)
	m := mustHash(t, []string{dir}, Options{Workers: 3})
	want := []ResourceDescriptor{
		{Name: "a-x", Digest: DigestSet{sha("dash sorts before slash")}, Annotations: Annotations{Size: 23}},
		{Name: "a/b/c.bin", Digest: DigestSet{sha("hello")}, Annotations: Annotations{Size: 5}},
		{Name: "empty", Digest: DigestSet{emptySHA256}, Annotations: Annotations{Size: 0}},
		{Name: "z.txt", Digest: DigestSet{sha("zz")}, Annotations: Annotations{Size: 2}},
	}
	if len(m.Files) != len(want) {
		t.Fatalf("files = %v, want %d files", names(m), len(want))
	}
	for i := range want {
		if m.Files[i] != want[i] {
			t.Errorf("files[%d] = %+v, want %+v", i, m.Files[i], want[i])
		}
	}
	lines := "sha256:" + sha("dash sorts before slash") + " 23 a-x\n" +
		"sha256:" + sha("hello") + " 5 a/b/c.bin\n" +
		"sha256:" + emptySHA256 + " 0 empty\n" +
		"sha256:" + sha("zz") + " 2 z.txt\n"
	if m.TreeDigest != "sha256:"+sha(lines) {
		t.Errorf("treeDigest = %s, want sha256:%s", m.TreeDigest, sha(lines))
	}
	if m.TotalBytes != 30 || m.FileCount != 4 || m.Roots[0] != filepath.Base(dir) {
		t.Errorf("totals = %d bytes, %d files, roots %v", m.TotalBytes, m.FileCount, m.Roots)
	}
	if d := m.Descriptor("ds"); d.Digest.SHA256 != sha(lines) || d.Annotations.Size != 30 {
		t.Errorf("Descriptor = %+v", d)
	}
}

func TestHashDeterministic(t *testing.T) {
	t.Parallel()
	files := map[string]string{"x/1": "1", "x/2": "22", "y": "333"}
	for i := range 20 {
		files["many/"+string(rune('a'+i))] = strings.Repeat("q", i*1000)
	}
	dir := writeTree(t, files, map[string]string{"l": "x/1"})
	first, err := mustHash(t, []string{dir}, Options{Workers: 1}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []int{2, 7, 0} {
		b, _ := mustHash(t, []string{dir}, Options{Workers: w}).Marshal()
		if !bytes.Equal(b, first) {
			t.Errorf("workers %d: manifest differs:\n%s\nwant\n%s", w, b, first)
		}
	}
}

func TestHashEmpty(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	m := mustHash(t, []string{dir}, Options{})
	if m.FileCount != 0 || m.TreeDigest != "sha256:"+emptySHA256 {
		t.Errorf("empty dir: %d files, tree %s", m.FileCount, m.TreeDigest)
	}
	b, _ := m.Marshal()
	if !bytes.Contains(b, []byte(`"files": []`)) || !bytes.Contains(b, []byte(`"excludes": []`)) {
		t.Errorf("empty lists must marshal as []:\n%s", b)
	}
}

func TestHashRoots(t *testing.T) {
	t.Parallel()
	parent := writeTree(t, map[string]string{"train/p0": "0", "test/p1": "1", "single.bin": "s"}, nil)
	m := mustHash(t, []string{filepath.Join(parent, "train"), filepath.Join(parent, "test")}, Options{})
	if got := strings.Join(names(m), ","); got != "test/p1,train/p0" {
		t.Errorf("names = %s, want test/p1,train/p0", got)
	}
	if got := strings.Join(m.Roots, ","); got != "train,test" {
		t.Errorf("roots = %s, want train,test (argument order)", got)
	}
	m = mustHash(t, []string{filepath.Join(parent, "single.bin")}, Options{})
	if got := strings.Join(names(m), ","); got != "single.bin" {
		t.Errorf("file root names = %s, want single.bin", got)
	}
	other := writeTree(t, map[string]string{"train/p0": "other"}, nil)
	_, err := Hash(context.Background(), []string{filepath.Join(parent, "train"), filepath.Join(other, "train")}, Options{})
	if !errors.Is(err, ErrBadName) {
		t.Errorf("two roots named train: err = %v, want ErrBadName", err)
	}
}

// hfRepo builds a Hugging Face cache repository: snapshot files are links
// into blobs/.
func hfRepo(t *testing.T) string {
	return writeTree(t, map[string]string{
		"blobs/aaa": "weights",
		"blobs/bbb": `{"config":1}`,
		"refs/main": "rev1",
	}, map[string]string{
		"snapshots/rev1/model.safetensors": "../../blobs/aaa",
		"snapshots/rev1/config.json":       "../../blobs/bbb",
	})
}

func TestHashHuggingFaceSnapshot(t *testing.T) {
	t.Parallel()
	repo := hfRepo(t)
	m := mustHash(t, []string{repo}, Options{})
	byName := map[string]ResourceDescriptor{}
	for _, f := range m.Files {
		byName[f.Name] = f
	}
	link := byName["snapshots/rev1/model.safetensors"]
	if link.Annotations.LinkTarget != "blobs/aaa" || link.Digest.SHA256 != sha("weights") {
		t.Errorf("snapshot link = %+v, want target blobs/aaa, digest of the blob", link)
	}
	if byName["blobs/aaa"].Annotations.LinkTarget != "" {
		t.Errorf("blob recorded as a link: %+v", byName["blobs/aaa"])
	}
	snap := filepath.Join(repo, "snapshots", "rev1")
	if _, err := Hash(context.Background(), []string{snap}, Options{}); !errors.Is(err, ErrLinkEscapes) {
		t.Fatalf("snapshot alone: err = %v, want ErrLinkEscapes", err)
	}
	m = mustHash(t, []string{snap}, Options{AllowExternalLinks: true})
	if m.Files[0].Name != "config.json" || m.Files[0].Annotations.LinkTarget != "../../blobs/bbb" || !m.AllowExternalLinks {
		t.Errorf("external link = %+v, want target ../../blobs/bbb", m.Files[0])
	}
}

func TestHashDirectoryLink(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string]string{"v2/data": "d"}, map[string]string{"latest": "v2"})
	m := mustHash(t, []string{dir}, Options{})
	if got := m.Files[0]; got.Name != "latest/data" || got.Annotations.LinkTarget != "v2/data" {
		t.Errorf("files[0] = %+v, want latest/data -> v2/data", got)
	}
}

func TestHashRefuses(t *testing.T) {
	t.Parallel()
	outside := writeTree(t, map[string]string{"secret": "s"}, nil)
	for _, tc := range []struct {
		name  string
		files map[string]string
		links map[string]string
		opts  Options
		want  error
	}{
		{"escaping link", nil, map[string]string{"l": filepath.Join(outside, "secret")}, Options{}, ErrLinkEscapes},
		{"escaping relative link", map[string]string{"f": "x"}, map[string]string{"l": "../.."}, Options{}, ErrLinkEscapes},
		{"broken link", nil, map[string]string{"l": "missing"}, Options{}, ErrBrokenLink},
		{"link loop", nil, map[string]string{"a": "b", "b": "a"}, Options{}, ErrLinkCycle},
		{"directory link to parent", map[string]string{"sub/f": "x"}, map[string]string{"sub/up": ".."}, Options{}, ErrLinkCycle},
		{"external link to an ancestor", map[string]string{"sub/f": "x"}, map[string]string{"sub/up": "../.."}, Options{AllowExternalLinks: true}, ErrLinkCycle},
		{"newline in a name", map[string]string{"bad\nname": "x"}, nil, Options{}, ErrBadName},
		{"bad pattern", map[string]string{"f": "x"}, nil, Options{Excludes: []string{"[a-"}}, ErrBadPattern},
		{"empty pattern", map[string]string{"f": "x"}, nil, Options{Excludes: []string{"/"}}, ErrBadPattern},
		{"short salt", map[string]string{"f": "x"}, nil, Options{HashNames: true, Salt: []byte("short")}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := writeTree(t, tc.files, tc.links)
			m, err := Hash(context.Background(), []string{dir}, tc.opts)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("Hash = %v, %v; want error %v", m, err, tc.want)
			}
		})
	}
}

func TestHashCancelled(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string]string{"f": "x"}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Hash(ctx, []string{dir}, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestHashCancelledWhileReading(t *testing.T) {
	t.Parallel()
	for _, size := range []int{3 << 20, 9 << 20} {
		dir := writeTree(t, map[string]string{"a": strings.Repeat("a", size), "b": strings.Repeat("b", size)}, nil)
		ctx, cancel := context.WithCancel(context.Background())
		_, err := Hash(ctx, []string{dir}, Options{Workers: 1, afterChunk: func(string) { cancel() }})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("size %d: err = %v, want context.Canceled", size, err)
		}
	}
}
