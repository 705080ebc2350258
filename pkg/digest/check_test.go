package digest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExcludes(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string]string{
		".git/HEAD":          "ref",
		"data/a.parquet":     "a",
		"data/a.lock":        "l",
		"data/tmp/x.parquet": "x",
		"cache/1/2/y.tmp":    "y",
		"cache/keep.txt":     "k",
		"top.lock":           "t",
	}, nil)
	for _, tc := range []struct {
		name     string
		patterns []string
		want     string
	}{
		{"none", nil, ".git/HEAD,cache/1/2/y.tmp,cache/keep.txt,data/a.lock,data/a.parquet,data/tmp/x.parquet,top.lock"},
		{"base name at any depth", []string{"*.lock", ".git"}, "cache/1/2/y.tmp,cache/keep.txt,data/a.parquet,data/tmp/x.parquet"},
		{"anchored directory", []string{"data/tmp"}, ".git/HEAD,cache/1/2/y.tmp,cache/keep.txt,data/a.lock,data/a.parquet,top.lock"},
		{"anchored does not float", []string{"tmp/x.parquet"}, ".git/HEAD,cache/1/2/y.tmp,cache/keep.txt,data/a.lock,data/a.parquet,data/tmp/x.parquet,top.lock"},
		{"double star", []string{"cache/**/*.tmp"}, ".git/HEAD,cache/keep.txt,data/a.lock,data/a.parquet,data/tmp/x.parquet,top.lock"},
		{"leading double star", []string{"**/tmp/*"}, ".git/HEAD,cache/1/2/y.tmp,cache/keep.txt,data/a.lock,data/a.parquet,top.lock"},
		{"everything below", []string{"cache/**"}, ".git/HEAD,data/a.lock,data/a.parquet,data/tmp/x.parquet,top.lock"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := mustHash(t, []string{dir}, Options{Excludes: tc.patterns})
			if got := strings.Join(names(m), ","); got != tc.want {
				t.Errorf("names = %s\nwant    %s", got, tc.want)
			}
			if len(m.Excludes) != len(tc.patterns) {
				t.Errorf("excludes recorded = %v, want %v", m.Excludes, tc.patterns)
			}
		})
	}
}

func TestHashNames(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string]string{"patient-0042/scan.dcm": "img"}, map[string]string{"latest.dcm": "patient-0042/scan.dcm"})
	salt := bytes.Repeat([]byte{7}, 32)
	m := mustHash(t, []string{dir}, Options{HashNames: true, Salt: salt})
	b, _ := m.Marshal()
	if bytes.Contains(b, []byte("patient")) || bytes.Contains(b, []byte("latest")) {
		t.Errorf("manifest leaks a name:\n%s", b)
	}
	want := map[string]string{
		HashName(salt, "patient-0042/scan.dcm"): "",
		HashName(salt, "latest.dcm"):            HashName(salt, "patient-0042/scan.dcm"),
	}
	for _, f := range m.Files {
		target, ok := want[f.Name]
		if !ok || f.Annotations.LinkTarget != target {
			t.Errorf("file %+v not among the expected hashed names", f)
		}
	}
	if !m.HashedNames || m.SaltCheck != SaltCheck(salt) || m.Roots[0] != HashName(salt, filepath.Base(dir)) {
		t.Errorf("hashedNames %v, saltCheck %q, roots %v", m.HashedNames, m.SaltCheck, m.Roots)
	}
	again, _ := mustHash(t, []string{dir}, Options{HashNames: true, Salt: salt}).Marshal()
	if !bytes.Equal(again, b) {
		t.Error("same salt, different manifest")
	}
	random := mustHash(t, []string{dir}, Options{HashNames: true})
	if len(random.Salt) != SaltSize || bytes.Equal(random.Salt, salt) {
		t.Errorf("random salt = %x", random.Salt)
	}
	if _, err := ParseManifest(bytes.NewReader(b)); err != nil {
		t.Errorf("ParseManifest of a hashed-names manifest: %v", err)
	}
}

func TestSaltFile(t *testing.T) {
	t.Parallel()
	salt := bytes.Repeat([]byte{0xab}, 32)
	got, err := DecodeSalt(EncodeSalt(salt))
	if err != nil || !bytes.Equal(got, salt) {
		t.Fatalf("round trip = %x, %v", got, err)
	}
	for _, bad := range []string{"", "abab\n", strings.Repeat("AB", 32) + "\n", strings.Repeat("ab", 32) + "\n\n", strings.Repeat("zz", 32)} {
		if _, err := DecodeSalt([]byte(bad)); err == nil {
			t.Errorf("DecodeSalt(%q) accepted", bad)
		}
	}
}

func TestChangedWhileHashing(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		mutate func(p string) error
	}{
		{"appended", func(p string) error {
			f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.Write([]byte("more"))
			return err
		}},
		{"truncated", func(p string) error { return os.Truncate(p, 10) }},
		{"replaced by rename", func(p string) error {
			if err := os.WriteFile(p+".new", bytes.Repeat([]byte("y"), 3<<20), 0o644); err != nil {
				return err
			}
			return os.Rename(p+".new", p)
		}},
	} {
		for _, size := range []int{3 << 20, 9 << 20} { // read directly, pipelined
			t.Run(fmt.Sprintf("%s/%d", tc.name, size), func(t *testing.T) {
				t.Parallel()
				dir := writeTree(t, map[string]string{"big": strings.Repeat("x", size)}, nil)
				done := false
				opts := Options{afterChunk: func(p string) {
					if !done {
						done = true
						if err := tc.mutate(p); err != nil {
							t.Error(err)
						}
					}
				}}
				_, err := Hash(context.Background(), []string{dir}, opts)
				if !errors.Is(err, ErrChangedWhileHashing) || !strings.Contains(err.Error(), "big") {
					t.Errorf("err = %v, want ErrChangedWhileHashing naming big", err)
				}
			})
		}
	}
	t.Run("between walk and read", func(t *testing.T) {
		t.Parallel()
		dir := writeTree(t, map[string]string{"f": "before"}, nil)
		opts := Options{Planned: func(int, int64) { os.WriteFile(filepath.Join(dir, "f"), []byte("after!!"), 0o644) }}
		if _, err := Hash(context.Background(), []string{dir}, opts); !errors.Is(err, ErrChangedWhileHashing) {
			t.Errorf("err = %v, want ErrChangedWhileHashing", err)
		}
	})
}

func TestCheck(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string]string{"keep": "k", "edit": "aaaa", "grow": "g", "gone": "x", "blob": "b"},
		map[string]string{"link": "blob"})
	m := mustHash(t, []string{dir}, Options{Excludes: []string{"*.tmp"}})
	r, err := Check(context.Background(), m, []string{dir}, Options{})
	if err != nil || !r.Identical || r.Checked != 6 {
		t.Fatalf("unchanged tree: %+v, %v", r, err)
	}
	os.WriteFile(filepath.Join(dir, "edit"), []byte("bbbb"), 0o644)
	os.WriteFile(filepath.Join(dir, "grow"), []byte("gg"), 0o644)
	os.Remove(filepath.Join(dir, "gone"))
	os.WriteFile(filepath.Join(dir, "new"), []byte("n"), 0o644)
	os.WriteFile(filepath.Join(dir, "ignored.tmp"), []byte("n"), 0o644)
	os.Remove(filepath.Join(dir, "link"))
	os.WriteFile(filepath.Join(dir, "link"), []byte("b"), 0o644)
	r, err = Check(context.Background(), m, []string{dir}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ kind, got, want string }{
		{"missing", descNames(r.Missing), "gone"},
		{"added", descNames(r.Added), "new"},
		{"changed", changeNames(r.Changed), "edit,grow"},
		{"typeChanged", changeNames(r.TypeChanged), "link"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.kind, c.got, c.want)
		}
	}
	if r.Identical || r.GotTreeDigest == r.TreeDigest {
		t.Errorf("identical %v, tree digests %s %s", r.Identical, r.TreeDigest, r.GotTreeDigest)
	}
}

func descNames(ds []ResourceDescriptor) string {
	var s []string
	for _, d := range ds {
		s = append(s, d.Name)
	}
	return strings.Join(s, ",")
}

func changeNames(cs []Change) string {
	var s []string
	for _, c := range cs {
		s = append(s, c.Name)
	}
	return strings.Join(s, ",")
}

func TestCheckHashedNames(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string]string{"a": "1", "b": "2"}, nil)
	salt := bytes.Repeat([]byte{1}, 32)
	m := mustHash(t, []string{dir}, Options{HashNames: true, Salt: salt})
	for _, tc := range []struct {
		name  string
		roots []string
		salt  []byte
		want  error
	}{
		{"no salt", []string{dir}, nil, ErrSaltRequired},
		{"wrong salt", []string{dir}, bytes.Repeat([]byte{2}, 32), ErrWrongSalt},
		{"wrong root count", []string{dir, dir}, salt, ErrRootCount},
	} {
		if _, err := Check(context.Background(), m, tc.roots, Options{Salt: tc.salt}); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
	os.WriteFile(filepath.Join(dir, "b"), []byte("3"), 0o644)
	r, err := Check(context.Background(), m, []string{dir}, Options{Salt: salt})
	if err != nil || changeNames(r.Changed) != HashName(salt, "b") || r.Paths[HashName(salt, "b")] != "b" {
		t.Errorf("report = %+v, %v; want b changed, with its clear path", r, err)
	}
}

func TestParseManifest(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string]string{"a": "1", "b/c": "2"}, map[string]string{"l": "a"})
	good, _ := mustHash(t, []string{dir}, Options{}).Marshal()
	m, err := ParseManifest(bytes.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := m.Marshal(); !bytes.Equal(again, good) {
		t.Errorf("round trip differs:\n%s\nwant\n%s", again, good)
	}
	sha1 := sha("1")
	for _, tc := range []struct{ name, old, new string }{
		{"media type", "hash-manifest.v1", "hash-manifest.v2"},
		{"unknown field", `"hashedNames"`, `"extra": 1, "hashedNames"`},
		{"unsorted", `"name": "a"`, `"name": "z"`},
		{"bad digest", sha1, strings.ToUpper(sha1)},
		{"tree digest", `"sha256": "` + sha1, `"sha256": "` + sha("x")},
		{"total", `"totalBytes": 3`, `"totalBytes": 4`},
		{"trailing data", "}\n", "}\n{}"},
		{"duplicate key", `"hashedNames": false,`, `"hashedNames": false, "hashedNames": true,`},
		{"case-insensitive key", `"fileCount"`, `"FileCount"`},
		{"null excludes", `"excludes": []`, `"excludes": null`},
		{"missing field", `"allowExternalLinks": false,`, ``},
		{"salt check without hashed names", `"hashedNames": false,`, `"hashedNames": false, "saltCheck": "00",`},
	} {
		bad := strings.Replace(string(good), tc.old, tc.new, 1)
		if bad == string(good) {
			t.Fatalf("%s: replacement did not apply", tc.name)
		}
		if _, err := ParseManifest(strings.NewReader(bad)); !errors.Is(err, ErrBadManifest) {
			t.Errorf("%s: err = %v, want ErrBadManifest", tc.name, err)
		}
	}
}
