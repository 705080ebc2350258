// Package ntptest runs an in-process NTPv4 server on loopback UDP whose
// answers a test controls: clock offset, stratum, reference ID, leap
// indicator, root delay and dispersion, reference age, kiss-of-death,
// garbage, silence and slow replies. It speaks real 48-byte RFC 5905 packets.
package ntptest

import (
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"testing"
	"time"
)

// Behavior is how the server answers. The zero value (with Stratum 0) is a
// kiss-of-death without a code; use Good for a healthy stratum-1 GPS server.
type Behavior struct {
	// Offset is added to the server clock: a positive Offset makes the
	// server run ahead of the client.
	Offset         time.Duration
	Stratum        uint8
	RefID          uint32
	Leap           uint8
	RootDelay      time.Duration
	RootDispersion time.Duration
	Precision      int8 // log2 seconds, e.g. -20 ≈ 1 µs
	Poll           int8 // log2 seconds
	// ReferenceAge is how long before its transmit time the server claims to
	// have last set its clock. A negative age sends a zero reference time.
	ReferenceAge time.Duration
	// Kiss, when set, answers stratum 0 with this 4-letter code as refid.
	Kiss string
	// Garbage answers with 48 random-looking bytes that are not a server reply.
	Garbage bool
	// Silent reads requests and never answers.
	Silent bool
	// Delay holds each reply back; it is counted as network delay on the
	// request path (the receive timestamp is taken after it), so it shows up
	// in the RTT and, being asymmetric, in the offset (by Delay/2).
	Delay time.Duration
	// WrongOrigin answers with an origin timestamp that does not echo the
	// request, as a spoofer would.
	WrongOrigin bool
}

// Good is a healthy stratum-1 server with a GPS reference.
func Good() Behavior {
	return Behavior{Stratum: 1, RefID: 0x47505300, Precision: -20, Poll: 6,
		RootDispersion: 100 * time.Microsecond, ReferenceAge: 16 * time.Second}
}

// ChronyLocal is what chrony answers in "local stratum 10" mode with no
// upstream (reference.c): refid 127.127.1.1, zero root delay and dispersion.
func ChronyLocal() Behavior {
	return Behavior{Stratum: 10, RefID: 0x7F7F0101, Precision: -24, Poll: 0, ReferenceAge: time.Second}
}

// Server is a running test server.
type Server struct {
	conn *net.UDPConn
	now  func() time.Time
	mu   sync.Mutex
	b    Behavior
	reqs int
	wg   sync.WaitGroup
}

// Start listens on 127.0.0.1 at a random port and serves b until Close.
// now is the server's clock before Offset; nil means time.Now.
func Start(b Behavior, now func() time.Time) (*Server, error) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	s := &Server{conn: conn, now: now, b: b}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

// New starts a server for a test and closes it when the test ends.
func New(t testing.TB, b Behavior) *Server {
	t.Helper()
	s, err := Start(b, nil)
	if err != nil {
		t.Fatalf("ntptest: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Addr returns "127.0.0.1:port".
func (s *Server) Addr() string { return s.conn.LocalAddr().String() }

// Set changes the behavior for later requests.
func (s *Server) Set(b Behavior) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b = b
}

// Requests returns how many requests arrived.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reqs
}

// Close stops the server and waits for pending replies.
func (s *Server) Close() error {
	err := s.conn.Close()
	s.wg.Wait()
	return err
}

func (s *Server) serve() {
	defer s.wg.Done()
	buf := make([]byte, 1024)
	for {
		n, peer, err := s.conn.ReadFromUDP(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil || n < packetSize {
			continue
		}
		req := append([]byte(nil), buf[:packetSize]...)
		s.mu.Lock()
		s.reqs++
		b := s.b
		s.mu.Unlock()
		if b.Silent {
			continue
		}
		s.wg.Add(1)
		go s.reply(b, req, peer)
	}
}

func (s *Server) reply(b Behavior, req []byte, peer *net.UDPAddr) {
	defer s.wg.Done()
	if b.Delay > 0 {
		time.Sleep(b.Delay)
	}
	recv := s.now().Add(b.Offset)
	out := Response(b, req, recv, s.now().Add(b.Offset))
	s.conn.WriteToUDP(out, peer) //nolint:errcheck // the client notices a lost reply
}

// packetSize is the length of an NTPv4 header without extensions.
const packetSize = 48

// Response encodes the server's answer to req (a client packet of at least
// 48 bytes) received at recv and sent at xmit, both on the server clock.
func Response(b Behavior, req []byte, recv, xmit time.Time) []byte {
	out := make([]byte, packetSize)
	if b.Garbage {
		for i := range out {
			out[i] = byte(i*37 + 11) // mode bits 011 = client: never a valid reply
		}
		out[0] = 0x1b
		return out
	}
	stratum, refID := b.Stratum, b.RefID
	if b.Kiss != "" {
		stratum, refID = 0, binary.BigEndian.Uint32([]byte((b.Kiss + "    ")[:4]))
	}
	out[0] = b.Leap<<6 | 4<<3 | 4 // leap, version 4, mode 4 (server)
	out[1], out[2], out[3] = stratum, byte(b.Poll), byte(b.Precision)
	binary.BigEndian.PutUint32(out[4:], short(b.RootDelay))
	binary.BigEndian.PutUint32(out[8:], short(b.RootDispersion))
	binary.BigEndian.PutUint32(out[12:], refID)
	if b.ReferenceAge >= 0 {
		binary.BigEndian.PutUint64(out[16:], Timestamp(xmit.Add(-b.ReferenceAge)))
	}
	copy(out[24:32], req[40:48]) // origin = the client's transmit timestamp
	if b.WrongOrigin {
		out[24] ^= 0xff
	}
	binary.BigEndian.PutUint64(out[32:], Timestamp(recv))
	binary.BigEndian.PutUint64(out[40:], Timestamp(xmit))
	return out
}

// ntpEpochOffset is the number of seconds from 1900-01-01 to 1970-01-01.
const ntpEpochOffset = 2208988800

// Timestamp encodes t as a 64-bit NTP timestamp (seconds since 1900 in the
// current era, 32.32 fixed point).
func Timestamp(t time.Time) uint64 {
	sec := uint64(t.Unix()+ntpEpochOffset) & 0xffffffff // era wrap in 2036
	frac := (uint64(t.Nanosecond()) << 32) / 1e9
	return sec<<32 | frac
}

// short encodes d in the NTP short format (16.16 seconds), rounded.
func short(d time.Duration) uint32 {
	return uint32((uint64(d)<<16 + uint64(time.Second)/2) / uint64(time.Second))
}
