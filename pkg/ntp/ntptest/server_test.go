package ntptest

import (
	"encoding/binary"
	"net"
	"testing"
	"time"
)

func TestTimestamp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		t    time.Time
		want uint64
	}{
		{time.Unix(0, 0), 2208988800 << 32},
		{time.Unix(0, 500_000_000), 2208988800<<32 | 1<<31},
		{time.Date(2036, 2, 7, 6, 28, 16, 0, time.UTC), 0}, // era 1 starts
	}
	for _, tc := range tests {
		if got := Timestamp(tc.t); got != tc.want {
			t.Errorf("Timestamp(%v) = %#x, want %#x", tc.t, got, tc.want)
		}
	}
}

func TestResponsePacket(t *testing.T) {
	t.Parallel()
	req := make([]byte, 48)
	binary.BigEndian.PutUint64(req[40:], 0x0123456789abcdef)
	now := time.Unix(1_800_000_000, 0)
	b := Behavior{Kiss: "RATE", Leap: 3, Poll: 6, Precision: -20, RootDelay: time.Second / 2}
	p := Response(b, req, now, now)
	if len(p) != 48 || p[0] != 3<<6|4<<3|4 || p[1] != 0 || p[2] != 6 || int8(p[3]) != -20 {
		t.Fatalf("header % x, want leap 3, v4, mode 4, stratum 0, poll 6, precision -20", p[:4])
	}
	if got := binary.BigEndian.Uint32(p[4:]); got != 1<<15 {
		t.Errorf("root delay %#x, want 0x8000 (0.5 s)", got)
	}
	if string(p[12:16]) != "RATE" || binary.BigEndian.Uint64(p[24:]) != 0x0123456789abcdef {
		t.Errorf("refid %q origin %#x, want RATE and the echoed transmit time", p[12:16], p[24:32])
	}
}

func TestSilentServerCountsRequests(t *testing.T) {
	t.Parallel()
	s := New(t, Behavior{Silent: true})
	c, err := net.Dial("udp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(make([]byte, 48)); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(2 * time.Second); s.Requests() == 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if s.Requests() != 1 {
		t.Fatalf("requests %d, want 1", s.Requests())
	}
	c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if n, err := c.Read(make([]byte, 64)); err == nil {
		t.Fatalf("silent server answered %d bytes", n)
	}
}
