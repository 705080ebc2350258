package record

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzResourceDescriptor checks that the fast path never accepts a
// descriptor the full check rejects.
func FuzzResourceDescriptor(f *testing.F) {
	f.Add(`{"name":"a","digest":{"sha256":"`+rootHex+`"},"annotations":{"size":1}}`, true)
	f.Add(`{"digest":{"sha256":"`+strings.ToUpper(rootHex)+`","sha512":"ab"},"mediaType":"Text/plain"}`, false)
	f.Add(`{"name":"l","digest":{"sha256":"`+rootHex+`","gitCommit":""},"annotations":{"size":-1,"linkTarget":""}}`, true)
	f.Fuzz(func(t *testing.T, in string, named bool) {
		var d ResourceDescriptor
		if json.Unmarshal([]byte(in), &d) != nil {
			return
		}
		c := &checker{}
		c.rdFull("d", &d, named)
		full := len(c.errs) == 0
		if rdOK(&d, named) && !full {
			t.Fatalf("fast path accepts %s (named %v); full check: %v", in, named, c.err())
		}
	})
}
