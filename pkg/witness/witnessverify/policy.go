// Package witnessverify verifies witness cosignatures on checkpoints
// offline: it parses a C2SP tlog-policy file (which logs and witnesses
// count, and the quorum), checks each tlog-cosignature/v1 line with the
// witness keys, evaluates the quorum and dates it, and recognises two
// log-signed checkpoints that cannot be consistent (fork evidence). It links
// no network code, so the standalone verifier can import it.
package witnessverify

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

// MaxPolicySize bounds a policy file.
const MaxPolicySize = 64 << 10

// ErrPolicy: the policy file is malformed.
var ErrPolicy = errors.New("malformed tlog-policy")

// Policy is a parsed C2SP tlog-policy: the logs whose checkpoints are
// accepted, the known witnesses, and the quorum of them a checkpoint needs.
type Policy struct {
	Logs      []Log
	Witnesses []Witness
	Groups    []Group
	// Quorum names the witness or group that must be satisfied; "none"
	// when no cosignature is required.
	Quorum string
}

// Log is a log line: its note verifier key and optional URL.
type Log struct {
	VKey, URL string
	Verifier  note.Verifier
}

// Witness is a witness line: a name local to the policy, its cosignature
// verifier key and optional URL.
type Witness struct {
	Name, VKey, URL string
	Verifier        note.Verifier
}

// Group is a group line: K of Members (witness or group names) must be
// satisfied.
type Group struct {
	Name    string
	K       int
	Members []string
}

// ParsePolicy parses a tlog-policy file strictly: known keywords only,
// names defined once and before use, thresholds within 1..members, no
// witness key listed twice, exactly one quorum line.
func ParsePolicy(b []byte) (*Policy, error) {
	if len(b) > MaxPolicySize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrPolicy, len(b), MaxPolicySize)
	}
	p := &policyParser{Policy: &Policy{}, names: map[string]bool{"none": true}, keys: map[string]string{}}
	for i, line := range strings.Split(string(b), "\n") {
		if c := strings.IndexByte(line, '#'); c >= 0 {
			line = line[:c]
		}
		if f := strings.Fields(line); len(f) > 0 {
			if err := p.line(f); err != nil {
				return nil, fmt.Errorf("%w: line %d: %v", ErrPolicy, i+1, err)
			}
		}
	}
	if p.Quorum == "" {
		return nil, fmt.Errorf("%w: no quorum line", ErrPolicy)
	}
	if len(p.Logs) == 0 {
		return nil, fmt.Errorf("%w: no log line", ErrPolicy)
	}
	return p.Policy, nil
}

type policyParser struct {
	*Policy
	names map[string]bool
	keys  map[string]string // key id -> witness name
}

func (p *policyParser) line(f []string) error {
	switch f[0] {
	case "log":
		return p.log(f[1:])
	case "witness":
		return p.witness(f[1:])
	case "group":
		return p.group(f[1:])
	case "quorum":
		if len(f) != 2 || p.Quorum != "" {
			return fmt.Errorf("want one quorum line with one name")
		}
		if !p.names[f[1]] {
			return fmt.Errorf("quorum %q is not defined", f[1])
		}
		p.Quorum = f[1]
		return nil
	}
	return fmt.Errorf("unknown keyword %q", f[0])
}

func (p *policyParser) log(f []string) error {
	if len(f) < 1 || len(f) > 2 {
		return fmt.Errorf("want log <vkey> [<url>]")
	}
	v, err := note.NewVerifier(f[0])
	if err != nil {
		return fmt.Errorf("log key %q: %v", f[0], err)
	}
	p.Logs = append(p.Logs, Log{VKey: f[0], URL: at(f, 1), Verifier: v})
	return nil
}

func (p *policyParser) witness(f []string) error {
	if len(f) < 2 || len(f) > 3 {
		return fmt.Errorf("want witness <name> <vkey> [<url>]")
	}
	if err := p.define(f[0]); err != nil {
		return err
	}
	v, err := fnote.NewVerifierForCosignatureV1(f[1])
	if err != nil {
		return fmt.Errorf("witness %s key %q: %v", f[0], f[1], err)
	}
	id := fmt.Sprintf("%s+%08x", v.Name(), v.KeyHash())
	if other, dup := p.keys[id]; dup {
		return fmt.Errorf("witness %s has the key of witness %s", f[0], other)
	}
	p.keys[id] = f[0]
	p.Witnesses = append(p.Witnesses, Witness{Name: f[0], VKey: f[1], URL: at(f, 2), Verifier: v})
	return nil
}

func (p *policyParser) group(f []string) error {
	if len(f) < 3 {
		return fmt.Errorf("want group <name> <k|all|any> <member>...")
	}
	members := f[2:]
	seen := map[string]bool{}
	for _, m := range members {
		if !p.names[m] || m == "none" || seen[m] {
			return fmt.Errorf("group %s: member %q is undefined or repeated", f[0], m)
		}
		seen[m] = true
	}
	k, err := threshold(f[1], len(members))
	if err != nil {
		return fmt.Errorf("group %s: %v", f[0], err)
	}
	if err := p.define(f[0]); err != nil {
		return err
	}
	p.Groups = append(p.Groups, Group{Name: f[0], K: k, Members: members})
	return nil
}

func (p *policyParser) define(name string) error {
	if p.names[name] || name == "log" || name == "witness" || name == "group" || name == "quorum" {
		return fmt.Errorf("name %q is reserved or already defined", name)
	}
	p.names[name] = true
	return nil
}

func threshold(s string, n int) (int, error) {
	switch s {
	case "all":
		return n, nil
	case "any":
		return 1, nil
	}
	k, err := strconv.Atoi(s)
	if err != nil || k < 1 || k > n || s != strconv.Itoa(k) {
		return 0, fmt.Errorf("threshold %q, want all, any or 1..%d", s, n)
	}
	return k, nil
}

func at(f []string, i int) string {
	if i < len(f) {
		return f[i]
	}
	return ""
}

// Satisfied reports whether the witnesses named in cosigned meet the
// quorum.
func (p *Policy) Satisfied(cosigned map[string]bool) bool {
	if p.Quorum == "none" {
		return true
	}
	return p.satisfied(p.Quorum, cosigned)
}

func (p *Policy) satisfied(name string, cosigned map[string]bool) bool {
	for _, g := range p.Groups {
		if g.Name == name {
			n := 0
			for _, m := range g.Members {
				if p.satisfied(m, cosigned) {
					n++
				}
			}
			return n >= g.K
		}
	}
	return cosigned[name]
}
