package ingest

import (
	"crypto/sha256"
	"fmt"
	"testing"
	"time"
)

// TestJournalIndex: the compact index finds every record and live key,
// before and after a reload; a replay under a new key does not list the
// record twice; prune forgets exactly the keys older than the TTL (to the
// precision of the age marks).
func TestJournalIndex(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	path := t.TempDir() + "/journal"
	j, err := openJournal(path, time.Hour, clock, anyLogged)
	must(t, err)
	const n = 600 // one a minute: the first 539 are older than the TTL at the end
	rec := func(i int) [32]byte { return sha256.Sum256(fmt.Appendf(nil, "record %d", i)) }
	for i := range n {
		ans := &SubmitResult{Record: digestString(rec(i)), Stream: "s", Receipt: digestString(rec(-i - 1))}
		must(t, j.put(fmt.Sprintf("k%d", i), [32]byte{byte(i)}, ans))
		now = now.Add(time.Minute)
	}
	first := &SubmitResult{Record: digestString(rec(0)), Stream: "s", Receipt: digestString(rec(-1))}
	must(t, j.putKey("replay", [32]byte{9}, first))
	check := func(stage string, oldKeys bool) {
		t.Helper()
		for _, tc := range []struct {
			key  string
			want bool
		}{{"k0", oldKeys}, {"k538", oldKeys}, {"k539", true}, {"k599", true}, {"replay", true}, {"k600", false}} {
			if _, _, ok, err := j.lookupKey(tc.key); ok != tc.want || err != nil {
				t.Errorf("%s: key %s: found %v (err %v), want %v", stage, tc.key, ok, err, tc.want)
			}
		}
		for _, i := range []int{0, 1, n / 2, n - 1} {
			if a, ok, err := j.lookupRecord(rec(i)); !ok || err != nil || a.Record != digestString(rec(i)) {
				t.Errorf("%s: record %d: %+v, %v, %v", stage, i, a, ok, err)
			}
		}
		if _, ok, _ := j.lookupRecord(rec(n)); ok {
			t.Errorf("%s: a record never put is found", stage)
		}
		if got, err := j.streamAnswers("s", -1, 2*n); err != nil || len(got) != n {
			t.Errorf("%s: stream lists %d answers (err %v), want %d", stage, len(got), err, n)
		}
	}
	now = now.Add(-time.Minute) // the cutoff is k539's time
	check("live", false)        // lookups check the line's time: expired keys never answer
	if got := j.prune(); got < 530 || got > 539 {
		t.Errorf("pruned %d keys, want about 539", got)
	}
	check("pruned", false)
	must(t, j.close())
	j, err = openJournal(path, time.Hour, clock, anyLogged)
	must(t, err)
	defer j.close()
	check("reloaded", false)
}
