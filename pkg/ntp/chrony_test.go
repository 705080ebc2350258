package ntp

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dossier-audit/dossier/pkg/timecheck"
)

// TestChronyLocalModeIsUntraceable starts Debian's chronyd in "local
// stratum 10" mode with no upstream, as air-gapped clusters often run it, on
// a loopback port, and checks that the checker calls its time untraceable.
// .ci/run installs chrony (scripts/ci-install-chrony.sh); outside CI the test
// skips when chronyd is missing, in CI (CI=true) it fails.
func TestChronyLocalModeIsUntraceable(t *testing.T) {
	addr := startChrony(t)
	p := timecheck.DefaultPolicy()
	r := waitForAnswer(t, addr, p)
	s := r.Sources[0]
	t.Logf("chronyd answered: stratum %d refid %s root delay %v dispersion %v offset %v rtt %v: %s",
		s.Stratum, s.RefID, s.RootDelay, s.RootDispersion, s.Offset, s.RTT, r.Diagnosis)
	if r.Verdict != timecheck.Untraceable {
		t.Fatalf("verdict %s (%s), want untraceable", r.Verdict, r.Diagnosis)
	}
	if s.Stratum != 10 || s.RefID != "127.127.1.1" || !strings.Contains(s.Reason, "local mode") {
		t.Errorf("source stratum %d refid %s reason %q, want local mode at stratum 10, refid 127.127.1.1",
			s.Stratum, s.RefID, s.Reason)
	}
	if !strings.Contains(r.Diagnosis, "runs in local mode") {
		t.Errorf("diagnosis %q, want the local-mode diagnosis", r.Diagnosis)
	}

	p.AllowUntraceable, p.MinAgreeing = true, 1
	r = Check(t.Context(), []string{addr}, p, Options{Timeout: time.Second})
	if r.Verdict != timecheck.Untraceable || !r.Acceptable() {
		t.Errorf("with untraceable allowed: verdict %s acceptable %v (%s), want untraceable and acceptable",
			r.Verdict, r.Acceptable(), r.Diagnosis)
	}
}

// waitForAnswer polls until chronyd answers (it needs a moment to bind).
func waitForAnswer(t *testing.T, addr string, p timecheck.Policy) timecheck.Result {
	t.Helper()
	var r timecheck.Result
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); {
		r = Check(t.Context(), []string{addr}, p, Options{Timeout: 500 * time.Millisecond})
		if r.Answered() > 0 {
			return r
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("chronyd on %s never answered: %s", addr, r.Sources[0].Reason)
	return r
}

// startChrony runs chronyd in the foreground with a private configuration:
// no system clock control (-x), no command socket, no root-owned paths, and
// the address it serves on. It is killed when the test ends.
func startChrony(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("chronyd")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("chronyd not installed; .ci/run should have run scripts/ci-install-chrony.sh")
		}
		t.Skip("chronyd not installed (apt-get install chrony, or run scripts/ci-install-chrony.sh)")
	}
	dir := t.TempDir()
	port := freeUDPPort(t)
	conf := filepath.Join(dir, "chrony.conf")
	cfg := fmt.Sprintf("pidfile %[1]s/chronyd.pid\ndriftfile %[1]s/drift\ncmdport 0\nport %[2]d\n"+
		"bindaddress 127.0.0.1\nlocal stratum 10\nallow 127.0.0.1\n", dir, port)
	if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-d", "-x", "-f", conf}
	if os.Geteuid() == 0 {
		args = append(args, "-u", "root") // keep access to the temp dir
	} else {
		args = append(args, "-U")
	}
	var out syncBuffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start chronyd: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("chronyd output:\n%s", out.String())
		}
	})
	return fmt.Sprintf("127.0.0.1:%d", port)
}

func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
