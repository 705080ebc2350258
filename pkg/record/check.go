package record

import (
	"errors"
	"maps"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Length limits, in Unicode code points (what JSON Schema maxLength counts).
const (
	MaxShort = 256  // names, ids, versions
	MaxURI   = 2048 // URIs and locators
	MaxText  = 4096 // free text: reasons, purposes, descriptions
	MaxList  = 1024 // entries of most lists
	// MaxContent bounds ResourceDescriptor lists of file contents (dataset
	// content, training outputs); the statement size limit bounds them too.
	MaxContent = 100000
)

var (
	reDecimal  = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$`)
	reCount    = regexp.MustCompile(`^[0-9]+$`)
	reTime     = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z$`)
	reAlg      = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)
	reRunID    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
	reRole     = regexp.MustCompile(`^[a-z][a-z0-9-]{0,63}$`)
	reCommit   = regexp.MustCompile(`^([0-9a-f]{40}|[0-9a-f]{64})$`)
	reSPDX     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.+-]*( (AND|OR|WITH) [A-Za-z0-9][A-Za-z0-9.+-]*)*$`)
	reMedia    = regexp.MustCompile(`^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$`)
	reMetricOp = regexp.MustCompile(`^(>=|>|<=|<|==)$`)
)

// checker collects the problems of one document, so a lint run reports all
// of them at once.
type checker struct {
	errs []error
}

func (c *checker) add(path string, sentinel error, format string, args ...any) {
	c.errs = append(c.errs, fieldErr(path, sentinel, format, args...))
}

func (c *checker) err() error { return errors.Join(c.errs...) }

// str checks a string's length; required strings must not be empty.
func (c *checker) str(path, s string, required bool, max int) bool {
	n := utf8.RuneCountInString(s)
	switch {
	case n == 0 && required:
		c.add(path, ErrMissing, "empty string")
		return false
	case n > max:
		c.add(path, ErrTooLong, "%d characters, limit %d", n, max)
		return false
	}
	return n > 0
}

// match checks an optional (or required) string against a pattern.
func (c *checker) match(path, s string, required bool, max int, re *regexp.Regexp, what string) {
	if c.str(path, s, required, max) && !re.MatchString(s) {
		c.add(path, ErrFormat, "%q is not %s", s, what)
	}
}

func (c *checker) enum(path, s string, required bool, allowed ...string) {
	if !c.str(path, s, required, MaxShort) {
		return
	}
	for _, a := range allowed {
		if s == a {
			return
		}
	}
	c.add(path, ErrEnum, "%q, want one of %q", s, allowed)
}

func (c *checker) digest(path, s string, required bool) {
	if c.str(path, s, required, MaxShort) && !isDigest(s) {
		c.add(path, ErrDigest, "%q, want sha256:<64 lowercase hex>", s)
	}
}

// digests checks a list of digest strings: 1..max entries when required,
// no duplicates.
func (c *checker) digests(path string, ds []string, required bool, max int) {
	c.count(path, len(ds), required, max)
	seen := map[string]bool{}
	for i, d := range ds {
		p := index(path, i)
		c.digest(p, d, true)
		if seen[d] {
			c.add(p, ErrDuplicate, "%s listed twice", d)
		}
		seen[d] = true
	}
}

func (c *checker) count(path string, n int, required bool, max int) {
	switch {
	case n == 0 && required:
		c.add(path, ErrMissing, "empty list")
	case n > max:
		c.add(path, ErrTooMany, "%d entries, limit %d", n, max)
	}
}

// timestamp checks an RFC 3339 UTC time with a Z suffix and returns it.
func (c *checker) timestamp(path, s string, required bool) (time.Time, bool) {
	if !c.str(path, s, required, 64) {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if !reTime.MatchString(s) || err != nil {
		c.add(path, ErrTime, "%q, want RFC 3339 UTC like 2026-11-27T10:15:30Z", s)
		return time.Time{}, false
	}
	return t, true
}

// decimal checks a decimal string and returns its exact value.
func (c *checker) decimal(path, s string, required bool) (*big.Rat, bool) {
	if !c.str(path, s, required, 64) {
		return nil, false
	}
	r, ok := new(big.Rat).SetString(s)
	if !reDecimal.MatchString(s) || !ok {
		c.add(path, ErrDecimal, "%q, want a decimal string like \"0.873\" or \"6.1e21\"", s)
		return nil, false
	}
	return r, true
}

// counter checks a non-negative integer written as a decimal string.
func (c *checker) counter(path, s string, required bool) {
	if c.str(path, s, required, 32) && !reCount.MatchString(s) {
		c.add(path, ErrDecimal, "%q, want a non-negative integer string like \"1234567\"", s)
	}
}

func (c *checker) intRange(path string, v, min, max int64) {
	if v < min || v > max {
		c.add(path, ErrRange, "%d, want %d..%d", v, min, max)
	}
}

// strings checks a list of free-text strings.
func (c *checker) strings(path string, ss []string, required bool, maxLen int) {
	c.count(path, len(ss), required, MaxList)
	for i, s := range ss {
		c.str(index(path, i), s, true, maxLen)
	}
}

// stringMap checks a map of short names to values.
func (c *checker) stringMap(path string, m map[string]string, maxVal int) {
	c.count(path, len(m), false, MaxList)
	for _, k := range slices.Sorted(maps.Keys(m)) {
		p := member(path, k)
		if !c.str(p, k, true, MaxShort) {
			continue
		}
		c.str(p, m[k], true, maxVal)
	}
}

var rePlainKey = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$-]*$`)

// member appends an object key to a JSON path as strictjson does.
func member(path, key string) string {
	if !rePlainKey.MatchString(key) {
		return path + "[" + strconv.Quote(key) + "]"
	}
	return joinPath(path, key)
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// isDigest reports whether s is "sha256:" and 64 lowercase hex digits.
func isDigest(s string) bool {
	hex, ok := strings.CutPrefix(s, "sha256:")
	return ok && len(hex) == 64 && isLowerHex(hex)
}

// isLowerHex reports whether s is non-empty lowercase hex.
func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return s != ""
}
