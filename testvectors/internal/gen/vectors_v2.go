package main

// vectorsV2 is set v2: the additions of issues 7 and 8.
func vectorsV2() []vector {
	var vs []vector
	vs = append(vs, policyV2Vectors()...)
	vs = append(vs, anchorVectors()...)
	vs = append(vs, whoSetsTheBarVectors()...)
	vs = append(vs, specVersionVectors()...)
	return vs
}
