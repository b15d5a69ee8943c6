package turn

import (
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/pion/stun/v4"
)

// pion's client cannot send EVEN-PORT or RESERVATION-TOKEN (the options are unexported),
// so these tests speak raw STUN, as RTP/RTCP clients such as turnutils_uclient without -c do.

// allocReply is the outcome of one authenticated Allocate request.
type allocReply struct {
	relay *net.UDPAddr
	token []byte // RESERVATION-TOKEN, if the server reserved port+1
	code  int    // STUN error code, 0 on success
}

// rawAllocate allocates a UDP relay from a fresh client socket (so a fresh 5-tuple).
// evenPort asks for an even port with the next one reserved; token claims a reservation.
// The socket stays open (and the allocation alive) until the test ends.
func rawAllocate(t *testing.T, s *Server, user string, evenPort bool, token []byte) allocReply {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	server, _ := s.Addr()
	username, password := creds(user)

	do := func(extra ...stun.Setter) *stun.Message {
		setters := []stun.Setter{
			stun.TransactionID,
			stun.NewType(stun.MethodAllocate, stun.ClassRequest),
			stun.RawAttribute{Type: stun.AttrRequestedTransport, Value: []byte{17, 0, 0, 0}}, // UDP
		}
		if evenPort {
			setters = append(setters, stun.RawAttribute{Type: stun.AttrEvenPort, Value: []byte{0x80}}) // R: reserve port+1
		}
		if token != nil {
			setters = append(setters, stun.RawAttribute{Type: stun.AttrReservationToken, Value: token})
		}
		setters = append(setters, extra...)
		req, err := stun.Build(append(setters, stun.Fingerprint)...)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pc.WriteTo(req.Raw, server); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 1500)
		for {
			_ = pc.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				t.Fatalf("no Allocate response: %v", err)
			}
			res := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
			if err := res.Decode(); err != nil {
				t.Fatalf("bad response: %v", err)
			}
			if res.TransactionID == req.TransactionID {
				return res
			}
		}
	}

	res := do() // unauthenticated: 401 with REALM and NONCE
	var (
		nonce stun.Nonce
		realm stun.Realm
	)
	if err := nonce.GetFrom(res); err != nil {
		t.Fatalf("no NONCE in the first response: %v", err)
	}
	if err := realm.GetFrom(res); err != nil {
		t.Fatalf("no REALM in the first response: %v", err)
	}
	integrity := stun.NewLongTermIntegrity(username, realm.String(), password)
	res = do(stun.NewUsername(username), realm, nonce, integrity)

	if res.Type.Class == stun.ClassErrorResponse {
		var code stun.ErrorCodeAttribute
		if err := code.GetFrom(res); err != nil {
			t.Fatalf("error response without ERROR-CODE: %v", err)
		}
		return allocReply{code: int(code.Code)}
	}
	var relayed stun.XORMappedAddress
	if err := relayed.GetFromAs(res, stun.AttrXORRelayedAddress); err != nil {
		t.Fatalf("no XOR-RELAYED-ADDRESS: %v", err)
	}
	r := allocReply{relay: &net.UDPAddr{IP: relayed.IP, Port: relayed.Port}}
	if v, err := res.Get(stun.AttrReservationToken); err == nil {
		r.token = v
	} else if !errors.Is(err, stun.ErrAttributeNotFound) {
		t.Fatal(err)
	}
	return r
}

// TestEvenPortReservationHonoured fills a small relay range with EVEN-PORT allocations
// that reserve port+1, then makes ordinary allocations, then claims every reservation.
// The range leaves exactly enough room: an ordinary allocation that lands on a reserved
// port makes that reservation's claim fail with 508, as turnutils_uclient saw under load.
func TestEvenPortReservationHonoured(t *testing.T) {
	const pairs, plain = 8, 8
	c := testConfig()
	// Even, below the ephemeral range (client sockets cannot take it), spread across parallel runs.
	c.RelayMinPort = 20000 + uint16(time.Now().UnixNano()%150)*64
	c.RelayMaxPort = c.RelayMinPort + 2*pairs + plain - 1
	c.MaxAllocations = 2*pairs + plain
	s := startServer(t, c)

	var even []allocReply
	for i := range pairs {
		r := rawAllocate(t, s, "rtp", true, nil)
		if r.code != 0 {
			t.Fatalf("EVEN-PORT allocation %d failed with %d", i, r.code)
		}
		if r.relay.Port%2 != 0 || r.token == nil {
			t.Fatalf("EVEN-PORT allocation %d: relay %v, token %q; want an even port and a RESERVATION-TOKEN", i, r.relay, r.token)
		}
		even = append(even, r)
	}
	reserved := map[int]bool{}
	for _, r := range even {
		reserved[r.relay.Port+1] = true
	}

	for i := range plain {
		r := rawAllocate(t, s, "plain", false, nil)
		if r.code != 0 {
			t.Fatalf("ordinary allocation %d failed with %d although %d ports are free", i, r.code, plain-i)
		}
		if reserved[r.relay.Port] {
			t.Errorf("ordinary allocation %d took port %d, reserved for the RTCP of an EVEN-PORT allocation", i, r.relay.Port)
		}
	}

	var failed []string
	for i, e := range even {
		r := rawAllocate(t, s, "rtcp", false, e.token)
		switch {
		case r.code != 0:
			failed = append(failed, fmt.Sprintf("reservation for port %d: error %d", e.relay.Port+1, r.code))
		case r.relay.Port != e.relay.Port+1:
			failed = append(failed, fmt.Sprintf("reservation %d: got port %d, want %d", i, r.relay.Port, e.relay.Port+1))
		}
	}
	if len(failed) > 0 {
		t.Fatalf("%d of %d reservations not honoured: %v", len(failed), pairs, failed)
	}
	if st := s.Stats(); st.AllocationsActive != 2*pairs+plain {
		t.Errorf("AllocationsActive = %d, want %d", st.AllocationsActive, 2*pairs+plain)
	}
}

// TestEvenPortHoldsExpire checks that held ports do not leak: an unused reservation, a probe
// whose allocation never comes (here: refused by the quota after pion's probe) and, on Close,
// everything still held, are all closed again.
func TestEvenPortHoldsExpire(t *testing.T) {
	c := testConfig()
	c.RelayMinPort = 20000 + uint16(time.Now().UnixNano()%150)*64
	c.RelayMaxPort = c.RelayMinPort + 7
	c.MaxAllocations = 1
	s := startServer(t, c)
	s.gen.mu.Lock()
	s.gen.probeHold, s.gen.reservationHold = 200*time.Millisecond, 400*time.Millisecond
	s.gen.mu.Unlock()

	r := rawAllocate(t, s, "rtp", true, nil)
	if r.code != 0 || r.token == nil {
		t.Fatalf("EVEN-PORT allocation: error %d, token %q", r.code, r.token)
	}
	if n := s.gen.heldPorts(); n != 1 {
		t.Fatalf("%d ports held after an EVEN-PORT allocation, want 1 (its port+1)", n)
	}
	// Over the quota: pion probes (a pair is held), then refuses with 486 before allocating.
	if r2 := rawAllocate(t, s, "rtp", true, nil); r2.code != int(stun.CodeAllocQuotaReached) {
		t.Fatalf("second EVEN-PORT allocation over a quota of 1: code %d, want 486", r2.code)
	}
	waitFor(t, "unclaimed probe pair released", func() bool { return s.gen.heldPorts() == 1 })
	waitFor(t, "unused reservation released", func() bool { return s.gen.heldPorts() == 0 })
	pc, err := net.ListenPacket("udp4", fmt.Sprintf("127.0.0.1:%d", r.relay.Port+1))
	if err != nil {
		t.Fatalf("port+1 still bound after its reservation expired: %v", err)
	}
	_ = pc.Close()

	// A fresh reservation is held until Close.
	s.gen.mu.Lock()
	s.gen.reservationHold = time.Hour
	s.gen.mu.Unlock()
	r3 := rawAllocate(t, s, "rtp2", true, nil)
	if r3.code != 0 || s.gen.heldPorts() != 1 {
		t.Fatalf("EVEN-PORT allocation: error %d, %d ports held", r3.code, s.gen.heldPorts())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n := s.gen.heldPorts(); n != 0 {
		t.Fatalf("%d ports still held after Close", n)
	}
	pc, err = net.ListenPacket("udp4", fmt.Sprintf("127.0.0.1:%d", r3.relay.Port+1))
	if err != nil {
		t.Fatalf("reserved port still bound after Close: %v", err)
	}
	_ = pc.Close()
}
