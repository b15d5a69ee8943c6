package turn

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"sync"

	"github.com/pion/turn/v5"
)

var (
	errQuota          = errors.New("turn: allocation quota reached")
	errFamily         = errors.New("turn: no relay address of the requested family")
	errNoTCPRelay     = errors.New("turn: TCP relay allocations (RFC 6062) are not offered")
	errPortOutOfRange = errors.New("turn: requested relay port outside the relay range")
	errNoRelayPort    = errors.New("turn: no free relay port")
	errClosed         = errors.New("turn: server closed")
)

// maxPortTries bounds the bind attempts per allocation so a full range fails fast.
const maxPortTries = 128

// relayGen opens relay sockets in the configured port range and advertises the public address.
type relayGen struct {
	s         *Server
	bindHost  string     // "" binds the wildcard of the requested family
	advertise netip.Addr // what XOR-RELAYED-ADDRESS says (PublicIP behind 1:1 NAT)
	min, max  uint16
}

var _ turn.RelayAddressGenerator = (*relayGen)(nil)

func (g *relayGen) Validate() error {
	if !g.advertise.IsValid() || g.min == 0 || g.min > g.max {
		return fmt.Errorf("turn: bad relay generator %s %d-%d", g.advertise, g.min, g.max)
	}
	return nil
}

func (g *relayGen) AllocatePacketConn(conf turn.AllocateListenerConfig) (net.PacketConn, net.Addr, error) {
	if (conf.Network == "udp6") != g.advertise.Is6() { // advertise is already unmapped
		return nil, nil, errFamily
	}
	// pion probes for an even port (EVEN-PORT) with an empty UserID and closes the socket at once.
	probe := conf.UserID == ""
	if !probe && !g.s.reserve(conf.UserID) {
		g.s.stats.refusedQuota.Add(1)
		return nil, nil, errQuota
	}
	pc, err := g.listen(conf.Network, conf.RequestedPort)
	if err != nil {
		if !probe {
			g.s.release(conf.UserID)
		}
		return nil, nil, err
	}
	g.s.tune(pc, "relay")
	addr := &net.UDPAddr{IP: g.advertise.AsSlice(), Port: pc.LocalAddr().(*net.UDPAddr).Port}
	if probe {
		return pc, addr, nil
	}
	rc := &relayConn{PacketConn: pc, s: g.s, user: conf.UserID}
	if !g.s.track(rc) {
		_ = pc.Close()
		g.s.release(conf.UserID)
		return nil, nil, errClosed
	}
	return rc, addr, nil
}

// listen binds a UDP socket on the requested port or a free one in [min, max].
func (g *relayGen) listen(network string, requested int) (net.PacketConn, error) {
	var lc net.ListenConfig
	bind := func(port int) (net.PacketConn, error) {
		return lc.ListenPacket(context.Background(), network, net.JoinHostPort(g.bindHost, strconv.Itoa(port)))
	}
	if requested != 0 {
		if requested < int(g.min) || requested > int(g.max) {
			return nil, errPortOutOfRange
		}
		return bind(requested)
	}
	size := int(g.max) - int(g.min) + 1
	start := rand.IntN(size)
	for i := range min(size, maxPortTries) {
		pc, err := bind(int(g.min) + (start+i)%size)
		if err == nil {
			return pc, nil
		}
	}
	return nil, errNoRelayPort
}

// AllocateListener refuses RFC 6062 TCP relays: browsers never ask for them and they widen SSRF reach.
func (g *relayGen) AllocateListener(turn.AllocateListenerConfig) (net.Listener, net.Addr, error) {
	return nil, nil, errNoTCPRelay
}

func (g *relayGen) AllocateConn(turn.AllocateConnConfig) (net.Conn, error) {
	return nil, errNoTCPRelay
}

// relayConn counts relayed traffic, keeps clients off the server's own ports and frees the quota slot.
type relayConn struct {
	net.PacketConn
	s    *Server
	user string
	once sync.Once
}

func (r *relayConn) ReadFrom(p []byte) (int, net.Addr, error) {
	n, addr, err := r.PacketConn.ReadFrom(p)
	if err == nil {
		r.s.stats.packetsFromPeers.Add(1)
		r.s.stats.bytesFromPeers.Add(uint64(n))
	}
	return n, addr, err
}

func (r *relayConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if r.s.toServerItself(addr) {
		r.s.stats.droppedToServer.Add(1)
		return len(p), nil // silently dropped like any lost datagram
	}
	n, err := r.PacketConn.WriteTo(p, addr)
	if err == nil {
		r.s.stats.packetsToPeers.Add(1)
		r.s.stats.bytesToPeers.Add(uint64(n))
	}
	return n, err
}

func (r *relayConn) Close() error {
	r.once.Do(func() { r.s.untrack(r) })
	return r.PacketConn.Close()
}
