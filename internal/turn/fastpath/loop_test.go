//go:build linux

package fastpath

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"
)

// lab is a loop with its listener and one relay socket, and the client and the peer as real UDP
// sockets on loopback.
type lab struct {
	network      string // the relay sockets', clients' and peers'
	host         netip.Addr
	loop         *Loop
	relay        *Conn
	client, peer *net.UDPConn
	listenAt     netip.AddrPort // where the client sends
	relayAt      netip.AddrPort // where the peer sends
	clientAt     netip.AddrPort // the client's address as the listener sees it
	peerAt       netip.AddrPort
	// what pion reads from the listener and the relay socket, and what the client and peer get
	pionListener, pionRelay, atClient, atPeer <-chan datagram
}

func newLab(t *testing.T, listenNet, listenHost, relayNet, host string) *lab {
	return newLabReading(t, listenNet, listenHost, relayNet, host, true)
}

// newLabReading is newLab; without readRelay nobody reads the relay socket's queue.
func newLabReading(t *testing.T, listenNet, listenHost, relayNet, host string, readRelay bool) *lab {
	t.Helper()
	lb := &lab{network: relayNet, host: netip.MustParseAddr(host)}
	ln := udpSocket(t, listenNet, listenHost)
	l, err := New(ln)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Error(err)
		}
	})
	t.Cleanup(func() { _ = l.Listener().Close() })
	lb.loop, lb.listenAt = l, netip.AddrPortFrom(lb.host, portOf(ln))
	lb.relay, lb.relayAt = lb.addRelay(t)
	lb.client, lb.clientAt = lb.socket(t)
	lb.peer, lb.peerAt = lb.socket(t)
	lb.pionListener, lb.atClient, lb.atPeer = reader(l.Listener()), reader(lb.client), reader(lb.peer)
	if readRelay {
		lb.pionRelay = reader(lb.relay)
	}
	return lb
}

func udpSocket(t *testing.T, network, host string) *net.UDPConn {
	t.Helper()
	pc, err := net.ListenPacket(network, net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	return pc.(*net.UDPConn)
}

func portOf(c interface{ LocalAddr() net.Addr }) uint16 {
	return uint16(c.LocalAddr().(*net.UDPAddr).Port)
}

// socket is another client or peer.
func (lb *lab) socket(t *testing.T) (*net.UDPConn, netip.AddrPort) {
	uc := udpSocket(t, lb.network, lb.host.String())
	return uc, netip.AddrPortFrom(lb.host, portOf(uc))
}

// addRelay is another relay socket on the loop, its relayed address its local one.
func (lb *lab) addRelay(t *testing.T) (*Conn, netip.AddrPort) {
	uc, at := lb.socket(t)
	relay, err := lb.loop.Relay(uc, at)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = relay.Close() })
	return relay, at
}

func send(t *testing.T, from *net.UDPConn, to netip.AddrPort, b []byte) {
	t.Helper()
	if _, err := from.WriteToUDPAddrPort(b, to); err != nil {
		t.Fatal(err)
	}
}

// datagram is one read: what, from where.
type datagram struct {
	b    []byte
	from netip.AddrPort
}

// reader reads pc in a loop, as pion does, until it is closed.
func reader(pc net.PacketConn) <-chan datagram {
	ch := make(chan datagram, 2*ListenerQueue)
	go func() {
		defer close(ch)
		for {
			buf := make([]byte, PacketSize)
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			ch <- datagram{buf[:n], from.(*net.UDPAddr).AddrPort()}
		}
	}()
	return ch
}

// caughtUp waits until pion's reader of c is back for more, so the loop relays c's datagrams
// again instead of queueing them behind older ones.
func caughtUp(t *testing.T, c *Conn) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); c.behind.Load() != 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("pion's reader of %v never came back", c.LocalAddr())
		}
	}
}

// recv returns the next datagram within 5 s (a bound, not a timing assertion).
func recv(t *testing.T, ch <-chan datagram) ([]byte, netip.AddrPort) {
	t.Helper()
	select {
	case d, ok := <-ch:
		if !ok {
			t.Fatal("the socket was closed")
		}
		return d.b, d.from
	case <-time.After(5 * time.Second):
		t.Fatal("nothing arrived")
		return nil, netip.AddrPort{}
	}
}

func channelMsg(number uint16, payload []byte, pad int) []byte {
	b := binary.BigEndian.AppendUint16(nil, number)
	b = binary.BigEndian.AppendUint16(b, uint16(len(payload)))
	return append(append(b, payload...), make([]byte, pad)...)
}

func unmapped(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

func TestRelaysBoundChannels(t *testing.T) {
	for _, tc := range []struct{ name, listenNet, listenHost, relayNet, host string }{
		{"IPv4", "udp4", "127.0.0.1", "udp4", "127.0.0.1"},
		{"dual-stack listener, IPv4 client", "udp", "::", "udp4", "127.0.0.1"},
		{"IPv6", "udp6", "::1", "udp6", "::1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lb := newLab(t, tc.listenNet, tc.listenHost, tc.relayNet, tc.host)
			const number = 0x4001

			// Before the channel is known, both sides' packets go to pion.
			send(t, lb.client, lb.listenAt, channelMsg(number, []byte("early"), 3))
			if b, from := recv(t, lb.pionListener); !bytes.Equal(b, channelMsg(number, []byte("early"), 3)) || unmapped(from) != lb.clientAt {
				t.Fatalf("pion read %q from %v, want the client's ChannelData from %v", b, from, lb.clientAt)
			}
			send(t, lb.peer, lb.relayAt, []byte("peer early"))
			if b, from := recv(t, lb.pionRelay); string(b) != "peer early" || from != lb.peerAt {
				t.Fatalf("pion read %q from %v on the relay socket, want the peer's from %v", b, from, lb.peerAt)
			}

			if err := lb.loop.Add(Channel{Client: lb.clientAt, Relay: lb.relayAt, Peer: lb.peerAt, Number: number}); err != nil {
				t.Fatal(err)
			}
			caughtUp(t, lb.loop.Listener())
			caughtUp(t, lb.relay)
			// Bound: payloads of every padding go to the peer bare, and the peer's come back as
			// ChannelData padded to 4 bytes, as pion sends them.
			for _, payload := range [][]byte{[]byte("a"), []byte("four"), bytes.Repeat([]byte{0xAB}, 1203)} {
				send(t, lb.client, lb.listenAt, channelMsg(number, payload, (4-len(payload)%4)%4))
				if b, from := recv(t, lb.atPeer); !bytes.Equal(b, payload) || from != lb.relayAt {
					t.Fatalf("peer read %d bytes from %v, want %d from %v", len(b), from, len(payload), lb.relayAt)
				}
				send(t, lb.peer, lb.relayAt, payload)
				if b, from := recv(t, lb.atClient); !bytes.Equal(b, channelMsg(number, payload, (4-len(payload)%4)%4)) || from != lb.listenAt {
					t.Fatalf("client read %x from %v, want ChannelData of %d bytes from %v", b[:min(8, len(b))], from, len(payload), lb.listenAt)
				}
			}
			// The loop counts once sendmmsg returns, so the receiver may be a hair ahead.
			want, got := Counters{PacketsToPeers: 3, BytesToPeers: 1208, PacketsFromPeers: 3, BytesFromPeers: 1208}, Counters{}
			for deadline := time.Now().Add(5 * time.Second); got != want && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
				c := lb.loop.Collect()
				got.PacketsToPeers += c.PacketsToPeers
				got.BytesToPeers += c.BytesToPeers
				got.PacketsFromPeers += c.PacketsFromPeers
				got.BytesFromPeers += c.BytesFromPeers
				got.Dropped += c.Dropped
			}
			if got != want {
				t.Errorf("counters %+v, want 3 packets and 1208 bytes each way", got)
			}

			// Another channel number, or a malformed one, is pion's.
			for _, m := range [][]byte{channelMsg(number+1, []byte("other"), 3), channelMsg(number, nil, 0)[:3]} {
				send(t, lb.client, lb.listenAt, m)
				if b, _ := recv(t, lb.pionListener); !bytes.Equal(b, m) {
					t.Fatalf("pion read %x, want %x", b, m)
				}
			}

			// Removed (the channel expired): pion's again.
			lb.loop.Remove(lb.clientAt, number)
			send(t, lb.peer, lb.relayAt, []byte("late"))
			if b, _ := recv(t, lb.pionRelay); string(b) != "late" {
				t.Fatalf("pion read %q, want the peer's packet after Remove", b)
			}
			if n := lb.loop.Channels(); n != 0 {
				t.Errorf("%d channels after Remove", n)
			}
		})
	}
}

func TestAddRefuses(t *testing.T) {
	lb := newLab(t, "udp4", "127.0.0.1", "udp4", "127.0.0.1")
	v6 := netip.MustParseAddrPort("[2001:db8::1]:5000")
	for _, tc := range []struct {
		name string
		ch   Channel
		want error
	}{
		{"unknown relay port", Channel{Client: lb.clientAt, Relay: lb.listenAt, Peer: lb.peerAt, Number: 0x4000}, ErrUnknownRelay},
		{"IPv6 peer on an IPv4 relay socket", Channel{Client: lb.clientAt, Relay: lb.relayAt, Peer: v6, Number: 0x4000}, ErrAddress},
		{"IPv6 client on an IPv4 listener", Channel{Client: v6, Relay: lb.relayAt, Peer: lb.peerAt, Number: 0x4000}, ErrAddress},
	} {
		if err := lb.loop.Add(tc.ch); !errors.Is(err, tc.want) {
			t.Errorf("%s: Add = %v, want %v", tc.name, err, tc.want)
		}
	}
}

// A relay socket's channels go with it, and pion's blocked read returns.
func TestCloseEndsReadsAndChannels(t *testing.T) {
	lb := newLab(t, "udp4", "127.0.0.1", "udp4", "127.0.0.1")
	if err := lb.loop.Add(Channel{Client: lb.clientAt, Relay: lb.relayAt, Peer: lb.peerAt, Number: 0x4000}); err != nil {
		t.Fatal(err)
	}
	if err := lb.relay.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case _, open := <-lb.pionRelay:
		if open {
			t.Fatal("pion read a datagram nobody sent")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("pion's read still blocked after Close")
	}
	if _, _, err := lb.relay.ReadFrom(make([]byte, 10)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("read after Close: %v, want net.ErrClosed", err)
	}
	if n := lb.loop.Channels(); n != 0 {
		t.Errorf("%d channels after the relay socket closed", n)
	}
	if err := lb.loop.Add(Channel{Client: lb.clientAt, Relay: lb.relayAt, Peer: lb.peerAt, Number: 0x4000}); !errors.Is(err, ErrUnknownRelay) {
		t.Errorf("Add on a closed relay socket: %v, want ErrUnknownRelay", err)
	}
	// The client's channel data now goes to pion, which has no allocation for it.
	send(t, lb.client, lb.listenAt, channelMsg(0x4000, []byte("x"), 3))
	if b, _ := recv(t, lb.pionListener); len(b) != 8 {
		t.Errorf("pion read %x, want the client's ChannelData", b)
	}
	if err := lb.loop.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := lb.loop.Relay(lb.peer, lb.peerAt); !errors.Is(err, ErrClosed) {
		t.Errorf("Relay after Close: %v, want ErrClosed", err)
	}
}

// Both callers on the relay: a channel toward another allocation's relayed address hands the
// data to that allocation's client once it has a channel back.
func TestHairpinHandsOver(t *testing.T) {
	lb := newLab(t, "udp4", "127.0.0.1", "udp4", "127.0.0.1")
	relayB, relayBAt := lb.addRelay(t)
	pionB := reader(relayB)
	clientB, clientBAt := lb.socket(t)
	atB := reader(clientB)
	const na, nb = 0x4000, 0x4ABC
	if err := lb.loop.Add(Channel{Client: lb.clientAt, Relay: lb.relayAt, Peer: relayBAt, Number: na, Hairpin: true}); err != nil {
		t.Fatal(err)
	}
	// B has no channel back yet: pion relays A's data, with its rules.
	early := channelMsg(na, []byte("early"), 3)
	send(t, lb.client, lb.listenAt, early)
	if b, _ := recv(t, lb.pionListener); !bytes.Equal(b, early) {
		t.Fatalf("pion read %x, want A's ChannelData", b)
	}
	caughtUp(t, lb.loop.Listener())
	if err := lb.loop.Add(Channel{Client: clientBAt, Relay: relayBAt, Peer: lb.relayAt, Number: nb, Hairpin: true}); err != nil {
		t.Fatal(err)
	}
	send(t, lb.client, lb.listenAt, channelMsg(na, []byte("hello"), 3))
	if b, from := recv(t, atB); !bytes.Equal(b, channelMsg(nb, []byte("hello"), 3)) || from != lb.listenAt {
		t.Fatalf("B read %x from %v, want A's payload on B's channel from the listener", b, from)
	}
	send(t, clientB, lb.listenAt, channelMsg(nb, []byte("back"), 0))
	if b, _ := recv(t, lb.atClient); !bytes.Equal(b, channelMsg(na, []byte("back"), 0)) {
		t.Fatalf("A read %x, want B's payload on A's channel", b)
	}
	select {
	case d := <-pionB:
		t.Errorf("B's relay socket read %x: the hand-over should skip it", d.b)
	default:
	}
}

// A queue pion does not read fills to its bound, then the loop leaves the socket alone and the
// kernel's buffer holds the rest: once pion reads again, everything arrives, in order.
func TestFullQueuePauses(t *testing.T) {
	lb := newLabReading(t, "udp4", "127.0.0.1", "udp4", "127.0.0.1", false)
	const total = RelayQueue + 100
	for i := range total {
		send(t, lb.peer, lb.relayAt, []byte{byte(i)})
	}
	for deadline := time.Now().Add(5 * time.Second); !lb.relay.paused.Load(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not paused with %d of %d queued", len(lb.relay.queue), RelayQueue)
		}
	}
	if n := len(lb.relay.queue); n != RelayQueue {
		t.Fatalf("paused with %d queued, want %d", n, RelayQueue)
	}
	pion := reader(lb.relay)
	for i := range total {
		if b, _ := recv(t, pion); len(b) != 1 || b[0] != byte(i) {
			t.Fatalf("datagram %d: %x", i, b)
		}
	}
	if c := lb.loop.Collect(); c.Dropped != 0 {
		t.Errorf("dropped %d", c.Dropped)
	}
}

func FuzzChannelData(f *testing.F) {
	f.Add([]byte{0x40, 0x00, 0x00, 0x01, 'x', 0, 0, 0})
	f.Add([]byte{0x40, 0x00, 0xff, 0xff})
	f.Add([]byte{0x00, 0x01, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		number, payload, ok := channelData(b)
		if !ok {
			return
		}
		if number < 0x4000 || number > 0x7FFF || len(payload)+4 > len(b) || !bytes.Equal(payload, b[4:4+len(payload)]) {
			t.Fatalf("channelData(%x) = %x, %x", b, number, payload)
		}
	})
}
