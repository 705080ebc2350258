package dossier

// readmeText is README.txt (text/template over *report).
const readmeText = `DOSSIER COMPLIANCE PACKAGE {{.PackageID}}
========================================================================
{{if .ForReview}}
FOR REVIEW: this package does not meet the policy its exporter proposes.
It is exported so that reviewers can examine and approve it; it is not a
release. Rules not met when it was exported:
{{range .ForReview}}  - {{.}}
{{end}}{{end}}
What this is
------------
This file is an audit package ("dossier") exported from a Dossier audit
log on {{.Created}}. It holds the signed records of {{len .Runs}} training
run(s), the time evidence they cite, the keyring that says which key may
sign what, one signed log checkpoint with an inclusion proof for every
record, the ledger of earlier exports, and a proposed verification policy.
It is an OCI image layout in an uncompressed tar: every blob is stored
under blobs/sha256/<hex> and named by its SHA-256.

  Purpose:        {{.Purpose}}
  Requested by:   {{.RequestedBy.Name}} ({{.RequestedBy.ID}})
  Recipient:      {{.Recipient.Organisation}}{{if .Recipient.Contact}} <{{.Recipient.Contact}}>{{end}}
  Exported by:    {{.Producer.Name}} ({{.Producer.ID}})
  Export record:  {{.ExportRecord}}
  Records:        {{.RecordCount}} (list digest {{.RecordList}})
  Log:            {{.Origin}}, tree size {{.TreeSize}}, root {{.RootHash}}

This README and REPORT.html are human copies: byte-identical copies of
blobs that the package attestation covers, so an edited copy is detected
like an edited record. They state facts; they carry no verdict. The
verdict is the verifier's.

Verifying with the standalone verifier
--------------------------------------
Obtain the keyring root fingerprint (SHA256:<64 hex>) OUT OF BAND from
the organisation that exported this package, then run

  dossier-verify --root-fingerprint SHA256:<hex> package.tar

Exit 0 = verified, 1 = rejected, 2 = usage, 3 = inconclusive (I/O).
The package never vouches for its own trust root.

The verification algorithm in short (spec/package.md, SPEC.md)
---------------------------------------------------------------
 1. tar: canonical (sorted regular files, mode 0444, owner 0, mtime 0).
 2. layout: every blob's SHA-256 and size match its descriptor.
 3. index: the package index lists exactly what is inside; README.txt and
    REPORT.html equal their blobs.
 4. keyring: version 1's document hashes to the pinned fingerprint; every
    later version is signed by the threshold of the previous root keys.
 5. package signature: the package attestation verifies with an exporter
    key and names the package index.
 6. records: each Sigstore bundle's DSSE signature verifies with the key
    its hint names, and that key holds a role allowed for the record kind;
    the statement's subject[0] is the run root.
 7. log: the checkpoint verifies with the keyring's log key; every record,
    the export record and every keyring version is included in it.
 8. sequence: each run's records are numbered 0,1,2,... without gaps.
 9. time: time evidence meets the policy; keys were valid at the log
    position of what they signed.
10. export: the export record lists exactly the records in the package.
11. policy: the record kinds the policy requires are present.
12. consistency: earlier export heads are consistent with the checkpoint.

Checking one record by hand (openssl, sha256sum, jq, base64)
-----------------------------------------------------------
  mkdir p && tar -xf package.tar -C p && cd p
  # every blob is named by its SHA-256:
  (cd blobs/sha256 && for f in *; do echo "$f  $f"; done | sha256sum -c --quiet)
  # the keyring: version 1's payload must hash to the pinned fingerprint
  # (each version's envelope is the blob named by its digest, listed below):
{{with index .Keyring 0}}  jq -r .payload blobs/sha256/{{hex .Digest}} | base64 -d > keyring-v1.json
{{end}}  sha256sum keyring-v1.json          # compare with the pinned SHA256:<hex>
  # one record: its bundle is the blob named by its digest (listed below)
  B=blobs/sha256/<hex of the record digest>
  sha256sum $B                       # = the record digest
  jq -r .dsseEnvelope.payload $B | base64 -d > payload.json
  jq -r '.dsseEnvelope.signatures[0].sig' $B | base64 -d > sig.der
  jq -r .verificationMaterial.publicKey.hint $B     # the signer's key id
  # take that key's publicKey PEM from the newest keyring version:
  jq -r --arg id "<hint>" '.keys[] | select(.id==$id) | .publicKey' keyring-vN.json > key.pem
  # rebuild the DSSE pre-authentication encoding (PAE):
  T=application/vnd.in-toto+json
  printf 'DSSEv1 %d %s %d ' ${#T} $T $(stat -c %s payload.json) > pae.bin
  cat payload.json >> pae.bin
  openssl dgst -sha256 -verify key.pem -signature sig.der pae.bin          # ECDSA P-256
  openssl pkeyutl -verify -pubin -inkey key.pem -rawin -in pae.bin -sigfile sig.der   # Ed25519
  # "Verified OK" / "Signature Verified Successfully"; then check that
  # subject[0].digest.sha256 in payload.json is the run root listed below.

{{if .Anchors}}Independent anchors (anchors.json)
----------------------------------
The log operator signs checkpoints, so it could sign again; an anchor is
a signature by someone else, with a time, over a checkpoint: an RFC 3161
token by a time-stamping authority (TSA), or witness cosignatures. Each
proves the checkpoint, and so every record with a smaller log index,
existed no later than its time. anchors.json is {{.AnchorsBlob}}.
{{range .Anchors}}  anchors[{{.N}}]  checkpoint size {{.Size}}{{if .TSAs}}  tokens: {{join .TSAs ", "}}{{end}}{{if .Cosignatures}}  cosignatures: {{.Cosignatures}}{{end}}
{{end}}
Checking a token by hand (openssl, jq, base64):
  A={{.AnchorsBlob}}
  jq -r '.anchors[0].checkpoint' $A | base64 -d > checkpoint
  jq -r '.anchors[0].timestamps[0].response' $A | base64 -d > checkpoint.tsr
  openssl ts -reply -in checkpoint.tsr -text        # shows "Time stamp:"
  # tsa-chain.pem: the TSA's chainPem from YOUR trust root (the keyring
  # version you pinned, timestampAuthorities[]), never from this package:
  openssl ts -verify -data checkpoint -in checkpoint.tsr -CAfile tsa-chain.pem
  # "Verification: OK". If the TSA certificate has expired since, add
  # -attime <the "Time stamp" as Unix seconds>.

{{end}}{{if .Reviews}}Review documents
----------------
The review documents approvals in this package name (renderedViewDigest),
each a blob named by its digest:
{{range .Reviews}}  {{.}}
{{end}}
{{end}}Runs and records
----------------
{{range .Runs}}run {{.ID}}  root {{.Digest}}
  project {{.Project}}, model {{.Model}}, started {{.StartedAt}} by {{.StartedBy}}
{{range .Records}}  #{{.Seq}} {{.Kind}}  record {{.Digest}}  (log index {{.Index}}, key {{.KeyHint}})
{{end}}
{{end}}{{if .TimeEvidence}}Time evidence
-------------
{{range .TimeEvidence}}  {{.Kind}}  record {{.Digest}}  (log index {{.Index}}, checked {{.ProducedAt}})
{{end}}
{{end}}Keyring
-------
{{range .Keyring}}version {{.Version}}  envelope {{.Digest}}  issued {{.IssuedAt}}
{{range .Keys}}  {{.ID}}  {{.Algorithm}}  {{join .Roles ","}}  {{.Owner.Name}} ({{.Owner.PersonID}}, {{.Owner.Team}}){{if .Revocation}}  REVOKED {{.Revocation.At}} {{.Revocation.Reason}}{{end}}
{{end}}{{end}}
{{if .Ledger}}Earlier exports
---------------
{{range .Ledger}}  package {{.Package}}  sealed record {{.Sealed}}  tree size {{.Size}}
{{end}}{{end}}`

// reportHTML is REPORT.html (html/template over *report): static, no
// script, every value escaped.
const reportHTML = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Dossier {{.PackageID}}</title>
<style>
body{font-family:sans-serif;max-width:72em;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #bbb;padding:.25em .5em;text-align:left;vertical-align:top}
code{font-size:.85em;word-break:break-all}.v{color:#064}.a{color:#740}
</style></head><body>
<h1>Compliance package {{.PackageID}}</h1>
{{if .ForReview}}<p><strong>For review:</strong> this package does not meet the policy its exporter proposes; it is
exported for review and approval, not as a release. Rules not met when it was exported:</p>
<ul>{{range .ForReview}}<li><code>{{.}}</code></li>{{end}}</ul>
{{end}}<p>Facts are marked <span class="v">[verifiable]</span> (cryptographically verifiable: digests, signatures,
log inclusion) or <span class="a">[asserted]</span> (asserted by the signer of a record). This report carries
no verdict; run <code>dossier-verify</code> with the root fingerprint obtained out of band.</p>
<h2>Export</h2>
<table>
<tr><th>created</th><td>{{.Created}} <span class="a">[asserted]</span></td></tr>
<tr><th>purpose</th><td>{{.Purpose}} <span class="a">[asserted]</span></td></tr>
<tr><th>requested by</th><td>{{.RequestedBy.Name}} ({{.RequestedBy.ID}}) <span class="a">[asserted]</span></td></tr>
<tr><th>recipient</th><td>{{.Recipient.Organisation}} {{.Recipient.Contact}} <span class="a">[asserted]</span></td></tr>
<tr><th>exported by</th><td>{{.Producer.Name}} ({{.Producer.ID}}) <span class="a">[asserted]</span></td></tr>
<tr><th>export record</th><td><code>{{.ExportRecord}}</code> <span class="v">[verifiable]</span></td></tr>
<tr><th>records</th><td>{{.RecordCount}}, list digest <code>{{.RecordList}}</code> <span class="v">[verifiable]</span></td></tr>
<tr><th>log checkpoint</th><td>{{.Origin}}, size {{.TreeSize}}, root <code>{{.RootHash}}</code> <span class="v">[verifiable]</span></td></tr>
</table>
{{range .Runs}}
<h2>Run {{.ID}}</h2>
<table>
<tr><th>run root</th><td><code>{{.Digest}}</code> <span class="v">[verifiable]</span></td></tr>
<tr><th>project / model</th><td>{{.Project}} / {{.Model}} <span class="a">[asserted]</span></td></tr>
<tr><th>started</th><td>{{.StartedAt}} by {{.StartedBy}} <span class="a">[asserted]</span></td></tr>
</table>
{{range .Records}}
<h3>#{{.Seq}} {{.Kind}}</h3>
<table>
<tr><th>record</th><td><code>{{.Digest}}</code>, log index {{.Index}}, signed by key <code>{{.KeyHint}}</code> <span class="v">[verifiable]</span></td></tr>
<tr><th>produced</th><td>{{.ProducedAt}} by {{.Producer}} <span class="a">[asserted]</span></td></tr>
{{range .Facts}}<tr><th>{{.Name}}</th><td><code>{{.Value}}</code> <span class="a">[asserted]</span></td></tr>
{{end}}</table>
{{end}}{{end}}
{{if .TimeEvidence}}<h2>Time evidence</h2>
{{range .TimeEvidence}}<table>
<tr><th>record</th><td><code>{{.Digest}}</code>, log index {{.Index}}, key <code>{{.KeyHint}}</code> <span class="v">[verifiable]</span></td></tr>
<tr><th>checked at</th><td>{{.ProducedAt}} <span class="a">[asserted]</span></td></tr>
{{range .Facts}}<tr><th>{{.Name}}</th><td><code>{{.Value}}</code> <span class="a">[asserted]</span></td></tr>
{{end}}</table>
{{end}}{{end}}
<h2>Keyring</h2>
{{range .Keyring}}<h3>Version {{.Version}}</h3>
<p>envelope <code>{{.Digest}}</code> <span class="v">[verifiable]</span>, issued {{.IssuedAt}}, root threshold {{.RootThreshold}}</p>
{{with .Change}}<p>signed by {{join .SignedBy ", "}}{{if gt .Version 1}} (root keys of the previous version){{else}} (its own root keys){{end}}.
{{if .Added}}Added: {{join .Added ", "}}. {{end}}{{if .Removed}}Removed: {{join .Removed ", "}}. {{end}}{{if .RolesChanged}}Roles changed: {{join .RolesChanged "; "}}. {{end}}{{if .Revoked}}Revoked: {{join .Revoked "; "}}. {{end}}</p>
{{end}}<table><tr><th>key</th><th>algorithm</th><th>roles</th><th>owner</th><th>valid</th><th>revocation</th></tr>
{{range .Keys}}<tr><td><code>{{.ID}}</code></td><td>{{.Algorithm}}</td><td>{{join .Roles ", "}}</td><td>{{.Owner.Name}} ({{.Owner.PersonID}}, {{.Owner.Team}})</td><td>from {{.ValidFrom}}{{if .ValidUntil}} until {{.ValidUntil}}{{end}}</td><td>{{if .Revocation}}{{.Revocation.Reason}} at {{.Revocation.At}}{{end}}</td></tr>
{{end}}</table>
{{end}}
{{if .Anchors}}<h2>Independent anchors</h2>
<p><code>{{.AnchorsBlob}}</code>: each entry bounds the time of the records below its checkpoint size
<span class="v">[verifiable with the trust root's TSAs and witness policy]</span></p>
<table><tr><th>entry</th><th>checkpoint size</th><th>TSA tokens</th><th>cosignatures</th></tr>
{{range .Anchors}}<tr><td>{{.N}}</td><td>{{.Size}}</td><td>{{join .TSAs ", "}}</td><td>{{.Cosignatures}}</td></tr>
{{end}}</table>
{{end}}{{if .Reviews}}<h2>Review documents</h2>
<ul>{{range .Reviews}}<li><code>{{.}}</code> <span class="v">[verifiable]</span></li>{{end}}</ul>
{{end}}{{if .Ledger}}<h2>Earlier exports</h2>
<table><tr><th>package</th><th>sealed record</th><th>tree size</th></tr>
{{range .Ledger}}<tr><td><code>{{.Package}}</code></td><td><code>{{.Sealed}}</code></td><td>{{.Size}} <span class="v">[verifiable: consistent with this checkpoint]</span></td></tr>
{{end}}</table>{{end}}
{{if .Omitted}}<h2>Left out</h2>
<table><tr><th>kind</th><th>digest</th><th>reason</th></tr>
{{range .Omitted}}<tr><td>{{.Kind}}</td><td><code>{{.Digest}}</code></td><td>{{.Reason}}</td></tr>
{{end}}</table>{{end}}
</body></html>
`
