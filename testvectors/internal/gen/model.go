package main

import (
	"encoding/json"
	"strconv"
)

const (
	bundleMediaType  = "application/vnd.dev.sigstore.bundle.v0.3+json"
	intotoPayload    = "application/vnd.in-toto+json"
	statementType    = "https://in-toto.io/Statement/v1"
	keyringMediaType = "application/vnd.dossier.keyring.v1+json"
	emptyDigest      = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
)

func predicateType(kind string) string { return "https://dossier.dev/predicates/" + kind + "/v1" }

// ---- keyring (spec/package.md §1) ----

type owner struct {
	Name     string `json:"name"`
	PersonID string `json:"personId"`
	Team     string `json:"team"`
}

type keyEntry struct {
	ID              string   `json:"id"`
	Algorithm       string   `json:"algorithm"`
	PublicKey       string   `json:"publicKey"`
	NoteVerifierKey string   `json:"noteVerifierKey,omitempty"`
	Roles           []string `json:"roles"`
	Owner           owner    `json:"owner"`
	ValidFrom       string   `json:"validFrom"`
	ValidUntil      *string  `json:"validUntil"`
	Revocation      any      `json:"revocation"`
}

type keyringDoc struct {
	MediaType     string     `json:"mediaType"`
	Version       int        `json:"version"`
	Previous      *string    `json:"previous"`
	IssuedAt      string     `json:"issuedAt"`
	RootThreshold int        `json:"rootThreshold"`
	Keys          []keyEntry `json:"keys"`
	// the optional anchor trust root (SPEC.md §3.11, spec/anchors.md §4)
	TimestampAuthorities []tsaEntry `json:"timestampAuthorities,omitempty"`
	WitnessPolicy        string     `json:"witnessPolicy,omitempty"`
}

type tsaEntry struct {
	Name       string `json:"name"`
	ChainPEM   string `json:"chainPem"`
	ValidFrom  string `json:"validFrom"`
	ValidUntil string `json:"validUntil"`
	Policy     string `json:"policy,omitempty"`
}

func entryFor(k *Key, roles []string, team, logName string) keyEntry {
	e := keyEntry{ID: k.Fingerprint(), Algorithm: k.Alg, PublicKey: k.PEM(), Roles: roles,
		Owner:     owner{Name: k.Name, PersonID: "workload:" + k.Name, Team: team},
		ValidFrom: "2026-11-27T00:00:00Z"}
	if logName != "" {
		e.NoteVerifierKey = k.NoteVerifierKey(logName)
	}
	return e
}

type dsseSig struct {
	Sig   string `json:"sig"`
	KeyID string `json:"keyid"`
}

type dsseEnvelope struct {
	Payload     string    `json:"payload"`
	PayloadType string    `json:"payloadType"`
	Signatures  []dsseSig `json:"signatures"`
}

// signKeyring wraps a keyring document in a DSSE envelope signed by signers.
func signKeyring(doc []byte, signers ...*Key) []byte {
	env := dsseEnvelope{Payload: b64(doc), PayloadType: keyringMediaType}
	for _, k := range signers {
		env.Signatures = append(env.Signatures, dsseSig{KeyID: k.Fingerprint(), Sig: b64(k.Sign(PAE(keyringMediaType, doc)))})
	}
	return cjson(env)
}

// ---- run root (SPEC.md §Run root) ----

type run struct {
	ID           string
	Registration []byte
	Manifest     []byte
}

func (r *run) Digest() string { return digestOf(r.Manifest) }
func (r *run) Hex() string    { return hexOf(r.Manifest) }

func newRun(id, startedAt string) *run {
	reg := `{"schema":"https://dossier.dev/run/registration/v1","runId":` + jstr(id) +
		`,"project":"support-assistant","model":"support-llm","startedBy":{"id":"workload:pipeline/train","name":"training pipeline","kind":"workload"},"startedAt":` +
		jstr(startedAt) + `,"description":"fine-tune of the support assistant"}` + "\n"
	man := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.dossier.run.v1",` +
		`"config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"` + emptyDigest + `","size":2},` +
		`"layers":[{"mediaType":"application/vnd.dossier.run.registration.v1+json","digest":"` + digestOf([]byte(reg)) + `","size":` + strconv.Itoa(len(reg)) +
		`,"annotations":{"org.opencontainers.image.title":"registration.json"}}],` +
		`"annotations":{"dev.dossier.run.id":` + jstr(id) + `,"dev.dossier.run.project":"support-assistant","org.opencontainers.image.created":` + jstr(startedAt) + `}}`
	return &run{ID: id, Registration: []byte(reg), Manifest: []byte(man)}
}

// ---- statements and bundles (SPEC.md §Statement, §Envelope, §Bundle) ----

type subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

type statement struct {
	Type          string          `json:"_type"`
	Subject       []subject       `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

func makeStatement(subjName, subjHex, kind string, pred []byte) []byte {
	return cjson(statement{Type: statementType, Subject: []subject{{Name: subjName, Digest: map[string]string{"sha256": subjHex}}},
		PredicateType: predicateType(kind), Predicate: pred})
}

// bundleSpec says how to wrap and sign a statement.
type bundleSpec struct {
	Signer      *Key
	Hint        string // default: the signer's fingerprint
	NoHint      bool   // an empty hint (set v2)
	KeyID       string // DSSE keyid; empty means omitted
	PayloadType string // default application/vnd.in-toto+json
	ExtraSigner *Key   // a second signature
	MediaType   string // default v0.3
	SigMutate   func([]byte) []byte
}

func makeBundle(stmt []byte, s bundleSpec) []byte {
	pt := s.PayloadType
	if pt == "" {
		pt = intotoPayload
	}
	hint := s.Hint
	if hint == "" && !s.NoHint {
		hint = s.Signer.Fingerprint()
	}
	mt := s.MediaType
	if mt == "" {
		mt = bundleMediaType
	}
	sig := s.Signer.Sign(PAE(pt, stmt))
	if s.SigMutate != nil {
		sig = s.SigMutate(sig)
	}
	sigs := sigJSON(s.KeyID, sig)
	if s.ExtraSigner != nil {
		sigs += "," + sigJSON(s.KeyID, s.ExtraSigner.Sign(PAE(pt, stmt)))
	}
	return []byte(`{"mediaType":` + jstr(mt) + `,"verificationMaterial":{"publicKey":{"hint":` + jstr(hint) +
		`}},"dsseEnvelope":{"payload":"` + b64(stmt) + `","payloadType":` + jstr(pt) + `,"signatures":[` + sigs + `]}}`)
}

func sigJSON(keyid string, sig []byte) string {
	if keyid == "" {
		return `{"sig":"` + b64(sig) + `"}`
	}
	return `{"keyid":` + jstr(keyid) + `,"sig":"` + b64(sig) + `"}`
}
