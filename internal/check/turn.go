package check

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"syscall"

	"github.com/pion/stun/v4"
	"github.com/pion/turn/v5"

	"duet/internal/pionlog"
)

// relayRange is the default relay port range; the check cannot see --relay-ports from outside.
const relayRange = "the relay range (49152-65535 unless --relay-ports says otherwise)"

// stun runs one step per stun: URL: a binding request shows how this machine is seen.
func (r *run) stun(ctx context.Context, blocked string) {
	if blocked != "" {
		r.record(Step{Name: "STUN", Skipped: true, Detail: "skipped: " + blocked})
		return
	}
	urls := r.iceURLs(func(u iceURL) bool { return !u.turn })
	for _, t := range urls {
		r.step(ctx, stepName("STUN", t.url, len(urls)), "", func(ctx context.Context) (string, error) {
			return r.binding(ctx, t.url)
		})
	}
}

// turn runs one step per turn:/turns: URL: an allocation with the issued credentials.
func (r *run) turn(ctx context.Context, blocked string) {
	if blocked != "" {
		r.record(Step{Name: "TURN", Skipped: true, Detail: "skipped: " + blocked})
		return
	}
	urls := r.iceURLs(func(u iceURL) bool { return u.turn })
	if len(urls) == 0 {
		r.step(ctx, "TURN", "", func(context.Context) (string, error) { return "", r.noTURN() })
		return
	}
	for _, t := range urls {
		count := 0
		for _, o := range urls {
			if o.url.kind() == t.url.kind() {
				count++
			}
		}
		if r.step(ctx, stepName("TURN over "+t.url.kind(), t.url, count), "", func(ctx context.Context) (string, error) {
			return r.allocate(ctx, t.url, t.server)
		}) {
			r.relays[t.url.raw] = true
		}
	}
}

// noTURN explains an ice-servers answer without a relay: calls between two NATed peers fail.
func (r *run) noTURN() error {
	detail := "/api/ice-servers lists no turn: or turns: URL"
	if r.health["turn"] == "disabled" {
		return fail(detail+" (healthz: turn=disabled)",
			`the embedded relay is off (duet runs with --turn-listen "") and no --turn-urls is set, so callers behind NAT cannot connect`,
			"start duet with --turn-listen :3478 (the default), or hand out a TURN server with --turn-urls")
	}
	return fail(detail, "callers behind NAT cannot connect without a relay",
		"enable the embedded relay (--turn-listen :3478) or set --turn-urls")
}

type listed struct {
	url    iceURL
	server iceServer
}

// iceURLs are the URLs of the ICE servers step that keep, in order, with their entry.
func (r *run) iceURLs(keep func(iceURL) bool) []listed {
	var out []listed
	if r.ice == nil {
		return nil
	}
	for _, e := range r.ice.ICEServers {
		for _, raw := range e.URLs {
			if u, err := parseICEURL(raw); err == nil && keep(u) {
				out = append(out, listed{u, e})
			}
		}
	}
	return out
}

// stepName adds the address when several URLs of one kind would otherwise share a name.
func stepName(base string, u iceURL, sameKind int) string {
	if sameKind > 1 {
		return base + " " + u.addr()
	}
	return base
}

// resolveHost is the address a URL's host names, IPv4 first like the DNS step.
func resolveHost(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a.Unmap()}, nil
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, fail(host+" does not resolve: "+err.Error(), "the TURN/STUN host name has no DNS record",
			"create one, or fix --turn-urls / --public-ip")
	}
	for i := range addrs {
		addrs[i] = addrs[i].Unmap()
	}
	slices.SortStableFunc(addrs, func(a, b netip.Addr) int {
		switch {
		case a.Is4() && !b.Is4():
			return -1
		case b.Is4() && !a.Is4():
			return 1
		}
		return 0
	})
	return addrs, nil
}

// client connects a TURN/STUN client to u the way a browser would (UDP, TCP or TLS).
func (r *run) turnClient(ctx context.Context, u iceURL, s iceServer) (c *turn.Client, server netip.AddrPort, closeAll func(), err error) {
	addrs, err := resolveHost(ctx, u.host)
	if err != nil {
		return nil, server, nil, err
	}
	server = netip.AddrPortFrom(addrs[0], parsePort(u.port))
	var conn net.PacketConn
	switch u.kind() {
	case "UDP":
		// The socket's family must be the server's: pion asks for a relay of the family it is bound to.
		network := "udp4"
		if server.Addr().Is6() {
			network = "udp6"
		}
		if conn, err = net.ListenPacket(network, ":0"); err != nil {
			return nil, server, nil, err
		}
	case "TCP":
		var d net.Dialer
		tc, err := d.DialContext(ctx, "tcp", server.String())
		if err != nil {
			return nil, server, nil, dialProblem(err, server.String(), "TCP", "the relay is not running", "start duet's relay (--turn-listen)")
		}
		conn = turn.NewSTUNConn(tc)
	case "TLS":
		d := tls.Dialer{Config: &tls.Config{ServerName: u.host, InsecureSkipVerify: r.o.insecure}}
		tc, err := d.DialContext(ctx, "tcp", server.String())
		if err != nil {
			return nil, server, nil, tlsProblem(err, server.String(), r.tlsFlag(u))
		}
		conn = turn.NewSTUNConn(tc)
	}
	c, err = turn.NewClient(&turn.ClientConfig{
		STUNServerAddr: server.String(),
		TURNServerAddr: server.String(),
		Conn:           conn,
		Username:       s.Username,
		Password:       s.Credential,
		LoggerFactory:  pionlog.New(r.log, slog.LevelDebug),
	})
	if err == nil {
		err = c.Listen()
	}
	if err != nil {
		_ = conn.Close()
		return nil, server, nil, err
	}
	return c, server, func() { c.Close(); _ = conn.Close() }, nil
}

// tlsFlag is the duet flag that serves a turns: URL: --turns-on-https when it names the HTTPS port.
func (r *run) tlsFlag(u iceURL) string {
	if u.secure && u.port == r.o.port {
		return "--turns-on-https"
	}
	return "--turns-listen"
}

func tlsProblem(err error, addr, flag string) error {
	var cv *tls.CertificateVerificationError
	var ue x509.UnknownAuthorityError
	switch {
	case errors.As(err, &cv) || errors.As(err, &ue):
		return fail("the certificate on "+addr+" is not trusted: "+err.Error(), "browsers will refuse turns: there",
			"give the relay the web server's certificate (duet does with "+flag+"), or pass --insecure for a test server")
	case errors.Is(err, syscall.ECONNREFUSED) || isTimeout(err):
		return dialProblem(err, addr, "TCP", "the TLS relay is not running", "start duet with "+flag)
	}
	if flag == "--turns-on-https" {
		return fail("TLS to "+addr+" failed: "+err.Error(), "the HTTPS port does not carry TURN (a proxy in front of duet ends TLS itself?)",
			"let TCP 443 reach duet itself (TCP passthrough) with --turns-on-https, or hand out another turns: port")
	}
	return fail("TLS to "+addr+" failed: "+err.Error(), "the relay does not speak TLS there", "check --turns-listen")
}

// binding is one STUN step: a binding request answered with this machine's reflexive address.
func (r *run) binding(ctx context.Context, u iceURL) (string, error) {
	c, server, done, err := r.turnClient(ctx, u, iceServer{})
	if err != nil {
		return "", err
	}
	defer done()
	msg, err := stun.Build(stun.TransactionID, stun.BindingRequest)
	if err != nil {
		return "", err
	}
	res, err := c.PerformTransactionWithContext(msg, net.UDPAddrFromAddrPort(server), false, ctx)
	if err != nil {
		return "", r.transactionProblem(err, u, server)
	}
	var mapped stun.XORMappedAddress
	if err := mapped.GetFrom(res.Msg); err != nil {
		return "", fail("the STUN answer from "+server.String()+" has no mapped address", "a broken STUN server answers", "check --turn-urls")
	}
	return fmt.Sprintf("%s answers: this machine is %s", server, mapped.String()), nil
}

// allocate is one TURN step: an allocation with the issued credentials, and where it relays from.
func (r *run) allocate(ctx context.Context, u iceURL, s iceServer) (string, error) {
	c, server, done, err := r.turnClient(ctx, u, s)
	if err != nil {
		return "", err
	}
	defer done()
	relay, err := c.AllocateWithContext(ctx)
	if err != nil {
		return "", r.transactionProblem(err, u, server)
	}
	defer relay.Close() // frees the allocation at once, so the call's allocations stay under the quota
	ra, _ := relay.LocalAddr().(*net.UDPAddr)
	relayed := ra.AddrPort()
	relayed = netip.AddrPortFrom(relayed.Addr().Unmap(), relayed.Port())
	turnAddrs, _ := resolveHost(ctx, u.host)
	if err := judgeRelay(relayed, r.addrs, turnAddrs, r.health["turn"] == "external"); err != nil {
		return "", err
	}
	where := ""
	if r.tlsFlag(u) == "--turns-on-https" {
		where = " (on the HTTPS port)"
	}
	return fmt.Sprintf("%s via %s%s relays from %s", u.raw, server, where, relayed), nil
}

// transactionProblem explains a STUN/TURN request that failed: silence, or the server's refusal.
func (r *run) transactionProblem(err error, u iceURL, server netip.AddrPort) error {
	var te *stun.TurnError
	if errors.As(err, &te) {
		code := te.ErrorCodeAttr.Code
		detail := strings.TrimSpace(fmt.Sprintf("%s refused the allocation: %d %s", server, code, te.ErrorCodeAttr.Reason))
		switch code {
		case stun.CodeUnauthorized:
			return fail(detail, "the relay rejects the credentials /api/ice-servers issued, so its secret differs from the web server's",
				"give both the same --turn-secret (coturn: static-auth-secret)")
		case stun.CodeAllocQuotaReached:
			return fail(detail, "this credential holds too many allocations", "raise --turn-max-allocations")
		case stun.CodeInsufficientCapacity:
			return fail(detail, "the relay could not open a relay socket (no free port in the relay range, or none of the address family)",
				"widen --relay-ports, and read the relay's log")
		case stun.CodeForbidden:
			return fail(detail, "the relay forbids allocations for this user", "check the relay's configuration")
		}
		return fail(detail, "the relay refused the request", "read the relay's log")
	}
	port := u.port
	// pion says "all retransmissions failed" when nothing answered, and "failed to retransmit" when
	// the server hung up before a retransmission (the HTTPS port closing a request it cannot parse):
	// no TURN answer either way.
	if isTimeout(err) || strings.Contains(err.Error(), "retransmissions failed") || strings.Contains(err.Error(), "failed to retransmit") {
		if u.kind() == "UDP" {
			return fail("no answer from "+server.String()+" over UDP",
				"UDP "+port+" is probably blocked by a firewall or security group",
				"open UDP "+port+" and "+relayRange)
		}
		if r.tlsFlag(u) == "--turns-on-https" {
			return fail("no TURN answer from "+server.String()+" over TLS on the HTTPS port",
				"the HTTPS port serves the page but not TURN", "start duet with --turns-on-https on (auto turns it on only on port 443)")
		}
		return fail("no answer from "+server.String()+" over "+u.kind(),
			"something accepts TCP "+port+" but does not answer TURN", "check that duet's relay listens there")
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return dialProblem(err, server.String(), "UDP", "the relay is not running", "start duet's relay (--turn-listen)")
	}
	return fail("the request to "+server.String()+" failed: "+err.Error(), "the relay did not answer properly", "read the relay's log")
}

// judgeRelay checks the relayed address: browsers send media to it, so it must be the server's own
// public address. A private one is the cloud-NAT mistake; another public one is a wrong --public-ip.
// When the server itself is on a loopback or private address (a test or a LAN), that address is right.
func judgeRelay(relayed netip.AddrPort, server, turnHost []netip.Addr, external bool) error {
	ip := relayed.Addr()
	if slices.Contains(server, ip) || (external && slices.Contains(turnHost, ip)) {
		return nil
	}
	own := server
	if external {
		own = turnHost
	}
	want := "the server's address"
	if len(own) > 0 {
		want = own[0].String()
		for _, a := range own {
			if isPublic(a) {
				want = a.String()
				break
			}
		}
	}
	detail := fmt.Sprintf("the relay hands out %s, but the server is %s", relayed, joinAddrs(own))
	flag := "start duet with --public-ip " + want
	if external {
		flag = "set the TURN server's external address to " + want + " (coturn: external-ip=" + want + ")"
	}
	if !isPublic(ip) && slices.ContainsFunc(own, isPublic) {
		return fail(detail, "a private relayed address is the classic cloud-NAT mistake: browsers cannot send media to it", flag)
	}
	return fail(detail, "--public-ip is probably wrong: browsers would send media to an address that is not the relay", flag)
}

// isPublic is an address reachable from the internet: not loopback, private, link-local, CGNAT or unspecified.
func isPublic(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsGlobalUnicast() && !a.IsPrivate() && !cgnat.Contains(a)
}

var cgnat = netip.MustParsePrefix("100.64.0.0/10")

func parsePort(s string) uint16 {
	var n uint16
	_, _ = fmt.Sscan(s, &n)
	return n
}
