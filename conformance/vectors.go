package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// expected is a vector's expected.json.
type expected struct {
	Outcome     string `json:"outcome"`
	Class       string `json:"class"`
	Step        string `json:"step"`
	Description string `json:"description"`
}

// vector is one vector directory.
type vector struct {
	Name        string
	Dir         string
	Want        expected
	Fingerprint string
	Policy      string // path or empty
	TrustedHead string // path or empty
	At          string // RFC 3339 or empty
}

var wantExit = map[string]int{"verified": 0, "rejected": 1, "inconclusive": 3}

func loadVectors(dir string, run *regexp.Regexp) ([]vector, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading vectors: %w", err)
	}
	var vs []vector
	for _, e := range entries {
		if !e.IsDir() || (run != nil && !run.MatchString(e.Name())) {
			continue
		}
		v, err := loadVector(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("vector %s: %w", e.Name(), err)
		}
		vs = append(vs, v)
	}
	if len(vs) == 0 {
		return nil, fmt.Errorf("no vectors in %s", dir)
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i].Name < vs[j].Name })
	return vs, nil
}

func loadVector(dir string) (vector, error) {
	v := vector{Name: filepath.Base(dir), Dir: dir}
	raw, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err != nil {
		return v, err
	}
	if err := json.Unmarshal(raw, &v.Want); err != nil {
		return v, fmt.Errorf("expected.json: %w", err)
	}
	if _, ok := wantExit[v.Want.Outcome]; !ok {
		return v, fmt.Errorf("expected.json: unknown outcome %q", v.Want.Outcome)
	}
	if v.Want.Outcome == "rejected" && v.Want.Class == "" {
		return v, fmt.Errorf("expected.json: a rejection names no class")
	}
	fp, err := os.ReadFile(filepath.Join(dir, "trust", "root-fingerprint"))
	if err != nil {
		return v, err
	}
	v.Fingerprint = strings.TrimSpace(string(fp))
	if _, err := os.Stat(filepath.Join(dir, "package.tar")); err != nil {
		return v, err
	}
	v.Policy = optional(filepath.Join(dir, "trust", "policy.json"))
	v.TrustedHead = optional(filepath.Join(dir, "trust", "trusted-head"))
	if at, err := os.ReadFile(filepath.Join(dir, "trust", "at")); err == nil {
		v.At = strings.TrimSpace(string(at))
	}
	return v, nil
}

func optional(p string) string {
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// args is the verifier's command line per the conformance CLI protocol:
// VERIFIER --json --root-fingerprint FP [--policy FILE] [--trusted-head FILE] [--at RFC3339] PACKAGE.tar
func (v vector) args() []string {
	a := []string{"--json", "--root-fingerprint", v.Fingerprint}
	if v.Policy != "" {
		a = append(a, "--policy", v.Policy)
	}
	if v.TrustedHead != "" {
		a = append(a, "--trusted-head", v.TrustedHead)
	}
	if v.At != "" {
		a = append(a, "--at", v.At)
	}
	return append(a, filepath.Join(v.Dir, "package.tar"))
}

// xfail is an expected-failure list: vector names or path.Match globs,
// each with a reason.
type xfail struct {
	entries []xfailEntry
}

type xfailEntry struct {
	Pattern, Reason string
}

func loadXfail(file string) (*xfail, error) {
	x := &xfail{}
	if file == "" {
		return x, nil
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading xfail list: %w", err)
	}
	for i, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		pat, reason, _ := strings.Cut(line, " ")
		if _, err := path.Match(pat, ""); err != nil {
			return nil, fmt.Errorf("%s:%d: bad pattern %q: %w", file, i+1, pat, err)
		}
		if strings.TrimSpace(reason) == "" {
			return nil, fmt.Errorf("%s:%d: %q has no reason (write why it is expected to fail)", file, i+1, pat)
		}
		x.entries = append(x.entries, xfailEntry{Pattern: pat, Reason: strings.TrimSpace(reason)})
	}
	return x, nil
}

// match returns the reason a vector is expected to fail, if it is.
func (x *xfail) match(name string) (string, bool) {
	for _, e := range x.entries {
		if ok, _ := path.Match(e.Pattern, name); ok {
			return e.Reason, true
		}
	}
	return "", false
}

// unused lists entries that match no vector (none when a -run filter
// selected only some vectors).
func (x *xfail) unused(vs []vector, filtered bool) []string {
	var out []string
	if filtered {
		return nil
	}
	for _, e := range x.entries {
		used := false
		for _, v := range vs {
			if ok, _ := path.Match(e.Pattern, v.Name); ok {
				used = true
				break
			}
		}
		if !used {
			out = append(out, e.Pattern)
		}
	}
	return out
}
