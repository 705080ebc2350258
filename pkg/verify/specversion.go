package verify

import (
	"fmt"

	"github.com/dossier-audit/dossier/pkg/keyring"
)

// SpecVersion is the newest version of SPEC.md this verifier implements.
const SpecVersion = "0.3.0"

// profile is the rule set a package's specVersion selects (SPEC.md §11):
// rules are chosen by the package's version, never by the verifier's.
type profile struct {
	version string
	// additions030 admits what SPEC.md 0.3.0 added: the anchors.json
	// layer, a policy v2 layer, review document layers, and evaluation
	// plans signed by reviewer keys.
	additions030 bool
}

// profiles are the versions this verifier implements. 0.2.0 is the first
// version that defines packages; every later one keeps its rules.
var profiles = map[string]profile{
	"0.2.0": {version: "0.2.0"},
	"0.3.0": {version: "0.3.0", additions030: true},
}

// newest is the profile of SpecVersion; it applies until a package's
// descriptor has been read.
var newest = profiles[SpecVersion]

// checkSpecVersion implements SPEC.md §5 step 3.7: a package whose
// specVersion is not a version this verifier implements (malformed,
// later, or earlier than the first version with packages) is not
// verified by rules it does not follow; the result is inconclusive (step
// 3 not-checked), never verified. A package of an implemented version
// holds only what that version defines (index). (A missing member
// already failed the strict package descriptor.)
func (s *pkgState) checkSpecVersion() bool {
	v := s.meta.Config.SpecVersion
	p, ok := profiles[v]
	if !ok {
		s.skip("3", FailIndex, fmt.Sprintf("unsupported specVersion %q: this verifier implements versions 0.2.0 and %s", v, SpecVersion))
		return false
	}
	s.profile = p
	if layer := s.meta.laterLayer(p); layer != "" {
		s.indexFail(s.meta.Digest, "specVersion %s packages carry no %s layer (added in 0.3.0)", v, layer)
		return false
	}
	return true
}

// laterLayer names a metadata layer the profile does not define, or "".
func (md *metadata) laterLayer(p profile) string {
	switch {
	case p.additions030:
		return ""
	case md.Anchors.Digest != "":
		return "anchors.json"
	case md.Policy.MediaType == PolicyV2MediaType:
		return "policy v2 (" + PolicyV2MediaType + ")"
	case len(md.Reviews) > 0:
		return "review document"
	}
	return ""
}

// rolesFor lists the keyring roles allowed to sign a record kind under
// the profile (SPEC.md §2, §5 step 6).
func (p profile) rolesFor(kind string) []string {
	if kind == "evaluation-plan" && !p.additions030 {
		return []string{keyring.RoleProducer, keyring.RoleIngest}
	}
	return rolesFor(kind)
}
