package main

import (
	"crypto/x509"
	"encoding/pem"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/dossier-audit/dossier/cmd/internal/cli"
	"github.com/dossier-audit/dossier/pkg/keyring"
)

// keyringAnchorFlags are the anchor trust root flags of 'keyring create'.
type keyringAnchorFlags struct {
	tsas, validity, policies, witnesses multiFlag
	witnessPolicy, quorum               string
}

func (k *keyringAnchorFlags) register(fs *flag.FlagSet) {
	fs.Var(&k.tsas, "tsa", "NAME=CHAIN.pem: a TSA whose RFC 3161 tokens anchor checkpoints (PEM chain, signer first, root last; repeatable)")
	fs.Var(&k.validity, "tsa-validity", "NAME=FROM,UNTIL: the TSA's validity in the trust root, RFC 3339 (default: its signing certificate's validity)")
	fs.Var(&k.policies, "tsa-policy", "NAME=OID: the TSA policy its tokens must carry (optional)")
	fs.StringVar(&k.witnessPolicy, "witness-policy", "", "C2SP tlog-policy file: the log line(s), witnesses and quorum that count")
	fs.Var(&k.witnesses, "witness", "NAME=VKEYFILE: a witness whose cosignatures count (repeatable; writes the tlog-policy)")
	fs.StringVar(&k.quorum, "witness-quorum", "all", "with --witness: how many must cosign (a number, all or any)")
}

// apply adds the anchor trust root to doc (spec/anchors.md §4) and
// validates the result.
func (k *keyringAnchorFlags) apply(doc *keyring.Document) error {
	tsas, err := k.timestampAuthorities()
	if err != nil {
		return err
	}
	doc.TimestampAuthorities = tsas
	if doc.WitnessPolicy, err = k.policy(doc); err != nil {
		return err
	}
	if err := doc.Validate(); err != nil {
		return cli.Usage("%v", err)
	}
	return nil
}

func (k *keyringAnchorFlags) timestampAuthorities() ([]keyring.TimestampAuthority, error) {
	tsas, err := anchorPairs(k.tsas, "--tsa")
	if err != nil {
		return nil, err
	}
	validity, err := anchorPairs(k.validity, "--tsa-validity")
	if err != nil {
		return nil, err
	}
	policies, err := anchorPairs(k.policies, "--tsa-policy")
	if err != nil {
		return nil, err
	}
	for name := range mergeKeys(validity, policies) {
		if tsas[name] == "" {
			return nil, cli.Usage("--tsa-validity/--tsa-policy %s: no --tsa %s=CHAIN.pem", name, name)
		}
	}
	var out []keyring.TimestampAuthority
	for _, name := range anchorSortedKeys(tsas) {
		a, err := keyringTSA(name, tsas[name], validity[name], policies[name])
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

func mergeKeys(ms ...map[string]string) map[string]bool {
	out := map[string]bool{}
	for _, m := range ms {
		for k := range m {
			out[k] = true
		}
	}
	return out
}

func keyringTSA(name, chainFile, validity, policy string) (keyring.TimestampAuthority, error) {
	b, err := os.ReadFile(chainFile)
	if err != nil {
		return keyring.TimestampAuthority{}, cli.Inconclusive(err, "")
	}
	certs, err := keyring.ParseChain(b)
	if err != nil || len(certs) == 0 {
		return keyring.TimestampAuthority{}, cli.Usage("--tsa %s: %s: not a PEM certificate chain (%v)", name, chainFile, err)
	}
	from, until := certs[0].NotBefore.UTC().Format(time.RFC3339), certs[0].NotAfter.UTC().Format(time.RFC3339)
	if validity != "" {
		var ok bool
		if from, until, ok = strings.Cut(validity, ","); !ok {
			return keyring.TimestampAuthority{}, cli.Usage("--tsa-validity %s=%s: want NAME=FROM,UNTIL", name, validity)
		}
	}
	return keyring.TimestampAuthority{Name: name, ChainPEM: string(pemChain(certs)), ValidFrom: from, ValidUntil: until, Policy: policy}, nil
}

// pemChain re-encodes certificates as PEM (drops comments and text
// around the blocks).
func pemChain(certs []*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

// policy returns the witness policy text: --witness-policy verbatim, or
// one built from --witness and --witness-quorum with the keyring's log key.
func (k *keyringAnchorFlags) policy(doc *keyring.Document) (string, error) {
	switch {
	case k.witnessPolicy != "" && len(k.witnesses) > 0:
		return "", cli.Usage("use --witness-policy or --witness, not both")
	case k.witnessPolicy != "":
		b, err := os.ReadFile(k.witnessPolicy)
		if err != nil {
			return "", cli.Inconclusive(err, "")
		}
		return string(b), nil
	case len(k.witnesses) == 0:
		return "", nil
	}
	wits, err := anchorPairs(k.witnesses, "--witness")
	if err != nil {
		return "", err
	}
	logs := doc.KeysWithRole(keyring.RoleLog)
	if len(logs) != 1 {
		return "", cli.Usage("--witness needs exactly one log key in the keyring (--add log:LOG.vkey:...); found %d", len(logs))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "log %s\n", logs[0].NoteVerifierKey)
	names := anchorSortedKeys(wits)
	for _, name := range names {
		vkey, err := os.ReadFile(wits[name])
		if err != nil {
			return "", cli.Inconclusive(err, "")
		}
		fmt.Fprintf(&b, "witness %s %s\n", name, strings.TrimSpace(string(vkey)))
	}
	quorum := k.quorum
	if n, err := strconv.Atoi(quorum); err == nil && (n < 1 || n > len(names)) {
		return "", cli.Usage("--witness-quorum %d: want 1..%d, all or any", n, len(names))
	}
	fmt.Fprintf(&b, "group keyring-witnesses %s %s\nquorum keyring-witnesses\n", quorum, strings.Join(names, " "))
	return b.String(), nil
}
