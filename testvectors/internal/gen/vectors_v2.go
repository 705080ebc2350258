package main

// specVersionV2 is the specVersion of set v2's packages: the version of
// SPEC.md that added anchors.json, policy v2, review documents, the anchor
// trust root of keyring documents and reviewer-signed evaluation plans.
const specVersionV2 = "0.3.0"

// vectorsV2 is set v2: the additions of issues 7 and 8 (SPEC.md 0.3.0).
// Every package says specVersion 0.3.0 unless the vector's own Meta stage
// says otherwise (set v1 stays 0.2.0, frozen).
func vectorsV2() []vector {
	var vs []vector
	vs = append(vs, policyV2Vectors()...)
	vs = append(vs, anchorVectors()...)
	vs = append(vs, whoSetsTheBarVectors()...)
	vs = append(vs, specVersionVectors()...)
	vs = append(vs, specProfileVectors()...)
	vs = append(vs, answerVectors()...)
	for i := range vs {
		own := vs[i].S.Meta
		vs[i].S.Meta = func(b *B) {
			b.MetaConfig["specVersion"] = specVersionV2
			run1(own, b)
		}
	}
	return vs
}
