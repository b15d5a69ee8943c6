package turn

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pion/turn/v5"

	"duet/internal/acceptlog"
	"duet/internal/ipkey"
	"duet/internal/pionlog"
	"duet/internal/turn/fastpath"
	"duet/internal/turn/offload"
)

// Server is a running embedded TURN server.
type Server struct {
	cfg    Config
	log    *slog.Logger
	pion   *turn.Server
	gen    *relayGen
	udp    net.PacketConn
	tcp    net.Listener
	tls    net.Listener // nil without TLSListen
	ext    net.Listener // nil without TLSListener
	ownIPs map[netip.Addr]struct{}
	stats  counters

	bufferWarn sync.Once           // the capped-buffer message is logged once, not per allocation
	acceptLog  *acceptlog.Reporter // failed accepts on the TCP/TLS listeners, warned about once a second

	// The total caps, lowered to fit the open-file limit (see fitFileLimit).
	maxAllocTotal, maxTCPTotal int

	listenHost    netip.Addr       // the listener's IP, unspecified for a wildcard
	udpPort       uint16           // the UDP listener's port
	offload       *offload.Offload // nil: everything relayed in user space
	offloadIfaces []string         // where offload is attached
	fast          *fastpath.Loop   // nil: pion reads the UDP sockets itself (Config.Batch off)

	mu       sync.Mutex
	closed   bool
	allocs   int                  // quota slots taken, all owners
	perUser  map[string]int       // quota slots by credential
	perIP    map[netip.Prefix]int // quota slots by client address
	relays   map[*relayConn]struct{}
	byPort   map[int]*relayConn // live allocations by relay port, for relaying between two of them
	conns    map[*turnConn]struct{}
	tcpPerIP map[netip.Prefix]int
}

// New validates c, opens the UDP, TCP and optional TLS listeners and starts serving.
func New(c Config) (*Server, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	c = c.withDefaults()
	if c.Listen == "" {
		return nil, errors.New("turn: New needs Listen (Config.Enabled says whether to start the relay)")
	}
	s := &Server{
		cfg:       c,
		log:       c.Logger,
		acceptLog: acceptlog.New(c.Logger, "turn"),
		ownIPs:    map[netip.Addr]struct{}{},
		perUser:   map[string]int{},
		perIP:     map[netip.Prefix]int{},
		relays:    map[*relayConn]struct{}{},
		byPort:    map[int]*relayConn{},
		conns:     map[*turnConn]struct{}{},
		tcpPerIP:  map[netip.Prefix]int{},
	}
	s.fitFileLimit()
	if err := s.listen(); err != nil {
		s.closeListeners()
		s.closeFast()
		return nil, err
	}

	listenHost := hostIP(c.Listen)
	advertise := c.PublicIP
	if !advertise.IsValid() {
		advertise = listenHost
	}
	if !advertise.IsValid() || advertise.IsUnspecified() {
		advertise = outboundIP()
		s.log.Warn("turn: PublicIP not set, advertising the outbound interface address; set it behind NAT", "relay_ip", advertise)
	}
	bindHost := ""
	if listenHost.IsValid() && !listenHost.IsUnspecified() {
		bindHost = listenHost.String()
	}
	s.collectOwnIPs(advertise, listenHost)
	s.listenHost, s.udpPort = listenHost, uint16(s.udp.LocalAddr().(*net.UDPAddr).Port)

	gen := &relayGen{s: s, bindHost: bindHost, advertise: advertise.Unmap(), min: c.RelayMinPort, max: c.RelayMaxPort}
	s.gen = gen
	s.startOffload(listenHost)
	perm := s.permit
	sc := turn.ServerConfig{
		PacketConnConfigs:  []turn.PacketConnConfig{{PacketConn: s.udp, RelayAddressGenerator: gen, PermissionHandler: perm}},
		ListenerConfigs:    []turn.ListenerConfig{{Listener: s.tcp, RelayAddressGenerator: gen, PermissionHandler: perm}},
		LoggerFactory:      pionlog.New(s.log, slog.LevelWarn),
		Realm:              c.Realm,
		AuthHandler:        s.authenticate,
		ChannelBindTimeout: c.ChannelLifetime,
		QuotaHandler:       s.quotaOK,
		EventHandler: turn.EventHandler{
			// pion checks MESSAGE-INTEGRITY itself; a wrong password only shows up here.
			OnAuth: func(_, _ net.Addr, _, _, _, _ string, ok bool) {
				if !ok {
					s.stats.refusedAuth.Add(1)
				}
			},
			OnChannelCreated:    s.channelCreated,
			OnChannelDeleted:    s.channelDeleted,
			OnAllocationDeleted: s.unoffloadAllocation,
		},
	}
	for _, ln := range []net.Listener{s.tls, s.ext} {
		if ln != nil {
			sc.ListenerConfigs = append(sc.ListenerConfigs, turn.ListenerConfig{Listener: ln, RelayAddressGenerator: gen, PermissionHandler: perm})
		}
	}
	p, err := turn.NewServer(sc)
	if err != nil {
		s.closeListeners()
		s.closeOffload()
		s.closeFast()
		return nil, fmt.Errorf("turn: start: %w", err)
	}
	s.pion = p
	udp, tcp := s.Addr()
	s.log.Info("turn: listening", "udp", udp, "tcp", tcp, "tls", s.TLSAddr(), "tls_shared", addrOf(s.ext), "relay_ip", advertise,
		"relay_ports", fmt.Sprintf("%d-%d", c.RelayMinPort, c.RelayMaxPort), "fast_path", s.fast != nil, "offload", s.offloadIfaces)
	return s, nil
}

// listen opens the sockets; with port 0 the TCP listener takes the UDP port so one port serves both.
func (s *Server) listen() error {
	c := s.cfg
	udp, tcp, err := listenPair(c.Listen)
	if err != nil {
		return err
	}
	s.tune(udp, "listener")
	s.udp = s.startFast(udp)
	s.tcp = &guardedListener{Listener: tcp, s: s}

	if c.TLSListen != "" {
		ln, err := net.Listen("tcp", c.TLSListen)
		if err != nil {
			return fmt.Errorf("turn: listen tls %s: %w", c.TLSListen, err)
		}
		s.tls = &guardedListener{Listener: ln, s: s, tls: c.TLSConfig.Clone()}
	}
	if c.TLSListener != nil {
		s.ext = &guardedListener{Listener: c.TLSListener, s: s} // handshaken by its owner already
	}
	return nil
}

// listenPair opens UDP and TCP on the same address; with port 0 it draws a port free for both,
// trying again when another process holds the TCP side of the port UDP drew.
func listenPair(addr string) (net.PacketConn, net.Listener, error) {
	anyPort := false
	if port, _ := listenPort(addr); port == 0 {
		anyPort = true
	}
	for try := 0; ; try++ {
		udp, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("turn: listen udp %s: %w", addr, err)
		}
		tcpAddr := addr
		if anyPort {
			host, _, _ := net.SplitHostPort(addr)
			tcpAddr = net.JoinHostPort(host, strconv.Itoa(udp.LocalAddr().(*net.UDPAddr).Port))
		}
		tcp, err := net.Listen("tcp", tcpAddr)
		if err == nil {
			return udp, tcp, nil
		}
		_ = udp.Close()
		if !anyPort || try == 9 {
			return nil, nil, fmt.Errorf("turn: listen tcp %s: %w", tcpAddr, err)
		}
	}
}

func (s *Server) closeListeners() {
	for _, c := range []interface{ Close() error }{s.udp, s.tcp, s.tls, s.ext} {
		if c != nil {
			_ = c.Close()
		}
	}
}

// Close stops the listeners and tears down every connection and allocation.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	relays := make([]*relayConn, 0, len(s.relays))
	for r := range s.relays {
		relays = append(relays, r)
	}
	conns := make([]*turnConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()

	err := s.pion.Close()
	s.gen.close() // ports held for EVEN-PORT pairs
	// pion closes listeners but not accepted TCP connections or (synchronously) relay sockets.
	for _, c := range conns {
		_ = c.Close()
	}
	for _, r := range relays {
		_ = r.Close()
	}
	s.closeOffload()
	s.closeFast()
	return err
}

// closeOffload detaches the kernel relay; its counts so far stay in the counters.
func (s *Server) closeOffload() {
	if s.offload == nil {
		return
	}
	s.collectOffload()
	_ = s.offload.Close()
}

// Addr returns the bound UDP and TCP listener addresses.
func (s *Server) Addr() (udp, tcp net.Addr) {
	return s.udp.LocalAddr(), s.tcp.Addr()
}

// TLSAddr returns the TURN-over-TLS listener address, or nil without TLSListen.
func (s *Server) TLSAddr() net.Addr { return addrOf(s.tls) }

func addrOf(ln net.Listener) net.Addr {
	if ln == nil {
		return nil
	}
	return ln.Addr()
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.collectOffload()
	s.collectFast()
	st := s.stats.snapshot()
	if s.offload != nil {
		st.OffloadChannels, _ = s.offload.Entries()
	}
	if s.fast != nil {
		st.FastChannels = s.fast.Channels()
	}
	return st
}

// authenticate is pion's AuthHandler: REST credentials with expiry. The userID it returns names
// the allocation's owner for the quotas (see owner).
func (s *Server) authenticate(ra *turn.RequestAttributes) (string, []byte, bool) {
	user, key, err := checkCredentials(s.cfg.Secret, s.cfg.Realm, ra.Username, ra.Realm, s.cfg.TTL, time.Now())
	if err != nil {
		s.stats.refusedAuth.Add(1)
		s.log.Debug("turn: credentials refused", "src", ra.SrcAddr, "reason", err)
		return "", nil, false
	}
	return owner{ip: ipkey.OfAddr(ra.SrcAddr), user: user}.String(), key, true
}

// permit is pion's PermissionHandler, consulted for CreatePermission, ChannelBind and Connect.
func (s *Server) permit(client net.Addr, peer net.IP) bool {
	if peerAllowed(netIPAddr(peer), s.cfg.AllowPeers) {
		return true
	}
	s.stats.refusedPeer.Add(1)
	s.log.Debug("turn: peer refused", "client", client, "peer", peer.String())
	return false
}

// quotaOK answers pion's QuotaHandler (486 to the client); reserve enforces it race-free.
func (s *Server) quotaOK(userID, _ string, _ net.Addr) bool {
	s.mu.Lock()
	err := s.overQuota(parseOwner(userID))
	s.mu.Unlock()
	s.countRefusal(err)
	return err == nil
}

// reserve takes a quota slot for an allocation of o.
func (s *Server) reserve(o owner) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	if err := s.overQuota(o); err != nil {
		return err
	}
	s.allocs++
	s.perUser[o.user]++
	s.perIP[o.ip]++
	return nil
}

// overQuota says which cap one more allocation of o would break; s.mu must be held.
func (s *Server) overQuota(o owner) error {
	switch {
	case s.perUser[o.user] >= s.cfg.MaxAllocations:
		return errQuota
	case s.perIP[o.ip] >= s.cfg.MaxAllocationsPerIP:
		return errQuotaIP
	case s.allocs >= s.maxAllocTotal:
		return errQuotaTotal
	}
	return nil
}

func (s *Server) countRefusal(err error) {
	switch err {
	case errQuota:
		s.stats.refusedQuota.Add(1)
	case errQuotaIP:
		s.stats.refusedQuotaIP.Add(1)
	case errQuotaTotal:
		s.stats.refusedQuotaTotal.Add(1)
	}
}

func (s *Server) release(o owner) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.allocs--
	if s.perUser[o.user]--; s.perUser[o.user] <= 0 {
		delete(s.perUser, o.user)
	}
	if s.perIP[o.ip]--; s.perIP[o.ip] <= 0 {
		delete(s.perIP, o.ip)
	}
}

// owner is whom an allocation counts against: its credential and its client's address. pion
// hands the relay generator only the AuthHandler's userID, so both travel in it as "<ip> <user>".
type owner struct {
	ip   netip.Prefix
	user string
}

func (o owner) String() string { return o.ip.String() + " " + o.user }

// parseOwner reads a userID written by authenticate; the address part never holds a space.
func parseOwner(userID string) owner {
	ip, user, _ := strings.Cut(userID, " ")
	p, _ := netip.ParsePrefix(ip)
	return owner{ip: p, user: user}
}

// track registers a relay socket whose quota slot is already reserved.
func (s *Server) track(r *relayConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.relays[r] = struct{}{}
	s.byPort[r.port] = r
	s.stats.allocActive.Add(1)
	s.stats.allocTotal.Add(1)
	return true
}

func (s *Server) untrack(r *relayConn) {
	s.mu.Lock()
	_, ok := s.relays[r]
	delete(s.relays, r)
	if s.byPort[r.port] == r {
		delete(s.byPort, r.port)
	}
	s.mu.Unlock()
	if ok {
		s.stats.allocActive.Add(-1)
		s.release(r.owner)
	}
}

// tune sets the socket buffers, logging once if the kernel capped them.
func (s *Server) tune(pc net.PacketConn, what string) {
	res := tuneUDP(pc, s.cfg.SocketBuffer)
	if res.err != nil || res.capped(s.cfg.SocketBuffer) {
		s.bufferWarn.Do(func() {
			s.log.Debug("turn: socket buffers capped; raise net.core.rmem_max/wmem_max or run with CAP_NET_ADMIN",
				"socket", what, "want", s.cfg.SocketBuffer, "rcv", res.rcv, "snd", res.snd, "err", res.err)
		})
	}
}

// toServerItself reports whether a relayed packet targets this host outside the relay range.
func (s *Server) toServerItself(addr net.Addr) bool {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return false
	}
	ap := ua.AddrPort()
	ip := ap.Addr().Unmap()
	if _, own := s.ownIPs[ip]; !own {
		return false
	}
	// AllowPeers does not open this: a LAN range opened on purpose holds the server's own address.
	return ap.Port() < s.cfg.RelayMinPort || ap.Port() > s.cfg.RelayMaxPort // else another allocation on this server
}

// toOwnRelay reports whether a relayed packet targets a relay port of this host, and which.
func (s *Server) toOwnRelay(addr net.Addr) (int, bool) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, false
	}
	ap := ua.AddrPort()
	if _, own := s.ownIPs[ap.Addr().Unmap()]; !own || ap.Port() < s.cfg.RelayMinPort || ap.Port() > s.cfg.RelayMaxPort {
		return 0, false
	}
	return int(ap.Port()), true
}

// relayAt returns the local address of the live allocation on a relay port.
func (s *Server) relayAt(port int) (netip.AddrPort, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.byPort[port]
	if r == nil {
		return netip.AddrPort{}, false
	}
	return r.local, true
}

// publicRelayAddr names a packet that came from the relay socket on port by the address its
// allocation announced, when there is such an allocation; otherwise from is kept.
func (s *Server) publicRelayAddr(port int, from net.Addr) net.Addr {
	s.mu.Lock()
	_, live := s.byPort[port]
	s.mu.Unlock()
	if !live {
		return from
	}
	return &net.UDPAddr{IP: s.gen.advertise.AsSlice(), Port: port}
}

// collectOwnIPs records this host's addresses so relays cannot reach its non-relay ports.
func (s *Server) collectOwnIPs(addrs ...netip.Addr) {
	for _, a := range addrs {
		if a.IsValid() && !a.IsUnspecified() {
			s.ownIPs[a.Unmap()] = struct{}{}
		}
	}
	ifAddrs, err := net.InterfaceAddrs()
	if err != nil {
		return
	}
	for _, ia := range ifAddrs {
		if p, err := netip.ParsePrefix(ia.String()); err == nil {
			s.ownIPs[p.Addr().Unmap()] = struct{}{}
		}
	}
}

// hostIP returns the IP literal of a listen address, or the zero Addr for "" or a name.
func hostIP(listen string) netip.Addr {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return netip.Addr{}
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// outboundIP finds the source address of the default route; connecting UDP sends nothing.
func outboundIP() netip.Addr {
	c, err := net.Dial("udp4", "192.0.2.1:9")
	if err != nil {
		return netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap()
}
