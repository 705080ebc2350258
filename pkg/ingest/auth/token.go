package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/dossier-audit/dossier/pkg/internal/strictjson"
)

// maxConfigFile bounds every file the configuration names.
const maxConfigFile = 4 << 20

// TokenFile is the JSON document Config.TokensFile names:
//
//	{"tokens":[{"sha256":"<64 hex of sha256(token)>","subject":"pipeline-a",
//	  "name":"Pipeline A","team":"ml-platform","roles":["producer"]}]}
//
// The file holds only SHA-256 digests of the tokens, never the tokens, so a
// copy of it cannot be used to authenticate. Tokens should carry at least 128
// bits of entropy (e.g. `openssl rand -hex 32`); the digest of one is
// `printf %s "$TOKEN" | sha256sum` or HashToken. Lookups compare the digest
// of the presented token against every entry in constant time.
type TokenFile struct {
	Tokens []TokenEntry `json:"tokens"`
}

// TokenEntry is one token and the identity it authenticates.
type TokenEntry struct {
	SHA256  string   `json:"sha256"`
	Subject string   `json:"subject"`
	Name    string   `json:"name,omitempty"`
	Team    string   `json:"team,omitempty"`
	Roles   []string `json:"roles"`
}

// HashToken returns the hex SHA-256 of token, the form TokenFile stores.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// tokenReloadEvery is how often the tokens file is checked for changes:
// editing it (adding, rotating or revoking a token) takes effect without a
// restart. A file that no longer parses is ignored and the previous tokens
// stay in force (dossier doctor reports the error).
const tokenReloadEvery = time.Second

type tokenAuth struct {
	path string
	now  func() time.Time

	mu      sync.Mutex
	set     *tokenSet
	checked time.Time
	modTime time.Time
	size    int64
}

type tokenSet struct {
	digests [][sha256.Size]byte
	ids     []Identity
}

func loadTokens(path string, now func() time.Time) (*tokenAuth, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	set, err := parseTokens(path)
	if err != nil {
		return nil, err
	}
	return &tokenAuth{path: path, now: now, set: set, checked: now(), modTime: st.ModTime(), size: st.Size()}, nil
}

func parseTokens(path string) (*tokenSet, error) {
	b, err := readLimited(path)
	if err != nil {
		return nil, err
	}
	var f TokenFile
	if err := strictjson.Decode(b, &f, strictjson.Limits{MaxBytes: maxConfigFile}); err != nil {
		return nil, fmt.Errorf("%w: tokens file %s: %v", ErrConfig, path, err)
	}
	t := &tokenSet{}
	seen := map[string]bool{}
	for i, e := range f.Tokens {
		d, err := hex.DecodeString(e.SHA256)
		if err != nil || len(d) != sha256.Size || e.SHA256 != hex.EncodeToString(d) {
			return nil, fmt.Errorf("%w: tokens file %s: entry %d: sha256 must be 64 lowercase hex digits", ErrConfig, path, i)
		}
		if e.Subject == "" {
			return nil, fmt.Errorf("%w: tokens file %s: entry %d: empty subject", ErrConfig, path, i)
		}
		if seen[e.SHA256] {
			return nil, fmt.Errorf("%w: tokens file %s: entry %d: duplicate token digest", ErrConfig, path, i)
		}
		if err := validRoles(e.Roles); err != nil {
			return nil, fmt.Errorf("tokens file %s: entry %d: %w", path, i, err)
		}
		seen[e.SHA256] = true
		t.digests = append(t.digests, [sha256.Size]byte(d))
		t.ids = append(t.ids, Identity{Subject: e.Subject, Name: e.Name, Team: e.Team, Roles: e.Roles, Method: MethodToken})
	}
	return t, nil
}

// current returns the token set, re-reading the file when it changed.
func (t *tokenAuth) current() *tokenSet {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if now.Sub(t.checked) < tokenReloadEvery && !now.Before(t.checked) {
		return t.set
	}
	t.checked = now
	st, err := os.Stat(t.path)
	if err != nil || (st.ModTime().Equal(t.modTime) && st.Size() == t.size) {
		return t.set
	}
	if set, err := parseTokens(t.path); err == nil {
		t.set, t.modTime, t.size = set, st.ModTime(), st.Size()
	}
	return t.set
}

// lookup compares against every entry so the time taken does not depend on
// which entry matched.
func (t *tokenAuth) lookup(token string) (*Identity, bool) {
	set := t.current()
	sum := sha256.Sum256([]byte(token))
	found := -1
	for i := range set.digests {
		if subtle.ConstantTimeCompare(sum[:], set.digests[i][:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return nil, false
	}
	id := set.ids[found]
	id.Roles = append([]string(nil), id.Roles...)
	return &id, true
}

func readLimited(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if st.Size() > maxConfigFile {
		return nil, fmt.Errorf("%w: %s: %d bytes, limit %d", ErrConfig, path, st.Size(), maxConfigFile)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	return b, nil
}
