// Package turn embeds a TURN/STUN relay (pion/turn) with TURN REST API
// credentials, a peer deny-list against SSRF, per-user quotas and counters.
package turn

import (
	"cmp"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Defaults applied by Config when a field is left zero.
const (
	DefaultRelayMinPort   = 49152
	DefaultRelayMaxPort   = 65535
	DefaultRealm          = "duet"
	DefaultTTL            = 24 * time.Hour
	DefaultMaxAllocations = 10
	DefaultSocketBuffer   = 4 << 20

	// Per client address (an IPv4 address, an IPv6 /64): room for a NAT full of browsers, each
	// gathering relay candidates over UDP, TCP and TLS on every interface.
	DefaultMaxAllocationsPerIP = 64
	DefaultMaxAllocationsTotal = 8192
	DefaultMaxTCPPerIP         = 64
	DefaultMaxTCPTotal         = 1024
	// A TURN client speaks first: its TLS handshake and first STUN request take a few round trips.
	DefaultTCPHandshakeTimeout = 5 * time.Second
	// A client with an allocation sends a Refresh before its 10-minute lifetime runs out.
	DefaultTCPIdleTimeout = 10 * time.Minute
	// DefaultChannelLifetime is RFC 8656's: a channel binding not refreshed for 10 minutes expires.
	DefaultChannelLifetime = 10 * time.Minute
)

// Config configures the embedded TURN server and what ICEServers advertises.
type Config struct {
	Listen                     string         // UDP and TCP listen address, e.g. ":3478"; "" disables the embedded server
	TLSListen                  string         // optional TURN-over-TLS (turns:) address, e.g. ":5349"; "" = off
	TLSConfig                  *tls.Config    // certificate for TLSListen (same as the web server's)
	TLSListener                net.Listener   // optional TURN over TLS on a listener whose connections are TLS already (tlsmux's TURN side, the HTTPS port); under the same caps and deadlines
	PublicIP                   netip.Addr     // address peers are told to send to (relay address advertised)
	RelayMinPort, RelayMaxPort uint16         // default 49152-65535
	Realm                      string         // default "duet"
	Secret                     []byte         // shared secret for the TURN REST API scheme (coturn's use-auth-secret)
	TTL                        time.Duration  // credential lifetime, default 24h
	URLs                       []string       // external TURN/STUN URLs to advertise instead of the embedded one
	AllowPeers                 []netip.Prefix // ranges opened on purpose despite the deny-list
	MaxAllocations             int            // per-user simultaneous allocation quota, default 10
	MaxAllocationsPerIP        int            // per client address (IPv6: per /64), default 64
	MaxAllocationsTotal        int            // all clients together, default 8192
	MaxTCPPerIP                int            // TURN TCP/TLS connections open at once per client address, default 64
	MaxTCPTotal                int            // TURN TCP/TLS connections open at once, all clients, default 1024
	TCPHandshakeTimeout        time.Duration  // TLS handshake and first STUN message of a TCP/TLS connection, default 5 s
	TCPIdleTimeout             time.Duration  // a TCP/TLS connection silent this long is closed, default 10 min
	SocketBuffer               int            // SO_RCVBUF/SO_SNDBUF bytes on the listener and every relay socket, default 4 MiB
	Batch                      string         // ModeAuto (default): the fast path on Linux (package fastpath); ModeOff: pion reads each socket
	Offload                    string         // ModeAuto (default): bound IPv4 UDP channels relayed in the kernel (XDP) when permitted; ModeOff: all in user space
	ChannelLifetime            time.Duration  // a channel binding not refreshed this long expires, default RFC 8656's 10 min
	Logger                     *slog.Logger
}

// Modes of the relay's optional fast paths (Config.Batch, Config.Offload): auto uses them where the
// platform and privileges allow, off never.
const (
	ModeAuto = "auto"
	ModeOff  = "off"
)

// CheckMode says what a fast path's mode may be; the flags and Validate share it.
func CheckMode(mode string) error {
	if mode != ModeAuto && mode != ModeOff {
		return fmt.Errorf("want %s or %s, got %q", ModeAuto, ModeOff, mode)
	}
	return nil
}

// withDefaults returns a copy with zero fields filled in; Validate and New both work on it.
func (c Config) withDefaults() Config {
	if c.RelayMinPort == 0 {
		c.RelayMinPort = DefaultRelayMinPort
	}
	if c.RelayMaxPort == 0 {
		c.RelayMaxPort = DefaultRelayMaxPort
	}
	if c.Realm == "" {
		c.Realm = DefaultRealm
	}
	if c.TTL == 0 {
		c.TTL = DefaultTTL
	}
	if c.MaxAllocations == 0 {
		c.MaxAllocations = DefaultMaxAllocations
	}
	if c.SocketBuffer == 0 {
		c.SocketBuffer = DefaultSocketBuffer
	}
	c.Batch = cmp.Or(c.Batch, ModeAuto)
	c.Offload = cmp.Or(c.Offload, ModeAuto)
	c.MaxAllocationsPerIP = cmp.Or(c.MaxAllocationsPerIP, DefaultMaxAllocationsPerIP)
	c.MaxAllocationsTotal = cmp.Or(c.MaxAllocationsTotal, DefaultMaxAllocationsTotal)
	c.MaxTCPPerIP = cmp.Or(c.MaxTCPPerIP, DefaultMaxTCPPerIP)
	c.MaxTCPTotal = cmp.Or(c.MaxTCPTotal, DefaultMaxTCPTotal)
	c.TCPHandshakeTimeout = cmp.Or(c.TCPHandshakeTimeout, DefaultTCPHandshakeTimeout)
	c.TCPIdleTimeout = cmp.Or(c.TCPIdleTimeout, DefaultTCPIdleTimeout)
	c.ChannelLifetime = cmp.Or(c.ChannelLifetime, DefaultChannelLifetime)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Enabled reports whether the embedded server should run.
func (c Config) Enabled() bool { return c.Listen != "" }

// Validate reports every configuration problem at once, joined.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("turn: "+format, args...)) }

	if c.Listen != "" {
		if _, err := listenPort(c.Listen); err != nil {
			bad("Listen %q: %v", c.Listen, err)
		}
	}
	if c.TLSListen != "" {
		if c.Listen == "" {
			bad("TLSListen %q needs Listen too (the embedded server is off)", c.TLSListen)
		}
		if _, err := listenPort(c.TLSListen); err != nil {
			bad("TLSListen %q: %v", c.TLSListen, err)
		}
		if c.TLSConfig == nil || (len(c.TLSConfig.Certificates) == 0 && c.TLSConfig.GetCertificate == nil && c.TLSConfig.GetConfigForClient == nil) {
			bad("TLSListen %q needs a TLSConfig with a certificate", c.TLSListen)
		}
	}
	if c.TLSListener != nil && c.Listen == "" {
		bad("TLSListener needs Listen too (the embedded server is off)")
	}
	if c.Listen != "" || hasTURNURL(c.URLs) {
		if len(c.Secret) == 0 {
			bad("Secret is empty; TURN credentials cannot be issued or checked")
		}
	}
	if c.RelayMinPort > c.RelayMaxPort {
		bad("relay port range %d-%d is empty (min > max)", c.RelayMinPort, c.RelayMaxPort)
	}
	if c.PublicIP.IsValid() && (c.PublicIP.IsUnspecified() || c.PublicIP.IsMulticast()) {
		bad("PublicIP %s cannot be advertised as a relay address", c.PublicIP)
	}
	if c.PublicIP.Zone() != "" {
		bad("PublicIP %s must not carry an IPv6 zone", c.PublicIP)
	}
	if strings.ContainsAny(c.Realm, "\"\\") {
		bad("Realm %q must not contain quotes or backslashes", c.Realm)
	}
	if c.TTL < 0 {
		bad("TTL %v is negative", c.TTL)
	}
	for _, u := range c.URLs {
		if scheme, _, ok := strings.Cut(u, ":"); !ok || !validScheme(scheme) {
			bad("URL %q must start with stun:, stuns:, turn: or turns:", u)
		}
	}
	for _, p := range c.AllowPeers {
		if !p.IsValid() {
			bad("AllowPeers contains an invalid prefix")
		}
	}
	for _, cap := range []struct {
		name string
		n    int
	}{{"MaxAllocations", c.MaxAllocations}, {"MaxAllocationsPerIP", c.MaxAllocationsPerIP},
		{"MaxAllocationsTotal", c.MaxAllocationsTotal}, {"MaxTCPPerIP", c.MaxTCPPerIP}, {"MaxTCPTotal", c.MaxTCPTotal}} {
		if cap.n < 0 {
			bad("%s %d is negative", cap.name, cap.n)
		}
	}
	if c.TCPHandshakeTimeout < 0 || c.TCPIdleTimeout < 0 || c.ChannelLifetime < 0 {
		bad("TCP timeouts %v, %v and ChannelLifetime %v must not be negative", c.TCPHandshakeTimeout, c.TCPIdleTimeout, c.ChannelLifetime)
	}
	if err := CheckMode(c.Batch); err != nil {
		bad("Batch: %v", err)
	}
	if err := CheckMode(c.Offload); err != nil {
		bad("Offload: %v", err)
	}
	if c.SocketBuffer < 0 {
		bad("SocketBuffer %d is negative", c.SocketBuffer)
	}
	return errors.Join(errs...)
}

// listenPort returns the port of a host:port listen address; 0 is allowed (tests).
func listenPort(addr string) (uint16, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("bad port %q", port)
	}
	return uint16(n), nil
}

func validScheme(s string) bool {
	switch s {
	case "stun", "stuns", "turn", "turns":
		return true
	}
	return false
}

// hasTURNURL reports whether any URL needs credentials.
func hasTURNURL(urls []string) bool {
	for _, u := range urls {
		if strings.HasPrefix(u, "turn:") || strings.HasPrefix(u, "turns:") {
			return true
		}
	}
	return false
}
