package digest

import (
	"fmt"
	"path"
	"strings"
)

// matcher decides which names are excluded (see the package doc).
type matcher struct {
	base     []string   // patterns without "/": matched against base names
	anchored [][]string // patterns with "/": split into components
}

func newMatcher(patterns []string) (*matcher, error) {
	m := &matcher{}
	for _, p := range patterns {
		if err := checkPattern(p); err != nil {
			return nil, err
		}
		if strings.Contains(p, "/") {
			m.anchored = append(m.anchored, strings.Split(strings.Trim(p, "/"), "/"))
		} else {
			m.base = append(m.base, p)
		}
	}
	return m, nil
}

func checkPattern(p string) error {
	if p == "" || strings.Trim(p, "/") == "" {
		return fmt.Errorf("%w: %q is empty", ErrBadPattern, p)
	}
	for _, c := range strings.Split(strings.Trim(p, "/"), "/") {
		if c == "" {
			return fmt.Errorf("%w: %q has an empty component", ErrBadPattern, p)
		}
		if _, err := path.Match(c, ""); err != nil {
			return fmt.Errorf("%w: %q", ErrBadPattern, p)
		}
	}
	return nil
}

// excluded reports whether the file or directory called name is excluded.
func (m *matcher) excluded(name string) bool {
	base := path.Base(name)
	for _, p := range m.base {
		if ok, _ := path.Match(p, base); ok {
			return true
		}
	}
	if len(m.anchored) == 0 {
		return false
	}
	parts := strings.Split(name, "/")
	for _, p := range m.anchored {
		if matchParts(p, parts) {
			return true
		}
	}
	return false
}

// matchParts matches pattern components against name components; "**"
// matches zero or more components.
func matchParts(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for i := 0; i <= len(name); i++ {
				if matchParts(pat[1:], name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], name[0]); !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}
