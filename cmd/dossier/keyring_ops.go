package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dossier-audit/dossier/cmd/internal/cli"
	"github.com/dossier-audit/dossier/pkg/keyring"
)

// The keyring commands that write version N+1 from version N (issue 8:
// add, rotate, revoke) and read a whole chain (history). Each writes the
// next version signed by the previous version's root threshold, ready for
// 'dossier log append --stream keyring'.
func init() {
	for _, c := range []*cli.Command{
		{Name: "keyring add", Summary: "write the next keyring version: the previous one plus new keys", Run: runKeyringAdd},
		{Name: "keyring rotate", Summary: "write the next keyring version with new root keys and threshold (signed by the old roots)", Run: runKeyringRotate},
		{Name: "keyring revoke", Summary: "write the next keyring version revoking a key or a person's keys (compromised|retired|departed)", Run: runKeyringRevoke},
		{Name: "keyring history", Summary: "verify a keyring chain from its pin and print what each version changed", Run: runKeyringHistory},
	} {
		commands.Register(c)
	}
}

// nextFlags are the flags every 'keyring add|rotate|revoke' takes.
type nextFlags struct {
	previous, issuedAt, passFile, out *string
	rootKeys                          multiFlag
}

func bindNext(fs *flag.FlagSet) *nextFlags {
	n := &nextFlags{
		previous: fs.String("previous", "", "the previous version's envelope (required)"),
		issuedAt: fs.String("issued-at", "", "issue time, RFC 3339 UTC (default now); also the validFrom of new keys"),
		passFile: fs.String("password-file", "", "file whose first line is the root keys' password"),
		out:      fs.String("o", "", "output file (never overwritten)"),
	}
	fs.Var(&n.rootKeys, "root-key", "private key file or KMS URI of a root key of the PREVIOUS version that signs this one (repeat up to its threshold)")
	return n
}

// draft checks the common flags and returns the previous envelope and the
// draft of the next version.
func (n *nextFlags) draft(env *cli.Env, name string) (*keyring.Document, []byte, time.Time, error) {
	if *n.previous == "" || *n.out == "" || len(n.rootKeys) == 0 {
		return nil, nil, time.Time{}, cli.Usage("%s needs --previous, --root-key and -o", name)
	}
	at, err := timeFlag(env, *n.issuedAt, "--issued-at")
	if err != nil {
		return nil, nil, time.Time{}, err
	}
	prev, err := readKeyringVersion(*n.previous)
	if err != nil {
		return nil, nil, time.Time{}, err
	}
	return keyring.Next(prev, at), prev.Envelope, at, nil
}

// write validates and signs the next version; signKeyringDoc refuses it
// when the root keys given fall below the previous version's threshold.
func (n *nextFlags) write(env *cli.Env, doc *keyring.Document, prev []byte) error {
	if err := doc.Validate(); err != nil {
		return cli.Usage("%v", err)
	}
	env.Infof("keyring version %d: %d keys, root threshold %d", doc.Version, len(doc.Keys), doc.RootThreshold)
	return signKeyringDoc(env, doc, prev, n.rootKeys, *n.passFile, *n.out)
}

func runKeyringAdd(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "keyring add", "--previous FILE --root-key K [--root-key K2] --add ROLES:PUBFILE:NAME:PERSONID:TEAM ... [--valid-until T] [--issued-at T] -o FILE")
	n := bindNext(fs)
	var adds multiFlag
	fs.Var(&adds, "add", "a key entry ROLES:PUBFILE:NAME:PERSONID:TEAM, as for 'keyring create' (repeat)")
	until := fs.String("valid-until", "", "the new keys' stated end of validity, RFC 3339 UTC (informational; revoke to end a key)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if len(adds) == 0 || fs.NArg() != 0 {
		return cli.Usage("keyring add needs at least one --add, and no arguments")
	}
	doc, prev, _, err := n.draft(env, "keyring add")
	if err != nil {
		return err
	}
	ks, err := parseAdds(adds, doc.IssuedAt)
	if err != nil {
		return err
	}
	if *until != "" {
		t, err := timeFlag(env, *until, "--valid-until")
		if err != nil {
			return err
		}
		u := t.Format(time.RFC3339Nano)
		for i := range ks {
			ks[i].ValidUntil = &u
		}
	}
	if err := doc.AddKeys(ks...); err != nil {
		return cli.Usage("%v", err)
	}
	return n.write(env, doc, prev)
}

func parseAdds(adds []string, validFrom string) ([]keyring.Key, error) {
	out := make([]keyring.Key, 0, len(adds))
	for _, a := range adds {
		k, err := parseAdd(a, validFrom)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, nil
}

func runKeyringRotate(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "keyring rotate", "--previous FILE --root-key OLD [--root-key OLD2] --new-root PUBFILE:NAME:PERSONID:TEAM ... [--keep FP]... --threshold N [--issued-at T] -o FILE")
	n := bindNext(fs)
	var newRoots, keep multiFlag
	fs.Var(&newRoots, "new-root", "a new root key PUBFILE:NAME:PERSONID:TEAM (repeat)")
	fs.Var(&keep, "keep", "fingerprint of a current root key that stays a root (repeat); every other current root is retired")
	threshold := fs.Int("threshold", 0, "root keys of the new version needed to sign the version after it (required)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *threshold < 1 || len(newRoots)+len(keep) == 0 || fs.NArg() != 0 {
		return cli.Usage("keyring rotate needs --threshold and at least one --new-root or --keep, and no arguments")
	}
	doc, prev, at, err := n.draft(env, "keyring rotate")
	if err != nil {
		return err
	}
	adds := make([]string, len(newRoots))
	for i, r := range newRoots {
		adds[i] = keyring.RoleRoot + ":" + r
	}
	ks, err := parseAdds(adds, doc.IssuedAt)
	if err != nil {
		return err
	}
	if err := doc.RotateRoots(ks, keep, *threshold, at); err != nil {
		return cli.Usage("%v", err)
	}
	return n.write(env, doc, prev)
}

func runKeyringRevoke(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "keyring revoke", "--previous FILE --root-key K (--key FP | --person ID) --reason compromised|retired|departed [--at T] [--note TEXT] -o FILE")
	n := bindNext(fs)
	key := fs.String("key", "", "fingerprint (SHA256:...) of the key to revoke")
	person := fs.String("person", "", "revoke every unrevoked key of this personId")
	reason := fs.String("reason", "", "compromised (void for everything logged after this version, never undone), retired or departed (earlier signatures stay valid)")
	at := fs.String("at", "", "stated time of the compromise or departure, RFC 3339 UTC (default --issued-at; advisory: validity is judged by log position)")
	note := fs.String("note", "", "free text (ticket, circumstances)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if (*key == "") == (*person == "") || *reason == "" || fs.NArg() != 0 {
		return cli.Usage("keyring revoke needs exactly one of --key and --person, and --reason")
	}
	doc, prev, issued, err := n.draft(env, "keyring revoke")
	if err != nil {
		return err
	}
	when := issued
	if *at != "" {
		if when, err = timeFlag(env, *at, "--at"); err != nil {
			return err
		}
	}
	ids := []string{*key}
	if *person != "" {
		ids, err = doc.RevokePerson(*person, *reason, when, *note)
	} else {
		err = doc.Revoke(*key, *reason, when, *note)
	}
	if err != nil {
		return cli.Usage("%v", err)
	}
	env.Infof("revoked %s (%s at %s); effect from this version's log position on", strings.Join(ids, ", "), *reason, when.Format(time.RFC3339))
	return n.write(env, doc, prev)
}

func runKeyringHistory(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "keyring history", "--root-fingerprint SHA256:<hex> [--json] FILE...")
	pin := fs.String("root-fingerprint", "", "the pinned root fingerprint (obtained out of band)")
	asJSON := fs.Bool("json", false, "print as JSON")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *pin == "" || fs.NArg() == 0 {
		return cli.Usage("keyring history needs --root-fingerprint and the keyring files")
	}
	c, err := verifyKeyringFiles(*pin, fs.Args())
	if err != nil {
		return err
	}
	h := c.History()
	if *asJSON {
		b, _ := json.MarshalIndent(h, "", "  ")
		_, err := fmt.Fprintf(env.Stdout, "%s\n", b)
		return err
	}
	return printHistory(env, h)
}

func printHistory(env *cli.Env, h []keyring.Change) error {
	tw := tabwriter.NewWriter(env.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tISSUED\tTHRESHOLD\tROOTS\tSIGNED BY\tCHANGES")
	for _, c := range h {
		var ch []string
		for _, x := range [][2]any{{"added", c.Added}, {"removed", c.Removed}, {"roles", c.RolesChanged}, {"revoked", c.Revoked}} {
			if l := x[1].([]string); len(l) > 0 {
				ch = append(ch, fmt.Sprintf("%s: %s", x[0], strings.Join(l, ", ")))
			}
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%d\t%s\n", c.Version, c.IssuedAt, c.RootThreshold, len(c.Roots), len(c.SignedBy), strings.Join(ch, "; "))
	}
	return tw.Flush()
}
