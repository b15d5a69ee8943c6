package turn

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/pion/turn/v5"
)

var (
	errQuota          = errors.New("turn: allocation quota of the credential reached")
	errQuotaIP        = errors.New("turn: allocation quota of the client address reached")
	errQuotaTotal     = errors.New("turn: allocation quota of the server reached")
	errFamily         = errors.New("turn: no relay address of the requested family")
	errNoTCPRelay     = errors.New("turn: TCP relay allocations (RFC 6062) are not offered")
	errPortOutOfRange = errors.New("turn: requested relay port outside the relay range")
	errNoRelayPort    = errors.New("turn: no free relay port")
	errClosed         = errors.New("turn: server closed")
)

// maxPortTries bounds the bind attempts per allocation so a full range fails fast.
const maxPortTries = 128

// How long the generator holds the sockets of an EVEN-PORT pair (see probe).
const (
	// probeHold covers pion's probe → CreateAllocation gap (microseconds; longer only if
	// the request fails in between, e.g. on quota, when the pair is simply let go).
	probeHold = 5 * time.Second
	// reservationHold outlives pion's 30 s reservation, counted from the allocation.
	reservationHold = 32 * time.Second
)

// relayGen opens relay sockets in the configured port range and advertises the public address.
//
// EVEN-PORT (RFC 5766 §6.2, used by RTP/RTCP clients): pion asks the generator for a
// throw-away socket (empty UserID), keeps its port P if even, closes it, allocates P with
// RequestedPort=P and remembers only the number P+1 behind a RESERVATION-TOKEN. Nothing
// stops another allocation from binding P (before the first does) or P+1 (before the
// token is used), and P+1 may not even be free; the token's Allocate then fails with 508.
// So probe binds both P and P+1 and the generator keeps both sockets open: P until pion
// claims it a moment later, P+1 until the token is used or the reservation expires.
// Held ports stay bound, so the random choice in listen skips them like any busy port.
type relayGen struct {
	s         *Server
	bindHost  string     // "" binds the wildcard of the requested family
	advertise netip.Addr // what XOR-RELAYED-ADDRESS says (PublicIP behind 1:1 NAT)
	min, max  uint16

	probeHold, reservationHold time.Duration // 0 = the defaults above (tests shorten them)

	mu       sync.Mutex
	held     map[int]*heldPort    // by port
	reserved map[netip.Prefix]int // held P+1 ports per client address, capped like its allocations
	closed   bool
}

// heldPort is a relay socket bound ahead of its allocation.
type heldPort struct {
	port    int
	network string
	pc      net.PacketConn
	reserve *heldPort    // on P: the P+1 reserved with it, until P is claimed
	timer   *time.Timer  // nil on P+1 until P is claimed (P's expiry frees both)
	ip      netip.Prefix // on a kept P+1: the address whose allocation reserved it
}

var _ turn.RelayAddressGenerator = (*relayGen)(nil)

func (g *relayGen) Validate() error {
	if !g.advertise.IsValid() || g.min == 0 || g.min > g.max {
		return fmt.Errorf("turn: bad relay generator %s %d-%d", g.advertise, g.min, g.max)
	}
	return nil
}

func (g *relayGen) AllocatePacketConn(conf turn.AllocateListenerConfig) (net.PacketConn, net.Addr, error) {
	// pion probes for an even port (EVEN-PORT) with an empty UserID and closes the socket at once.
	if conf.UserID == "" {
		return g.probe()
	}
	// RequestedPort is only ever set by pion: P right after a probe, or P+1 for a token.
	o := parseOwner(conf.UserID)
	held := g.claim(conf.RequestedPort)
	pc, err := g.open(conf, o, held)
	if held != nil && held.reserve != nil {
		if err == nil {
			g.keepReserved(held.reserve, o.ip)
		} else {
			g.drop(held.reserve) // no allocation, so pion makes no reservation
		}
	}
	if err != nil {
		return nil, nil, err
	}
	g.s.tune(pc, "relay")
	port := pc.LocalAddr().(*net.UDPAddr).Port
	addr := &net.UDPAddr{IP: g.advertise.AsSlice(), Port: port}
	if pc, err = g.s.fastRelay(pc, addr); err != nil {
		g.s.release(o)
		return nil, nil, err
	}
	rc := &relayConn{PacketConn: pc, s: g.s, owner: o, port: port, local: g.local(port)}
	if !g.s.track(rc) {
		_ = pc.Close()
		g.s.release(o)
		return nil, nil, errClosed
	}
	return rc, addr, nil
}

// open reserves the quota slot and returns the relay socket: the held one if any, else a new one.
func (g *relayGen) open(conf turn.AllocateListenerConfig, o owner, held *heldPort) (net.PacketConn, error) {
	if held != nil && held.network != conf.Network {
		_ = held.pc.Close() // e.g. a udp6 request on a udp4 probe: bind afresh below
		held = nil
	}
	if (conf.Network == "udp6") != g.advertise.Is6() { // advertise is already unmapped
		if held != nil {
			_ = held.pc.Close()
		}
		return nil, errFamily
	}
	if err := g.s.reserve(o); err != nil {
		if held != nil {
			_ = held.pc.Close()
		}
		g.s.countRefusal(err)
		return nil, err
	}
	if held != nil {
		return held.pc, nil
	}
	pc, err := g.listen(conf.Network, conf.RequestedPort)
	if err != nil {
		g.s.release(o)
		return nil, err
	}
	return pc, nil
}

// probe answers pion's EVEN-PORT probe: it binds an even port P and P+1 in the range, holds
// both, and returns P behind a Close that keeps the socket for the allocation that follows.
func (g *relayGen) probe() (net.PacketConn, net.Addr, error) {
	network := "udp4" // pion always probes udp4; hold the family this server relays in
	if g.advertise.Is6() {
		network = "udp6"
	}
	lo := int(g.min) + int(g.min)%2 // first even port
	n := (int(g.max) - lo + 1) / 2  // pairs (P, P+1) inside [min, max]
	if n <= 0 {
		return nil, nil, errNoRelayPort
	}
	start := rand.IntN(n)
	for i := range min(n, maxPortTries) {
		p := lo + 2*((start+i)%n)
		even, err := g.bind(network, p)
		if err != nil {
			continue
		}
		odd, err := g.bind(network, p+1)
		if err != nil {
			_ = even.Close()
			continue
		}
		if !g.hold(p, network, even, odd) {
			return nil, nil, errClosed
		}
		return probeConn{even}, &net.UDPAddr{IP: g.advertise.AsSlice(), Port: p}, nil
	}
	return nil, nil, errNoRelayPort
}

// probeConn is the held socket as pion's probe sees it: its Close leaves the socket bound.
type probeConn struct{ net.PacketConn }

func (probeConn) Close() error { return nil }

// hold keeps P and P+1 bound; if P is not claimed within probeHold both are closed.
func (g *relayGen) hold(p int, network string, even, odd net.PacketConn) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		_ = even.Close()
		_ = odd.Close()
		return false
	}
	if g.held == nil {
		g.held = map[int]*heldPort{}
	}
	r := &heldPort{port: p + 1, network: network, pc: odd}
	h := &heldPort{port: p, network: network, pc: even, reserve: r}
	g.held[p+1], g.held[p] = r, h
	h.timer = time.AfterFunc(cmp.Or(g.probeHold, probeHold), func() { g.expire(h) })
	return true
}

// claim takes a held socket for port out of the generator; nil if none is held.
func (g *relayGen) claim(port int) *heldPort {
	if port == 0 {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	h := g.held[port]
	if h == nil {
		return nil
	}
	delete(g.held, port)
	g.unreserve(h)
	if h.timer != nil {
		h.timer.Stop() // if it already fired, expire finds h gone and does nothing
	}
	return h
}

// keepReserved starts the reservation clock of P+1 once P's allocation exists. A held P+1
// outlives its allocation, so each client address may hold only MaxAllocationsPerIP of them;
// past that the port is let go and the token merely names it, as in plain pion.
func (g *relayGen) keepReserved(r *heldPort, ip netip.Prefix) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.held[r.port] != r || r.timer != nil {
		return
	}
	if g.reserved[ip] >= g.s.cfg.MaxAllocationsPerIP {
		_ = g.release(r)
		return
	}
	if g.reserved == nil {
		g.reserved = map[netip.Prefix]int{}
	}
	g.reserved[ip]++
	r.ip = ip
	r.timer = time.AfterFunc(cmp.Or(g.reservationHold, reservationHold), func() { g.expire(r) })
}

// drop closes a held socket now, unless it has been claimed meanwhile.
func (g *relayGen) drop(h *heldPort) {
	g.mu.Lock()
	defer g.mu.Unlock()
	_ = g.release(h)
}

// expire frees a hold whose time is up: an unclaimed P together with its P+1, or an unused P+1.
func (g *relayGen) expire(h *heldPort) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.release(h) && h.reserve != nil {
		g.release(h.reserve) // P never became an allocation, so there is no reservation
	}
}

// release closes h if it is still held and reports whether it was; g.mu must be held.
func (g *relayGen) release(h *heldPort) bool {
	if g.held[h.port] != h {
		return false
	}
	delete(g.held, h.port)
	g.unreserve(h)
	if h.timer != nil {
		h.timer.Stop()
	}
	_ = h.pc.Close()
	return true
}

// unreserve uncounts a kept P+1 leaving the generator; g.mu must be held.
func (g *relayGen) unreserve(h *heldPort) {
	if !h.ip.IsValid() {
		return
	}
	if g.reserved[h.ip]--; g.reserved[h.ip] <= 0 {
		delete(g.reserved, h.ip)
	}
	h.ip = netip.Prefix{}
}

// close frees every held port; later probes fail. Called by Server.Close.
func (g *relayGen) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	for _, h := range g.held {
		_ = g.release(h)
	}
}

// heldPorts reports how many ports are held for EVEN-PORT pairs (tests).
func (g *relayGen) heldPorts() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.held)
}

// local is where a relay socket of port is reached without leaving the host: its bound address,
// or loopback for a wildcard. Another relay socket sending there arrives from its own local address.
func (g *relayGen) local(port int) netip.AddrPort {
	if a, err := netip.ParseAddr(g.bindHost); err == nil {
		return netip.AddrPortFrom(a.Unmap(), uint16(port))
	}
	if g.advertise.Is6() {
		return netip.AddrPortFrom(netip.IPv6Loopback(), uint16(port))
	}
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(port))
}

func (g *relayGen) bind(network string, port int) (net.PacketConn, error) {
	var lc net.ListenConfig
	return lc.ListenPacket(context.Background(), network, net.JoinHostPort(g.bindHost, strconv.Itoa(port)))
}

// listen binds a UDP socket on the requested port or a free one in [min, max].
// Ports held for EVEN-PORT pairs are bound, so the random choice passes over them.
func (g *relayGen) listen(network string, requested int) (net.PacketConn, error) {
	if requested != 0 {
		if requested < int(g.min) || requested > int(g.max) {
			return nil, errPortOutOfRange
		}
		return g.bind(network, requested)
	}
	size := int(g.max) - int(g.min) + 1
	start := rand.IntN(size)
	for i := range min(size, maxPortTries) {
		pc, err := g.bind(network, int(g.min)+(start+i)%size)
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
//
// Two callers both on the relay send to each other's relay address, the server's own public one.
// Behind a cloud's 1:1 NAT that address is not on any interface and the provider does not hairpin,
// so such a packet goes straight to the allocation owning the port instead, over its local address
// (see relayGen.local); the receiver takes it as coming from the sender's public relay address, so
// the permissions of its allocation apply as to any peer.
type relayConn struct {
	net.PacketConn
	s     *Server
	owner owner
	port  int            // the relay port, the same locally and on the public address
	local netip.AddrPort // where other relay sockets reach this one on the host
	once  sync.Once
}

func (r *relayConn) ReadFrom(p []byte) (int, net.Addr, error) {
	n, addr, err := r.PacketConn.ReadFrom(p)
	if err == nil {
		r.s.stats.packetsFromPeers.Add(1)
		r.s.stats.bytesFromPeers.Add(uint64(n))
		if ua, ok := addr.(*net.UDPAddr); ok && ua.AddrPort().Addr().Unmap() == r.local.Addr() {
			addr = r.s.publicRelayAddr(ua.Port, addr)
		}
	}
	return n, addr, err
}

func (r *relayConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if port, ok := r.s.toOwnRelay(addr); ok {
		// Not ours (another relay on this host, a local peer's port): the kernel delivers it, as before.
		if to, live := r.s.relayAt(port); live {
			addr = net.UDPAddrFromAddrPort(to)
		}
	} else if r.s.toServerItself(addr) {
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
