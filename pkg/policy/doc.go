// Package policy evaluates a Dossier verification policy (spec/policy.md)
// over the verified facts of one run: which record kinds it must hold, the
// signed evaluation plan its evaluations are checked against, and the N-of-M
// approvals by distinct, independent reviewers that gate its release.
//
// The package is pure: it never reads files, the network or the clock. A
// verifier that has already checked signatures, inclusion and key validity
// passes what it verified (Input) to Evaluate and prints the Report, whose
// every Result names its rule ("approvals.distinct-people", ...).
package policy
