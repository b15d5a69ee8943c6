package signal

import (
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"duet/internal/ipkey"
)

// Limits are the per-IP bounds that keep one address from exhausting the server.
type Limits struct {
	ConnRate     float64 // new Socket.IO connections per second per IP, bursts of ten seconds' worth
	EventRate    float64 // events per second per IP, bursts of ten seconds' worth
	MaxConnPerIP int     // Socket.IO connections open at once per IP
}

// DefaultLimits let a household behind one NAT reload and call freely, and stop a script.
func DefaultLimits() Limits {
	return Limits{ConnRate: 2, EventRate: 50, MaxConnPerIP: 50}
}

var (
	errOrigin     = errors.New("origin not allowed: this server only accepts pages it serves itself (see --allowed-origin)")
	errConnRate   = errors.New("too many new connections from your address; wait a few seconds")
	errConnMax    = errors.New("too many open connections from your address")
	errServerFull = errors.New("the server holds as many connections as it may (--max-conns); try again later")
)

// guard enforces the origin check and the per-IP limits.
type guard struct {
	limits  Limits
	origins map[string]bool // allowed Origin values; empty means the server's own host only

	mu    sync.Mutex
	ips   map[netip.Prefix]*ipState
	sweep int // map size that triggers the next sweep of idle entries
}

type ipState struct {
	conns, events *rate.Limiter
	open          int
	seen          time.Time
}

func newGuard(l Limits, origins []string) *guard {
	g := &guard{limits: l, origins: map[string]bool{}, ips: map[netip.Prefix]*ipState{}, sweep: 1024}
	for _, o := range origins {
		g.origins[o] = true
	}
	return g
}

// allowOrigin accepts requests without Origin (not from a browser page), from the server's own
// host, or from an origin listed with --allowed-origin ("*" for any).
func (g *guard) allowOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || g.origins["*"] || g.origins[origin] {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == r.Host
}

// admit checks a new connection's handshake request.
func (g *guard) admit(r *http.Request) error {
	if !g.allowOrigin(r) {
		return errOrigin
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	st := g.state(clientIP(r))
	if st.open >= g.limits.MaxConnPerIP {
		return errConnMax
	}
	if !st.conns.Allow() {
		return errConnRate
	}
	return nil
}

// opened and closed count the connections an IP holds.
func (g *guard) opened(ip netip.Prefix) {
	g.mu.Lock()
	g.state(ip).open++
	g.mu.Unlock()
}

func (g *guard) closed(ip netip.Prefix) {
	g.mu.Lock()
	g.state(ip).open--
	g.mu.Unlock()
}

// event reports whether ip may send one more event now.
func (g *guard) event(ip netip.Prefix) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.state(ip).events.Allow()
}

// state returns ip's entry (the caller holds mu), dropping idle entries now and then so the map
// stays as small as the set of active addresses.
func (g *guard) state(ip netip.Prefix) *ipState {
	now := time.Now()
	st, ok := g.ips[ip]
	if !ok {
		if len(g.ips) >= g.sweep {
			for k, v := range g.ips {
				if v.open == 0 && now.Sub(v.seen) > time.Minute {
					delete(g.ips, k)
				}
			}
			g.sweep = max(1024, 2*len(g.ips))
		}
		st = &ipState{
			conns:  rate.NewLimiter(rate.Limit(g.limits.ConnRate), burst(g.limits.ConnRate)),
			events: rate.NewLimiter(rate.Limit(g.limits.EventRate), burst(g.limits.EventRate)),
		}
		g.ips[ip] = st
	}
	st.seen = now
	return st
}

func burst(perSecond float64) int { return max(1, int(10*perSecond)) }

// clientIP is the limits' key of the TCP peer (an IPv6 peer counts as its /64); duet does not trust
// forwarding headers.
func clientIP(r *http.Request) netip.Prefix { return ipkey.OfHostPort(r.RemoteAddr) }
