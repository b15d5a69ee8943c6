// Package config reads duet's settings from flags, DUET_<NAME> environment variables and a YAML file,
// in that order of precedence, and checks them once.
package config

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	"duet/internal/signal"
	"duet/internal/turn"
	"duet/internal/web"
)

// Config is every setting of the duet server.
type Config struct {
	Listen     string
	TLSCert    string
	TLSKey     string
	ConfigFile string
	LogLevel   slog.Level
	LogFormat  string

	Domains         []string
	StateDir        string
	HTTPListen      string
	ACMEDirectory   string
	ShutdownTimeout time.Duration
	AllowedOrigins  []string
	ConnRate        float64
	EventRate       float64
	MaxConnPerIP    int
	MaxConns        int
	RedisURL        string
	PprofListen     string
	ICERate         float64
	MetricsToken    string
	MetricsListen   string

	Rooms         signal.RoomsMode
	APIKeys       []string
	InviteSecret  string
	WebhookURL    string
	WebhookSecret string
	EmbedOrigins  []string

	TURNListen         string
	TURNSListen        string
	TURNSOnHTTPS       string
	PublicIP           netip.Addr
	RelayPorts         PortRange
	Realm              string
	TURNSecret         string
	TURNTTL            time.Duration
	TURNURLs           []string
	TURNAllowPeers     []netip.Prefix
	TURNMaxAllocations int
	TURNMaxAllocPerIP  int
	TURNMaxAllocTotal  int
	TURNMaxTCPPerIP    int
	TURNMaxTCPTotal    int
	TURNTCPHandshake   time.Duration
	TURNTCPIdle        time.Duration
	TURNChannelLife    time.Duration
	TURNSocketBuffer   int
	TURNBatch          string
	TURNOffload        string
}

// PortRange is an inclusive UDP port range written "MIN-MAX".
type PortRange struct{ Min, Max uint16 }

func (p PortRange) String() string { return fmt.Sprintf("%d-%d", p.Min, p.Max) }

func (p *PortRange) Set(s string) error {
	lo, hi, ok := strings.Cut(s, "-")
	a, err1 := strconv.ParseUint(lo, 10, 16)
	b, err2 := strconv.ParseUint(hi, 10, 16)
	if !ok || err1 != nil || err2 != nil || a == 0 || a > b {
		return fmt.Errorf("want MIN-MAX with 1 <= MIN <= MAX <= 65535, got %q", s)
	}
	p.Min, p.Max = uint16(a), uint16(b)
	return nil
}

// flags binds every setting to a flag on a fresh FlagSet, with its default: the owning package's.
func flags(c *Config) *flag.FlagSet {
	fs := flag.NewFlagSet("duet", flag.ContinueOnError)
	limits := signal.DefaultLimits()
	fs.StringVar(&c.Listen, "listen", "", `HTTPS address of the page, Socket.IO and /api (":8443", or ":443" with --domain)`)
	fs.StringVar(&c.TLSCert, "tls-cert", "", "certificate file (PEM); without it a self-signed certificate for localhost is made")
	fs.StringVar(&c.TLSKey, "tls-key", "", "private key file (PEM) for --tls-cert")
	fs.StringVar(&c.ConfigFile, "config", "", "YAML file with any of these settings, keyed by flag name")
	fs.TextVar(&c.LogLevel, "log-level", slog.LevelInfo, "debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", "text", "text or json")

	fs.Func("domain", "get a Let's Encrypt certificate for this name (repeatable); turns on --http-listen", func(s string) error {
		c.Domains = append(c.Domains, s)
		return nil
	})
	fs.StringVar(&c.StateDir, "state-dir", "/var/lib/duet", "where certificates from Let's Encrypt are kept")
	fs.StringVar(&c.HTTPListen, "http-listen", "", `plain HTTP address for the ACME challenge and the redirect to HTTPS (":80" when --domain is set)`)
	fs.StringVar(&c.ACMEDirectory, "acme-directory", "", "ACME directory URL (default: Let's Encrypt)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 10*time.Second, "how long a stop waits for requests in flight")
	fs.Func("allowed-origin", `page origin allowed to connect to Socket.IO, e.g. https://app.example.org (repeatable; "*" for any); the server's own origin, as the Host header names it, is always allowed`, func(s string) error {
		c.AllowedOrigins = append(c.AllowedOrigins, s)
		return nil
	})
	fs.Float64Var(&c.ConnRate, "conn-rate", limits.ConnRate, "new Socket.IO connections per second per IP (bursts of ten seconds' worth)")
	fs.Float64Var(&c.EventRate, "event-rate", limits.EventRate, "Socket.IO events per second per IP (bursts of ten seconds' worth)")
	fs.IntVar(&c.MaxConnPerIP, "max-conn-per-ip", limits.MaxConnPerIP, "Socket.IO connections open at once per IP (per /64 for IPv6)")
	fs.IntVar(&c.MaxConns, "max-conns", signal.DefaultMaxConns, "Socket.IO connections open at once, all addresses together")
	fs.StringVar(&c.PprofListen, "pprof-listen", "", "serve Go's profiler (net/http/pprof) on this address, e.g. 127.0.0.1:6060; never expose it")
	fs.Float64Var(&c.ICERate, "ice-rate", web.DefaultICERate, "/api/ice-servers requests per second per IP (bursts of ten seconds' worth); over it: 429")
	fs.StringVar(&c.MetricsToken, "metrics-token", "", "serve /metrics on the HTTPS port to requests with 'Authorization: Bearer TOKEN' (without it: to loopback clients only)")
	fs.StringVar(&c.MetricsListen, "metrics-listen", "", "also serve /metrics over plain HTTP on this private address, e.g. 10.0.0.5:9100; never expose it")
	c.Rooms = signal.RoomsOpen
	fs.Var(&c.Rooms, "rooms", "who may enter a room: open (anyone who knows its name, and its password if it has one) or token (holders of an invite minted with POST /api/rooms)")
	fs.Func("api-key", "key an application sends as 'Authorization: Bearer KEY' to POST /api/rooms and /status (repeatable); without one the API is off", func(s string) error {
		c.APIKeys = append(c.APIKeys, s)
		return nil
	})
	fs.StringVar(&c.InviteSecret, "invite-secret", "", "key that signs invite tokens (at least 32 bytes; the same on every node); random at start-up when empty")
	fs.StringVar(&c.WebhookURL, "webhook-url", "", "POST signed JSON events (room_started, participant_joined, participant_left, room_finished) to this URL")
	fs.StringVar(&c.WebhookSecret, "webhook-secret", "", "key that signs the webhook events (Duet-Signature header); required with --webhook-url")
	fs.Func("embed-origin", "origin whose pages may show duet in an iframe, e.g. https://app.example.org (repeatable); others may not", func(s string) error {
		c.EmbedOrigins = append(c.EmbedOrigins, s)
		return nil
	})
	fs.StringVar(&c.RedisURL, "redis-url", "", "share rooms with other duet nodes through this Redis, e.g. redis://10.0.0.5:6379/0 (empty: rooms in memory)")

	fs.StringVar(&c.TURNListen, "turn-listen", ":3478", `embedded TURN/STUN address, UDP and TCP; "" disables the embedded relay`)
	fs.StringVar(&c.TURNSListen, "turns-listen", "", "TURN over TLS address, e.g. :5349 (same certificate as the web server)")
	fs.StringVar(&c.TURNSOnHTTPS, "turns-on-https", "auto", "TURN over TLS on the HTTPS port too (--listen), for networks that let only TCP 443 out: auto (on when that port is 443), on or off")
	fs.Func("public-ip", "address peers send relayed media to (the VM's public IP behind cloud 1:1 NAT)", func(s string) (err error) {
		c.PublicIP, err = netip.ParseAddr(s)
		return err
	})
	c.RelayPorts = PortRange{turn.DefaultRelayMinPort, turn.DefaultRelayMaxPort}
	fs.Var(&c.RelayPorts, "relay-ports", "UDP port range for relayed media")
	fs.StringVar(&c.Realm, "realm", turn.DefaultRealm, "TURN realm")
	fs.StringVar(&c.TURNSecret, "turn-secret", "", "TURN REST API shared secret (coturn's static-auth-secret); random at start-up when empty")
	fs.DurationVar(&c.TURNTTL, "turn-ttl", turn.DefaultTTL, "lifetime of the TURN credentials handed to pages")
	fs.Func("turn-urls", "TURN/STUN URL to hand out instead of the embedded relay's (repeatable), e.g. turn:turn.example.org:3478", func(s string) error {
		c.TURNURLs = append(c.TURNURLs, s)
		return nil
	})
	fs.Func("turn-allow-peer", "CIDR the relay may send to despite the private-range deny-list (repeatable)", func(s string) error {
		p, err := netip.ParsePrefix(s)
		if err == nil {
			c.TURNAllowPeers = append(c.TURNAllowPeers, p.Masked())
		}
		return err
	})
	fs.IntVar(&c.TURNMaxAllocations, "turn-max-allocations", turn.DefaultMaxAllocations, "simultaneous TURN allocations per credential")
	fs.IntVar(&c.TURNMaxAllocPerIP, "turn-max-allocations-per-ip", turn.DefaultMaxAllocationsPerIP, "simultaneous TURN allocations per client IP (IPv6: per /64)")
	fs.IntVar(&c.TURNMaxAllocTotal, "turn-max-allocations-total", turn.DefaultMaxAllocationsTotal, "simultaneous TURN allocations, all clients (at most a quarter of the open-file limit)")
	fs.IntVar(&c.TURNMaxTCPPerIP, "turn-max-tcp-per-ip", turn.DefaultMaxTCPPerIP, "TURN TCP/TLS connections open at once per client IP (IPv6: per /64)")
	fs.IntVar(&c.TURNMaxTCPTotal, "turn-max-tcp-total", turn.DefaultMaxTCPTotal, "TURN TCP/TLS connections open at once, all clients (at most a quarter of the open-file limit)")
	fs.DurationVar(&c.TURNTCPHandshake, "turn-tcp-handshake-timeout", turn.DefaultTCPHandshakeTimeout, "time a TURN TCP/TLS connection has for its TLS handshake and first STUN message")
	fs.DurationVar(&c.TURNTCPIdle, "turn-tcp-idle-timeout", turn.DefaultTCPIdleTimeout, "a TURN TCP/TLS connection silent this long is closed")
	fs.DurationVar(&c.TURNChannelLife, "turn-channel-lifetime", turn.DefaultChannelLifetime, "a TURN channel binding not refreshed this long expires (RFC 8656: 10m)")
	fs.IntVar(&c.TURNSocketBuffer, "turn-socket-buffer", turn.DefaultSocketBuffer, "SO_RCVBUF/SO_SNDBUF bytes of the TURN sockets (raise net.core.rmem_max to match)")
	fs.StringVar(&c.TURNBatch, "turn-batch", turn.ModeAuto, `the relay's fast path: "auto" (Linux: one goroutine relays bound channels with recvmmsg/sendmmsg) or "off" (a goroutine per socket, one system call per packet)`)
	fs.StringVar(&c.TURNOffload, "turn-offload", turn.ModeAuto, `kernel relay of bound TURN channels (IPv4 UDP clients): "auto" (XDP on the listener's interfaces when permitted: Linux, CAP_BPF and CAP_NET_ADMIN) or "off"`)
	return fs
}

// Load reads the settings: command-line args first, then DUET_<NAME> variables from env, then the
// YAML file named by --config (or DUET_CONFIG), then the defaults.
func Load(args, env []string) (Config, error) {
	var probe Config
	pfs := flags(&probe)
	pfs.SetOutput(io.Discard)
	if err := pfs.Parse(args); err != nil {
		return Config{}, usage(pfs, err)
	}
	if pfs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q", pfs.Arg(0))
	}
	onCommandLine := map[string]bool{}
	pfs.Visit(func(f *flag.Flag) { onCommandLine[f.Name] = true })
	fromEnv := envValues(pfs, env)
	file := probe.ConfigFile
	if file == "" {
		file = fromEnv["config"]
	}

	var c Config
	fs := flags(&c)
	if file != "" {
		values, err := fileValues(file)
		if err != nil {
			return Config{}, err
		}
		for name, vs := range values {
			if fs.Lookup(name) == nil {
				return Config{}, fmt.Errorf("%s: unknown setting %q", file, name)
			}
			if onCommandLine[name] || fromEnv[name] != "" {
				continue
			}
			for _, v := range vs {
				if err := fs.Set(name, v); err != nil {
					return Config{}, fmt.Errorf("%s: %s: %w", file, name, err)
				}
			}
		}
	}
	for name, v := range fromEnv {
		if onCommandLine[name] {
			continue
		}
		for _, item := range splitList(fs, name, v) {
			if err := fs.Set(name, item); err != nil {
				return Config{}, fmt.Errorf("%s: %w", envName(name), err)
			}
		}
	}
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if len(c.Domains) > 0 {
		c.Listen = cmp.Or(c.Listen, ":443")        // a real name is served on the standard port
		c.HTTPListen = cmp.Or(c.HTTPListen, ":80") // Let's Encrypt's HTTP-01 challenge comes to port 80
	}
	c.Listen = cmp.Or(c.Listen, ":8443")
	return c, c.validate()
}

// usage turns -h into the flag list and other parse errors into one line.
func usage(fs *flag.FlagSet, err error) error {
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(os.Stderr)
		fmt.Fprintln(os.Stderr, "usage: duet [flags]   (every flag also as DUET_<NAME> or a key in --config)")
		fs.PrintDefaults()
	}
	return err
}

func envName(flagName string) string {
	return "DUET_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func envValues(fs *flag.FlagSet, env []string) map[string]string {
	byEnv := map[string]string{}
	fs.VisitAll(func(f *flag.Flag) { byEnv[envName(f.Name)] = f.Name })
	out := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if name, ok := byEnv[k]; ok && v != "" {
			out[name] = v
		}
	}
	return out
}

// repeatable flags take a comma-separated list from one environment variable.
var repeatable = map[string]bool{"turn-urls": true, "turn-allow-peer": true, "domain": true, "allowed-origin": true,
	"api-key": true, "embed-origin": true}

func splitList(fs *flag.FlagSet, name, v string) []string {
	if !repeatable[name] {
		return []string{v}
	}
	return strings.Split(v, ",")
}

// fileValues reads the YAML file as flag name → values (a list for repeatable settings).
func fileValues(path string) (map[string][]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var raw map[string]any
	if err := yaml.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := map[string][]string{}
	for k, v := range raw {
		switch v := v.(type) {
		case nil:
		case []any:
			for _, item := range v {
				out[k] = append(out[k], fmt.Sprint(item))
			}
		case map[string]any:
			return nil, fmt.Errorf("%s: %s: want a value or a list, got a mapping", path, k)
		default:
			out[k] = []string{fmt.Sprint(v)}
		}
	}
	return out, nil
}

func (c Config) validate() error {
	var errs []error
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("--tls-cert and --tls-key go together"))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("--log-format: want text or json, got %q", c.LogFormat))
	}
	if c.TURNTTL < time.Minute {
		errs = append(errs, fmt.Errorf("--turn-ttl: %v is too short for a call to connect", c.TURNTTL))
	}
	if c.TURNListen == "" && c.TURNSListen != "" {
		errs = append(errs, errors.New("--turns-listen needs the embedded relay (--turn-listen)"))
	}
	switch c.TURNSOnHTTPS {
	case "auto", "off":
	case "on":
		if c.TURNListen == "" {
			errs = append(errs, errors.New("--turns-on-https on needs the embedded relay (--turn-listen)"))
		}
	default:
		errs = append(errs, fmt.Errorf("--turns-on-https: want auto, on or off, got %q", c.TURNSOnHTTPS))
	}
	if c.TURNSListen != "" && sameListen(c.TURNSListen, c.Listen) {
		errs = append(errs, fmt.Errorf("--turns-listen %s is the HTTPS address (--listen %s): both cannot bind it; to serve TURN over TLS on the HTTPS port, drop --turns-listen and use --turns-on-https on", c.TURNSListen, c.Listen))
	}
	if len(c.Domains) == 0 && c.HTTPListen != "" {
		errs = append(errs, errors.New("--http-listen serves Let's Encrypt's challenge: it needs --domain"))
	}
	if len(c.Domains) > 0 && (c.TLSCert != "" || c.TLSKey != "") {
		errs = append(errs, errors.New("--domain gets its own certificate: drop --tls-cert/--tls-key"))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, errors.New("--shutdown-timeout must be positive"))
	}
	if c.TURNMaxAllocations < 1 || c.TURNMaxAllocPerIP < 1 || c.TURNMaxAllocTotal < 1 || c.TURNMaxTCPPerIP < 1 || c.TURNMaxTCPTotal < 1 {
		errs = append(errs, errors.New("--turn-max-allocations, --turn-max-allocations-per-ip, --turn-max-allocations-total, --turn-max-tcp-per-ip and --turn-max-tcp-total must be at least 1"))
	}
	if c.TURNTCPHandshake <= 0 || c.TURNTCPIdle <= 0 || c.TURNChannelLife <= 0 {
		errs = append(errs, errors.New("--turn-tcp-handshake-timeout, --turn-tcp-idle-timeout and --turn-channel-lifetime must be positive"))
	}
	if c.ICERate <= 0 {
		errs = append(errs, errors.New("--ice-rate must be positive"))
	}
	errs = append(errs, c.validateParts())
	if c.Rooms == signal.RoomsToken && len(c.APIKeys) == 0 {
		errs = append(errs, errors.New("--rooms token: without --api-key nobody can mint an invite"))
	}
	for _, k := range c.APIKeys {
		if len(k) < minAPIKeyLen {
			errs = append(errs, fmt.Errorf("--api-key: a key needs at least %d characters", minAPIKeyLen))
			break
		}
	}
	if c.WebhookURL == "" && c.WebhookSecret != "" {
		errs = append(errs, errors.New("--webhook-url and --webhook-secret go together"))
	}
	for _, o := range c.EmbedOrigins {
		if !isOrigin(o) {
			errs = append(errs, fmt.Errorf("--embed-origin: %q is not an origin such as https://app.example.org", o))
		}
	}
	for _, m := range []struct{ flag, mode string }{{"--turn-batch", c.TURNBatch}, {"--turn-offload", c.TURNOffload}} {
		if err := turn.CheckMode(m.mode); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", m.flag, err))
		}
	}
	return errors.Join(errs...)
}

// minAPIKeyLen keeps API keys out of guessing range.
const minAPIKeyLen = 16

// isOrigin accepts scheme://host[:port] with nothing more, as CSP and Permissions-Policy want it.
func isOrigin(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.User == nil &&
		u.Path == "" && u.RawQuery == "" && u.Fragment == "" && !strings.ContainsAny(s, " ;,'\"*")
}

// TURNSOnHTTPSPort reports whether the HTTPS port also serves TURN over TLS (--turns-on-https;
// auto is on when the embedded relay runs and the HTTPS port is 443).
func (c Config) TURNSOnHTTPSPort() bool {
	switch c.TURNSOnHTTPS {
	case "on":
		return true
	case "auto":
		_, port, err := net.SplitHostPort(c.Listen)
		return err == nil && port == "443" && c.TURNListen != ""
	}
	return false
}

// sameListen reports whether two listen addresses would bind the same TCP port: same port, and
// the same host or a wildcard on either side.
func sameListen(a, b string) bool {
	ha, pa, errA := net.SplitHostPort(a)
	hb, pb, errB := net.SplitHostPort(b)
	if errA != nil || errB != nil || pa != pb || pa == "0" {
		return false
	}
	wildcard := func(h string) bool { ip := net.ParseIP(h); return h == "" || (ip != nil && ip.IsUnspecified()) }
	return ha == hb || wildcard(ha) || wildcard(hb)
}

// Logger returns the slog logger the settings ask for, writing to w.
func (c Config) Logger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
