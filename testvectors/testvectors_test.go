package testvectors

import (
	"encoding/json"
	"io/fs"
	"testing"
)

func TestV1EveryVectorComplete(t *testing.T) {
	if n := checkSet(t, V1, "v1"); n < 100 {
		t.Errorf("only %d vectors embedded", n)
	}
}

func TestV2EveryVectorComplete(t *testing.T) {
	if n := checkSet(t, V2, "v2"); n < 15 {
		t.Errorf("only %d vectors embedded", n)
	}
}

func checkSet(t *testing.T, set fs.FS, name string) int {
	t.Helper()
	dirs, err := fs.ReadDir(set, name)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		n++
		base := name + "/" + d.Name() + "/"
		var e struct{ Outcome, Class, Step, Description string }
		raw, err := fs.ReadFile(set, base+"expected.json")
		if err != nil || json.Unmarshal(raw, &e) != nil || e.Outcome == "" || e.Description == "" {
			t.Errorf("%s: bad expected.json: %v", d.Name(), err)
		}
		if e.Outcome == "rejected" && (e.Class == "" || e.Step == "") {
			t.Errorf("%s: a rejection must name its class and step", d.Name())
		}
		for _, f := range []string{"package.tar", "trust/root-fingerprint"} {
			if _, err := fs.Stat(set, base+f); err != nil {
				t.Errorf("%s: %v", d.Name(), err)
			}
		}
	}
	return n
}
