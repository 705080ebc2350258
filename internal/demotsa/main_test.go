package main

import (
	"strings"
	"testing"
)

// TestLoopbackOnly: the test TSA refuses any address but loopback.
func TestLoopbackOnly(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:3000", "localhost:0", "no-port"} {
		if err := run(addr, ""); err == nil || !strings.Contains(err.Error(), addr) {
			t.Errorf("run(%q) = %v, want a refusal", addr, err)
		}
	}
}
