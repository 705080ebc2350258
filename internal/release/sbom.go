// Package release builds the release metadata of the offline bundle: an
// SPDX 2.3 SBOM of the Go dependency graph, read from the build info the Go
// linker embeds in each binary, and an in-toto statement carrying a SLSA
// provenance v1 predicate for the bundle tar. Everything here is pure:
// inputs in, bytes out, no clock and no file system.
package release

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"sort"
	"strings"
	"time"
)

// ErrNoBinaries is returned when an SBOM is asked for no binaries.
var ErrNoBinaries = errors.New("no binaries")

// Binary is one built program: its file name in the bundle, its SHA-256
// (lowercase hex) and the build info read from it (debug/buildinfo).
type Binary struct {
	Name   string
	SHA256 string
	Info   *debug.BuildInfo
}

// SBOMInput is what an SBOM describes.
type SBOMInput struct {
	Name     string    // document name, e.g. "dossier-<version>-offline"
	Version  string    // release version
	Created  time.Time // SOURCE_DATE_EPOCH, so the document is reproducible
	Binaries []Binary
	GoSum    map[string]string // "path@version" -> "h1:..." (from go.sum)
}

type spdxDoc struct {
	SPDXVersion       string         `json:"spdxVersion"`
	DataLicense       string         `json:"dataLicense"`
	SPDXID            string         `json:"SPDXID"`
	Name              string         `json:"name"`
	DocumentNamespace string         `json:"documentNamespace"`
	CreationInfo      spdxCreation   `json:"creationInfo"`
	Packages          []spdxPackage  `json:"packages"`
	Files             []spdxFile     `json:"files"`
	Relationships     []spdxRelation `json:"relationships"`
}

type spdxCreation struct {
	Created  string   `json:"created"`
	Creators []string `json:"creators"`
}

type spdxPackage struct {
	SPDXID           string       `json:"SPDXID"`
	Name             string       `json:"name"`
	VersionInfo      string       `json:"versionInfo,omitempty"`
	DownloadLocation string       `json:"downloadLocation"`
	FilesAnalyzed    bool         `json:"filesAnalyzed"`
	Checksums        []spdxSum    `json:"checksums,omitempty"`
	ExternalRefs     []spdxExtRef `json:"externalRefs,omitempty"`
	PrimaryPurpose   string       `json:"primaryPackagePurpose,omitempty"`
	Comment          string       `json:"comment,omitempty"`
	Supplier         string       `json:"supplier,omitempty"`
	LicenseConcluded string       `json:"licenseConcluded"`
	LicenseDeclared  string       `json:"licenseDeclared"`
	CopyrightText    string       `json:"copyrightText"`
}

type spdxFile struct {
	SPDXID           string    `json:"SPDXID"`
	FileName         string    `json:"fileName"`
	Checksums        []spdxSum `json:"checksums"`
	LicenseConcluded string    `json:"licenseConcluded"`
	CopyrightText    string    `json:"copyrightText"`
}

type spdxSum struct {
	Algorithm string `json:"algorithm"`
	Value     string `json:"checksumValue"`
}

type spdxExtRef struct {
	Category string `json:"referenceCategory"`
	Type     string `json:"referenceType"`
	Locator  string `json:"referenceLocator"`
}

type spdxRelation struct {
	Element string `json:"spdxElementId"`
	Type    string `json:"relationshipType"`
	Related string `json:"relatedSpdxElement"`
}

// SBOM returns an SPDX 2.3 JSON document: one file per binary, one package
// per Go module in any binary's build list (with its go.sum hash as a
// comment and a pkg:golang purl), the main module and the Go standard
// library; the binaries are GENERATED_FROM the main module and the
// packages they were linked from. Output is deterministic for equal input.
func SBOM(in SBOMInput) ([]byte, error) {
	if len(in.Binaries) == 0 {
		return nil, ErrNoBinaries
	}
	doc := newDoc(in)
	mods := map[string]*spdxPackage{}
	for i, b := range in.Binaries {
		if b.Info == nil {
			return nil, fmt.Errorf("%s: no build info", b.Name)
		}
		fid := fmt.Sprintf("SPDXRef-File-%d", i)
		doc.Files = append(doc.Files, spdxFile{SPDXID: fid, FileName: "./" + b.Name,
			Checksums: []spdxSum{{"SHA256", b.SHA256}}, LicenseConcluded: "NOASSERTION", CopyrightText: "NOASSERTION"})
		doc.Relationships = append(doc.Relationships, spdxRelation{"SPDXRef-DOCUMENT", "DESCRIBES", fid})
		for _, p := range linked(b.Info, in.Version) {
			if _, ok := mods[p.key]; !ok {
				mods[p.key] = modulePackage(p, in.GoSum)
			}
			doc.Relationships = append(doc.Relationships, spdxRelation{fid, "GENERATED_FROM", mods[p.key].SPDXID})
		}
	}
	for _, p := range mods {
		doc.Packages = append(doc.Packages, *p)
	}
	sort.Slice(doc.Packages, func(i, j int) bool { return doc.Packages[i].SPDXID < doc.Packages[j].SPDXID })
	return json.MarshalIndent(doc, "", "  ")
}

func newDoc(in SBOMInput) *spdxDoc {
	return &spdxDoc{
		SPDXVersion: "SPDX-2.3", DataLicense: "CC0-1.0", SPDXID: "SPDXRef-DOCUMENT", Name: in.Name,
		DocumentNamespace: "https://dossier.dev/spdx/" + in.Name,
		CreationInfo: spdxCreation{Created: in.Created.UTC().Format(time.RFC3339),
			Creators: []string{"Tool: dossier-release " + in.Version}},
	}
}

// module is one entry of a build list: the stdlib, the main module, or a
// dependency.
type module struct {
	key, path, version, purpose string
}

// linked lists the modules a binary was linked from: the Go standard
// library (its version is the toolchain's), the main module and each
// dependency (after replacements).
func linked(bi *debug.BuildInfo, version string) []module {
	gov := strings.TrimPrefix(bi.GoVersion, "go")
	out := []module{{key: "stdlib", path: "stdlib", version: gov, purpose: "LIBRARY"},
		{key: bi.Main.Path, path: bi.Main.Path, version: version, purpose: "APPLICATION"}}
	for _, d := range bi.Deps {
		if d.Replace != nil {
			d = d.Replace
		}
		out = append(out, module{key: d.Path + "@" + d.Version, path: d.Path, version: d.Version, purpose: "LIBRARY"})
	}
	return out
}

func modulePackage(m module, sums map[string]string) *spdxPackage {
	p := &spdxPackage{
		SPDXID: "SPDXRef-Package-" + spdxID(m.key), Name: m.path, VersionInfo: m.version,
		DownloadLocation: "NOASSERTION", PrimaryPurpose: m.purpose,
		LicenseConcluded: "NOASSERTION", LicenseDeclared: "NOASSERTION", CopyrightText: "NOASSERTION",
		ExternalRefs: []spdxExtRef{{"PACKAGE-MANAGER", "purl", "pkg:golang/" + m.path + "@" + m.version}},
	}
	if h1, ok := sums[m.key]; ok {
		p.Comment = "go.sum " + h1
		if hex, err := H1Hex(h1); err == nil {
			p.Checksums = []spdxSum{{"SHA256", hex}}
			p.Comment += " (checksum: SHA-256 of the module's dirhash h1 summary, golang.org/x/mod/sumdb/dirhash)"
		}
	}
	return p
}

// spdxID maps a module key onto the SPDX id alphabet (letters, digits, '.'
// and '-').
func spdxID(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	return b.String()
}

// H1Hex returns the hex of the SHA-256 inside a go.sum "h1:" hash.
func H1Hex(h1 string) (string, error) {
	raw, ok := strings.CutPrefix(h1, "h1:")
	if !ok {
		return "", fmt.Errorf("go.sum hash %q: not h1", h1)
	}
	b, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || len(b) != 32 {
		return "", fmt.Errorf("go.sum hash %q: not base64 of 32 bytes", h1)
	}
	return hex.EncodeToString(b), nil
}

// ParseGoSum reads go.sum: "path@version" -> "h1:..." for module trees
// (the /go.mod lines are skipped).
func ParseGoSum(data []byte) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || strings.HasSuffix(f[1], "/go.mod") {
			continue
		}
		out[f[0]+"@"+f[1]] = f[2]
	}
	return out
}
