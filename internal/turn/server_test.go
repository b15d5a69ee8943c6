package turn

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pion/turn/v5"
)

const (
	relayPackets = 300
	relaySize    = 1000
	window       = 32 // packets in flight; far below the client's 1024-deep read queue
)

// payload is deterministic per (direction, sequence) so corruption and reordering show.
func payload(dir byte, seq int) []byte {
	p := make([]byte, relaySize)
	binary.BigEndian.PutUint32(p, uint32(seq))
	for i := 4; i < len(p); i++ {
		p[i] = dir ^ byte(seq) ^ byte(i*7)
	}
	return p
}

// stream sends relayPackets from src to dst and checks each arrives intact, in count.
func stream(t *testing.T, dir byte, src net.PacketConn, dst net.PacketConn) {
	t.Helper()
	buf := make([]byte, 2*relaySize)
	for base := 0; base < relayPackets; base += window {
		end := min(base+window, relayPackets)
		for seq := base; seq < end; seq++ {
			if _, err := src.WriteTo(payload(dir, seq), dst.LocalAddr()); err != nil {
				t.Fatalf("dir %c write %d: %v", dir, seq, err)
			}
		}
		for seq := base; seq < end; seq++ {
			_ = dst.SetReadDeadline(time.Now().Add(10 * time.Second))
			n, from, err := dst.ReadFrom(buf)
			if err != nil {
				t.Fatalf("dir %c: packet %d never arrived: %v", dir, seq, err)
			}
			if from.String() != src.LocalAddr().String() {
				t.Fatalf("dir %c: packet from %v, want %v", dir, from, src.LocalAddr())
			}
			if !bytes.Equal(buf[:n], payload(dir, seq)) {
				t.Fatalf("dir %c: packet %d corrupted or out of order (got seq %d, %d bytes)",
					dir, seq, binary.BigEndian.Uint32(buf), n)
			}
		}
	}
}

func TestRelayBetweenClients(t *testing.T) {
	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) {
			s := startServer(t, testConfig())
			ua, pa := creds("alice")
			ub, pb := creds("bob")
			a := newClient(t, s, network, ua, pa)
			b := newClient(t, s, "udp", ub, pb)
			ra, err := a.Allocate()
			if err != nil {
				t.Fatalf("allocate a: %v", err)
			}
			defer ra.Close()
			rb, err := b.Allocate()
			if err != nil {
				t.Fatalf("allocate b: %v", err)
			}
			defer rb.Close()
			if got := ra.LocalAddr().(*net.UDPAddr).IP.String(); got != "127.0.0.1" {
				t.Fatalf("relay address %s, want the PublicIP 127.0.0.1", got)
			}
			// Both sides must permit each other before data flows, or early packets are dropped.
			if err := a.CreatePermission(rb.LocalAddr()); err != nil {
				t.Fatal(err)
			}
			if err := b.CreatePermission(ra.LocalAddr()); err != nil {
				t.Fatal(err)
			}
			stream(t, 'A', ra, rb)
			stream(t, 'B', rb, ra)

			// Counters are bumped after the socket call returns, so the receiver may be a hair ahead.
			const want = 2 * relayPackets // each packet leaves one relay and enters the other
			waitFor(t, "relay counters", func() bool {
				st := s.Stats()
				return st.PacketsToPeers >= want && st.PacketsFromPeers >= want
			})
			st := s.Stats()
			if st.AllocationsActive != 2 || st.AllocationsTotal != 2 {
				t.Errorf("allocations active/total = %d/%d, want 2/2", st.AllocationsActive, st.AllocationsTotal)
			}
			if st.PacketsToPeers != want || st.PacketsFromPeers != want {
				t.Errorf("packets to/from peers = %d/%d, want %d", st.PacketsToPeers, st.PacketsFromPeers, want)
			}
			if st.BytesToPeers != want*relaySize || st.BytesFromPeers != want*relaySize {
				t.Errorf("bytes to/from peers = %d/%d, want %d", st.BytesToPeers, st.BytesFromPeers, want*relaySize)
			}
		})
	}
}

// A plain UDP socket on 127.0.0.1 plays the remote peer; AllowPeers opens loopback.
func TestRelayToPlainPeer(t *testing.T) {
	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) {
			s := startServer(t, testConfig())
			u, p := creds("carol")
			relayToPeer(t, newClient(t, s, network, u, p), 'C', 'P', func(_, _ net.PacketConn) {
				// The client bound a channel on the way: a UDP client's is the fast path's.
				want := 0
				if network == "udp" && s.cfg.Batch == ModeAuto && runtime.GOOS == "linux" {
					want = 1
				}
				if got := s.Stats().FastChannels; got != want {
					t.Errorf("%d channels on the fast path (Batch %q), want %d", got, s.cfg.Batch, want)
				}
			})
		})
	}
}

// relayToPeer allocates through c, lets a plain UDP socket on loopback in as the peer, and streams
// both ways, tagging each direction's packets; then, with the allocation still there, it runs check
// on the relayed connection and the peer.
func relayToPeer(t *testing.T, c *turn.Client, clientTag, peerTag byte, check func(relay, peer net.PacketConn)) {
	t.Helper()
	relay, err := c.Allocate()
	if err != nil {
		t.Fatalf("allocate: %v", err)
	}
	defer relay.Close()
	// Not 127.0.0.1: that is the server's own address, which no relay reaches outside its port range.
	peer, err := net.ListenPacket("udp4", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	if err := c.CreatePermission(peer.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	stream(t, clientTag, relay, peer)
	stream(t, peerTag, peer, relay)
	if check != nil {
		check(relay, peer)
	}
}

func TestAuthRefused(t *testing.T) {
	s := startServer(t, testConfig())
	good, goodPass := creds("dave")
	expired, expiredPass := Credentials(testSecret, "dave", time.Now().Add(-time.Minute))
	otherSecret, otherPass := Credentials([]byte("another secret"), "dave", time.Now().Add(time.Hour))
	tests := []struct {
		name, user, pass string
	}{
		{"wrong password", good, goodPass + "x"},
		{"expired", expired, expiredPass},
		{"other secret", otherSecret, otherPass},
		{"no expiry", "dave", goodPass},
		{"signed expiry", "+" + good, goodPass},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := s.Stats().RefusedAuth
			c := newClient(t, s, "udp", tt.user, tt.pass)
			if relay, err := c.Allocate(); err == nil {
				relay.Close()
				t.Fatal("allocation succeeded with bad credentials")
			}
			if s.Stats().RefusedAuth <= before {
				t.Error("RefusedAuth did not grow")
			}
		})
	}
	if st := s.Stats(); st.AllocationsTotal != 0 {
		t.Errorf("AllocationsTotal = %d after refused logins", st.AllocationsTotal)
	}
}

func TestDeniedPeers(t *testing.T) {
	cfg := testConfig()
	cfg.AllowPeers = nil
	s := startServer(t, cfg)
	u, p := creds("eve")
	c := newClient(t, s, "udp", u, p)
	relay, err := c.Allocate()
	if err != nil {
		t.Fatalf("allocate: %v", err)
	}
	defer relay.Close()
	denied := []string{"127.0.0.1:9", "10.0.0.1:9", "169.254.169.254:80", "192.168.1.1:53", "[::ffff:10.0.0.1]:9"}
	for _, addr := range denied {
		if err := c.CreatePermission(net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr))); err == nil {
			t.Errorf("CreatePermission(%s) succeeded, want refusal", addr)
		}
		if _, err := relay.WriteTo([]byte("x"), net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr))); err == nil {
			t.Errorf("relay WriteTo(%s) succeeded, want refusal", addr)
		}
	}
	// A public address is permitted (creating a permission sends nothing to it).
	if err := c.CreatePermission(&net.UDPAddr{IP: net.IPv4(8, 8, 8, 8), Port: 53}); err != nil {
		t.Errorf("CreatePermission(8.8.8.8): %v", err)
	}
	if got := s.Stats().RefusedPeer; got < uint64(len(denied)) {
		t.Errorf("RefusedPeer = %d, want >= %d", got, len(denied))
	}
}

func TestQuota(t *testing.T) {
	cfg := testConfig()
	cfg.MaxAllocations = 2
	s := startServer(t, cfg)
	// Distinct credentials (expiries) for the same user share the quota.
	var relays []net.PacketConn
	for i := range 2 {
		u, p := Credentials(testSecret, "frank", time.Now().Add(time.Hour+time.Duration(i)*time.Second))
		r, err := newClient(t, s, "udp", u, p).Allocate()
		if err != nil {
			t.Fatalf("allocation %d: %v", i, err)
		}
		relays = append(relays, r)
	}
	u, p := creds("frank")
	if r, err := newClient(t, s, "udp", u, p).Allocate(); err == nil {
		r.Close()
		t.Fatal("third allocation succeeded over a quota of 2")
	}
	if s.Stats().RefusedQuota == 0 {
		t.Error("RefusedQuota not counted")
	}
	// Another user is unaffected.
	u2, p2 := creds("grace")
	r2, err := newClient(t, s, "udp", u2, p2).Allocate()
	if err != nil {
		t.Fatalf("other user: %v", err)
	}
	r2.Close()

	// Releasing one allocation (client sends Refresh lifetime 0) frees a slot.
	relays[0].Close()
	waitFor(t, "slot released", func() bool { return s.Stats().AllocationsActive == 1 })
	r3, err := newClient(t, s, "udp", u, p).Allocate()
	if err != nil {
		t.Fatalf("allocation after release: %v", err)
	}
	r3.Close()
	relays[1].Close()
}

// waitFor polls cond; it bounds a wait for asynchronous teardown, it does not assert timing.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	// The subtest's Cleanup closes the test clients too, so only leaks remain afterwards.
	t.Run("serve", func(t *testing.T) {
		s, err := New(testConfig())
		if err != nil {
			t.Fatal(err)
		}
		// Allocations left open on purpose: Close must tear them down.
		for i, network := range []string{"udp", "tcp"} {
			u, p := creds(fmt.Sprint("leak", i))
			if _, err := newClient(t, s, network, u, p).Allocate(); err != nil {
				t.Fatalf("%s allocate: %v", network, err)
			}
		}
		if got := s.Stats().AllocationsActive; got != 2 {
			t.Fatalf("AllocationsActive = %d, want 2", got)
		}
		if len(serverGoroutines()) == 0 {
			t.Fatal("serverGoroutines sees nothing while serving; its markers are stale")
		}
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if got := s.Stats().AllocationsActive; got != 0 {
			t.Errorf("AllocationsActive after Close = %d", got)
		}
		if err := s.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
	// Client-side goroutines (refresh timers of the abandoned allocations) are the test's own;
	// only goroutines running server code count as leaks.
	var leaked []string
	deadline := time.Now().Add(10 * time.Second)
	for leaked = serverGoroutines(); len(leaked) > 0 && time.Now().Before(deadline); leaked = serverGoroutines() {
		time.Sleep(20 * time.Millisecond)
	}
	if len(leaked) > 0 {
		t.Fatalf("%d server goroutines left after Close:\n%s", len(leaked), strings.Join(leaked, "\n\n"))
	}
	if now := runtime.NumGoroutine(); now > before+clientTimersPerAllocation*2+1 {
		t.Errorf("%d goroutines before, %d after", before, now)
	}
}

// clientTimersPerAllocation is how many refresh timers pion's client keeps per allocation.
const clientTimersPerAllocation = 3

// serverGoroutines returns the stacks of goroutines executing TURN server code.
func serverGoroutines() []string {
	buf := make([]byte, 1<<20)
	var out []string
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		for _, marker := range []string{
			"turn/v5.(*Server)", "turn/v5/internal/server.", "turn/v5/internal/allocation.",
			"duet/internal/turn.(*Server)", "duet/internal/turn.(*relayConn)", "duet/internal/turn.(*batchConn)", "duet/internal/turn.(*trackingListener)",
		} {
			if strings.Contains(g, marker) {
				out = append(out, g)
				break
			}
		}
	}
	return out
}

func TestSTUNBinding(t *testing.T) {
	s := startServer(t, testConfig())
	for _, network := range []string{"udp", "tcp"} {
		// Binding needs no credentials: browsers use it for server-reflexive candidates.
		c := newClient(t, s, network, "", "")
		mapped, err := c.SendBindingRequest()
		if err != nil {
			t.Fatalf("%s binding: %v", network, err)
		}
		if ua, ok := mapped.(*net.UDPAddr); !ok || !ua.IP.IsLoopback() || ua.Port == 0 {
			t.Errorf("%s binding returned %v", network, mapped)
		}
	}
}

// TestRelayBetweenClientsBehindCloudNAT: the advertised relay address is not on the host (a
// cloud's 1:1 NAT, which does not hairpin), so packets between two allocations never leave the
// host: they arrive from the sender's public relay address, under the receiver's permissions.
func TestRelayBetweenClientsBehindCloudNAT(t *testing.T) {
	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) {
			cfg := testConfig()
			cfg.PublicIP = netip.MustParseAddr("203.0.113.7") // TEST-NET-3: on no interface here
			cfg.AllowPeers = append(cfg.AllowPeers, netip.MustParsePrefix("203.0.113.0/24"))
			s := startServer(t, cfg)
			relays := make([]net.PacketConn, 3)
			clients := make([]*turn.Client, 3)
			for i := range relays {
				u, p := creds(fmt.Sprint("nat", i))
				clients[i] = newClient(t, s, network, u, p)
				r, err := clients[i].Allocate()
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { r.Close() })
				if got := r.LocalAddr().(*net.UDPAddr).AddrPort().Addr(); got != cfg.PublicIP {
					t.Fatalf("relayed address %v, want the public IP", r.LocalAddr())
				}
				relays[i] = r
			}
			for i, j := range []int{1, 0} {
				if err := clients[i].CreatePermission(relays[j].LocalAddr()); err != nil {
					t.Fatal(err)
				}
			}
			stream(t, 'a', relays[0], relays[1])
			stream(t, 'b', relays[1], relays[0])

			// Without a permission for the sender, the third allocation hears nothing.
			before := s.Stats().PacketsFromPeers
			if _, err := relays[0].WriteTo([]byte("no permission"), relays[2].LocalAddr()); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the packet to reach the third relay socket", func() bool { return s.Stats().PacketsFromPeers > before })
			_ = relays[2].SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			if n, from, err := relays[2].ReadFrom(make([]byte, 100)); err == nil {
				t.Errorf("the third allocation got %d bytes from %v without a permission", n, from)
			}

		})
	}
}

// TestRelayToOwnAddressNotOurs: a port of the relay range on the server's own address that no
// allocation of this server holds (another duet node on the host, a local peer) is reached through
// the kernel, as any peer.
func TestRelayToOwnAddressNotOurs(t *testing.T) {
	s := startServer(t, testConfig()) // PublicIP 127.0.0.1, relay range 49152-65535
	var peer net.PacketConn
	for port := 60999; peer == nil && port > 60000; port-- {
		peer, _ = net.ListenPacket("udp4", fmt.Sprintf("127.0.0.1:%d", port))
	}
	if peer == nil {
		t.Fatal("no free port in the relay range")
	}
	defer peer.Close()
	u, p := creds("other-node")
	c := newClient(t, s, "udp", u, p)
	relay, err := c.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	if err := c.CreatePermission(peer.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	stream(t, 'o', relay, peer)
	stream(t, 'n', peer, relay)
}

// TestRelayToServerItselfDropped: packets a client relays to the server's own address outside the
// relay port range (its SSH, its web server, a local database) never leave, and Stats counts them.
func TestRelayToServerItselfDropped(t *testing.T) {
	cfg := testConfig()
	cfg.RelayMinPort = 61000 // above Linux's ephemeral range, so the service below is outside it
	s := startServer(t, cfg)
	service, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer service.Close()
	if port := service.LocalAddr().(*net.UDPAddr).Port; port >= int(cfg.RelayMinPort) {
		t.Fatalf("the service got port %d, inside the relay range", port)
	}
	u, p := creds("mallory")
	c := newClient(t, s, "udp", u, p)
	relay, err := c.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	if err := c.CreatePermission(service.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	const sent = 3
	for seq := range sent {
		if _, err := relay.WriteTo(payload('m', seq), service.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(10 * time.Second); s.Stats().DroppedToServer < sent; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("DroppedToServer = %d after sending %d packets to the server itself", s.Stats().DroppedToServer, sent)
		}
	}
	if st := s.Stats(); st.DroppedToServer != sent || st.PacketsToPeers != 0 {
		t.Errorf("dropped to server / packets to peers = %d/%d, want %d/0", st.DroppedToServer, st.PacketsToPeers, sent)
	}
	_ = service.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if n, from, err := service.ReadFrom(make([]byte, 2*relaySize)); err == nil {
		t.Errorf("the server's own service got %d bytes from %v through the relay", n, from)
	}
}
