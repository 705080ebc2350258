package ingest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
)

const crashChildEnv = "DOSSIER_INGEST_CRASH_CHILD"

func TestMain(m *testing.M) {
	if path := os.Getenv(crashChildEnv); path != "" {
		crashChild(path)
		return
	}
	os.Exit(m.Run())
}

// crashChild runs the daemon from a config file and prints its address.
func crashChild(path string) {
	cfg := DefaultConfig()
	if err := cfg.LoadConfigFile(path); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx := context.Background()
	s, err := New(ctx, cfg, Deps{Logger: quietLogger()})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Printf("addr %s\n", ln.Addr())
	if err := s.Serve(ctx, ln, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
}

// ledgerEntry is the client's memory of one submission.
type ledgerEntry struct {
	key    string
	n      int
	status int // 0: no answer (the daemon died)
	answer SubmitResult
}

// startChild starts the daemon in a child process and returns its URL.
func startChild(t *testing.T, cfgPath string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+cfgPath)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	sc := bufio.NewScanner(out)
	if !sc.Scan() {
		cmd.Process.Kill()
		t.Fatalf("child printed no address")
	}
	addr, ok := strings.CutPrefix(sc.Text(), "addr ")
	if !ok {
		t.Fatalf("child said %q", sc.Text())
	}
	go func() {
		for sc.Scan() {
		}
	}()
	return cmd, "http://" + addr
}

// load submits from 16 clients until stop is closed, recording every
// request in the ledger before it is sent.
func load(d *daemon, round int, stop <-chan struct{}, ledger *[]*ledgerEntry, mu *sync.Mutex) *sync.WaitGroup {
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				e := &ledgerEntry{key: fmt.Sprintf("r%d-g%d-i%d", round, g, i), n: round*10_000_000 + g*100_000 + i}
				mu.Lock()
				*ledger = append(*ledger, e)
				mu.Unlock()
				st, ans, err := trySubmit(d.url, e)
				if err != nil {
					return // the daemon died: this request has no answer
				}
				mu.Lock()
				e.status, e.answer = st, ans
				mu.Unlock()
			}
		}()
	}
	return &wg
}

var noRetryClient = &http.Client{Timeout: 30 * time.Second}

func trySubmit(url string, e *ledgerEntry) (int, SubmitResult, error) {
	body := datasetBody(nopTB{}, testRunID, e.n)
	req, _ := http.NewRequest("POST", url+"/v1/runs/"+testRunID+"/records", strings.NewReader(string(body)))
	req.Header.Set("Authorization", "Bearer "+tokProducer)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", e.key)
	res, err := noRetryClient.Do(req)
	if err != nil {
		return 0, SubmitResult{}, err
	}
	defer res.Body.Close()
	var a SubmitResult
	if res.StatusCode < 300 {
		if err := json.NewDecoder(res.Body).Decode(&a); err != nil {
			return 0, a, err
		}
	}
	return res.StatusCode, a, nil
}

// TestCrashUnderLoad kills the daemon (SIGKILL) under concurrent load
// several times and reconciles the client ledger with the log: every
// acknowledged record is there once with its original answer, every
// unanswered request lands exactly once when retried, the run's stream is
// contiguous with correct prev links, and every record proves inclusion.
func TestCrashUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test re-executes the test binary")
	}
	dir := t.TempDir()
	cfg := testConfigIn(t, dir)
	cfgPath := filepath.Join(dir, "dossierd.json")
	b, err := json.Marshal(cfg)
	must(t, err)
	must(t, os.WriteFile(cfgPath, b, 0o600))
	var ledger []*ledgerEntry
	var mu sync.Mutex
	for round := range 3 {
		cmd, url := startChild(t, cfgPath)
		d := &daemon{url: url}
		if round == 0 {
			registerRun(t, d, testRunID)
		}
		stop := make(chan struct{})
		wg := load(d, round, stop, &ledger, &mu)
		time.Sleep(time.Duration(300+rand.IntN(700)) * time.Millisecond)
		must(t, cmd.Process.Signal(syscall.SIGKILL))
		_ = cmd.Wait()
		close(stop)
		wg.Wait()
	}
	cmd, url := startChild(t, cfgPath)
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	d := &daemon{url: url}
	reconcile(t, d, cfg, ledger)
}

func reconcile(t *testing.T, d *daemon, cfg Config, ledger []*ledgerEntry) {
	acked, retried := 0, 0
	byRecord := map[string]string{}
	for _, e := range ledger {
		st, a, err := trySubmit(d.url, e)
		must(t, err)
		switch {
		case e.status == 201 || e.status == 200:
			acked++
			if st != 200 || a.Record != e.answer.Record || a.Receipt != e.answer.Receipt || a.Seq != e.answer.Seq {
				t.Fatalf("acknowledged %s: retry %d %+v, first answer %+v", e.key, st, a, e.answer)
			}
		case e.status == 0 || e.status >= 500:
			retried++
			if st != 201 && st != 200 {
				t.Fatalf("unanswered %s: retry got %d", e.key, st)
			}
		default:
			t.Fatalf("%s: status %d under load", e.key, e.status)
		}
		if k, dup := byRecord[a.Record]; dup {
			t.Fatalf("keys %s and %s share record %s", k, e.key, a.Record)
		}
		byRecord[a.Record] = e.key
	}
	r := do(t, "GET", d.url+"/v1/runs/"+testRunID+"/records?limit=10000", tokReviewer, nil)
	var rl RecordList
	must(t, json.Unmarshal(r.body, &rl))
	if len(rl.Records) != len(byRecord) {
		t.Fatalf("run has %d records, ledger %d keys", len(rl.Records), len(byRecord))
	}
	leaves := make([]tlogproof.Leaf, len(rl.Records))
	for i, a := range rl.Records {
		if _, ok := byRecord[a.Record]; !ok {
			t.Fatalf("record %s in the log belongs to no key", a.Record)
		}
		leaves[i] = tlogproof.Leaf{Bundle: a.Record, Stream: a.Stream, Seq: a.Seq, Prev: a.Prev}
	}
	if probs := tlogproof.CheckStream(leaves, 0); len(probs) > 0 {
		t.Fatalf("stream problems: %v", probs)
	}
	v := logVerifier(t, cfg)
	for i, a := range rl.Records {
		if i%7 != 0 && i != len(rl.Records)-1 {
			continue // prove a sample; the stream check covered the rest
		}
		rec := do(t, "GET", d.url+"/v1/records/"+a.Record, tokReviewer, nil)
		proof := do(t, "GET", d.url+"/v1/records/"+a.Record+"/proof", tokReviewer, nil)
		if _, _, err := tlogproof.VerifyBundleInclusion(proof.body, rec.body, v); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	t.Logf("%d acknowledged, %d unanswered and retried, %d records, stream contiguous", acked, retried, len(rl.Records))
	if acked == 0 {
		t.Fatal("nothing was acknowledged before the kills")
	}
}

// nopTB lets datasetBody run outside a test goroutine's t.
type nopTB struct{ testing.TB }

func (nopTB) Helper()                      {}
func (nopTB) Fatal(args ...any)            { panic(fmt.Sprint(args...)) }
func (nopTB) Fatalf(f string, args ...any) { panic(fmt.Sprintf(f, args...)) }

// TestGracefulShutdownDrains stops the daemon (as SIGTERM does) under
// concurrent load: requests in progress finish, and after a restart the
// client ledger reconciles exactly as after a crash.
func TestGracefulShutdownDrains(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	t.Parallel()
	cfg := testConfig(t)
	d := startDaemon(t, cfg)
	registerRun(t, d, testRunID)
	var ledger []*ledgerEntry
	var mu sync.Mutex
	stop := make(chan struct{})
	wg := load(d, 0, stop, &ledger, &mu)
	time.Sleep(400 * time.Millisecond)
	must(t, d.stop())
	close(stop)
	wg.Wait()
	for _, e := range ledger {
		if e.status != 0 && e.status != 201 && e.status != 503 {
			t.Fatalf("%s: status %d during shutdown", e.key, e.status)
		}
	}
	reconcile(t, startDaemon(t, cfg), cfg, ledger)
}
