package tlog

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
)

const helperEnv = "DOSSIER_TLOG_CRASH_HELPER"

var crashStreams = []string{runA, "time-evidence", "export"}

// helperProcess is the child of TestCrashRecovery: it appends forever from
// 16 goroutines and prints one line per acknowledged receipt.
func helperProcess() {
	dir, round := os.Getenv(helperEnv), os.Getenv("DOSSIER_TLOG_ROUND")
	s, err := NewSigner(os.Getenv("DOSSIER_TLOG_SKEY"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	l, err := Open(context.Background(), dir, Options{Signer: s, BatchMaxAge: time.Millisecond, CheckpointInterval: 100 * time.Millisecond})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				stream := crashStreams[(g+i)%len(crashStreams)]
				r, err := l.Append(context.Background(), fmt.Appendf(nil, "crash %s %d %d", round, g, i), stream)
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(3)
				}
				mu.Lock()
				fmt.Fprintf(os.Stdout, "ack %d %s %d %s %d %d\n", r.Index, r.Bundle, r.Seq, r.Stream, g, i)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

type ack struct {
	index, seq     uint64
	bundle, stream string
	g, i           int
}

func runCrashRound(t *testing.T, dir, skey string, round int) []ack {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+dir, "DOSSIER_TLOG_SKEY="+skey, "DOSSIER_TLOG_ROUND="+strconv.Itoa(round))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	delay := time.Duration(300+rand.IntN(700)) * time.Millisecond
	timer := time.AfterFunc(delay, func() { cmd.Process.Signal(syscall.SIGKILL) })
	defer timer.Stop()
	var acks []ack
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 7 || f[0] != "ack" {
			continue // a line torn by the kill was never complete: not acknowledged
		}
		idx, _ := strconv.ParseUint(f[1], 10, 64)
		seq, _ := strconv.ParseUint(f[3], 10, 64)
		g, _ := strconv.Atoi(f[5])
		i, _ := strconv.Atoi(f[6])
		acks = append(acks, ack{index: idx, bundle: f[2], seq: seq, stream: f[4], g: g, i: i})
	}
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
		t.Fatalf("child ended without being killed: %v", err)
	}
	return acks
}

// TestCrashRecovery kills a child appender with SIGKILL at a random moment,
// several times, and reconciles what it acknowledged with what the log
// holds: every acknowledged record is present once, at its index and seq;
// streams are contiguous with correct prev links; the tree verifies against
// an independent RFC 6962 computation.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test re-executes the test binary")
	}
	k := newTestKey(t, testOrigin)
	dir := t.TempDir()
	if err := Init(context.Background(), dir, testOptions(k)); err != nil {
		t.Fatal(err)
	}
	var all []ack
	for round := range 8 {
		acks := runCrashRound(t, dir, k.skey, round)
		t.Logf("round %d: %d acknowledged before SIGKILL", round, len(acks))
		all = append(all, acks...)
		reconcile(t, dir, k, all)
		retryUnacknowledged(t, dir, k, round, acks)
	}
}

// retryUnacknowledged re-sends, as a client would, the records each child
// goroutine had in flight when it was killed: each lands exactly once,
// whether or not the dead appender had integrated it.
func retryUnacknowledged(t *testing.T, dir string, k testKey, round int, acks []ack) {
	t.Helper()
	next := map[int]int{}
	for _, a := range acks {
		next[a.g] = max(next[a.g], a.i+1)
	}
	l := openTestLog(t, dir, testOptions(k))
	defer closeLog(t, l)
	existing := 0
	for g := range 16 {
		i := next[g]
		b := fmt.Appendf(nil, "crash %d %d %d", round, g, i)
		r, err := l.Append(context.Background(), b, crashStreams[(g+i)%len(crashStreams)])
		if err != nil {
			t.Fatalf("retry of %q: %v", b, err)
		}
		if r.Existing {
			existing++
		}
		again, err := l.Append(context.Background(), b, r.Stream)
		if err != nil || !again.Existing || again.Index != r.Index {
			t.Fatalf("second retry of %q: %+v %v", b, again, err)
		}
	}
	t.Logf("round %d: %d of 16 in-flight records were already in the log", round, existing)
}

func reconcile(t *testing.T, dir string, k testKey, acks []ack) {
	t.Helper()
	ctx := context.Background()
	l := openTestLog(t, dir, testOptions(k)) // Open fails on duplicates or seq collisions
	for _, a := range acks {
		r, ok := l.Lookup(a.bundle)
		if !ok || r.Index != a.index || r.Seq != a.seq || r.Stream != a.stream {
			t.Fatalf("acknowledged %+v, log has %+v (found %v)", a, r, ok)
		}
	}
	size, _ := l.Size(ctx)
	closeLog(t, l)
	checkStreams(t, dir, size)
	cp := rootOf(t, dir, k)
	if got := independentRoot(t, dir, int(cp.Size)); cp.Size != size || got != cp.Root {
		t.Fatalf("independent root %x of %d leaves != checkpoint %d %x", got, size, cp.Size, cp.Root)
	}
}

// checkStreams requires every stream to be 0..n-1 with prev links, in any
// leaf order.
func checkStreams(t *testing.T, dir string, size uint64) {
	t.Helper()
	bySeq := map[string]map[uint64]tlogproof.Leaf{}
	err := forEachLeaf(context.Background(), fileReader(dir), size, func(_ uint64, raw []byte) error {
		lf, err := tlogproof.ParseLeaf(raw)
		if err != nil {
			return err
		}
		if bySeq[lf.Stream] == nil {
			bySeq[lf.Stream] = map[uint64]tlogproof.Leaf{}
		}
		bySeq[lf.Stream][lf.Seq] = lf
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for s, m := range bySeq {
		for i := uint64(0); i < uint64(len(m)); i++ {
			lf, ok := m[i]
			if !ok {
				t.Fatalf("stream %s: seq %d missing of %d", s, i, len(m))
			}
			if i > 0 && lf.Prev != m[i-1].Bundle {
				t.Fatalf("stream %s seq %d: prev %s, want %s", s, i, lf.Prev, m[i-1].Bundle)
			}
		}
	}
}
