// Package gate is the approval workflow around pkg/policy and pkg/review:
// it gathers the verified facts of a run from a log directory (Load), turns
// them into a policy Input and a review Input, builds and signs approval
// records (SignApproval) and, when a release satisfies its policy, issues
// an SLSA Verification Summary Attestation about the model weights
// (SignVSA) that a deployment gate can check with stock tools.
package gate
