package web

import (
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxBuckets caps the per-address table: past it, new addresses are refused until a sweep frees
// room, so a flood of addresses costs a bounded amount of memory.
const maxBuckets = 1 << 16

// sweepEvery is how often buckets that have refilled (clients gone quiet) are dropped.
const sweepEvery = time.Minute

// perIP is a token bucket per client address key (see ipkey).
type perIP struct {
	rate  rate.Limit
	burst int

	mu      sync.Mutex
	buckets map[netip.Prefix]*rate.Limiter
	swept   time.Time
}

// newPerIP allows perSecond per address, in bursts of burst.
func newPerIP(perSecond float64, burst int) *perIP {
	return &perIP{rate: rate.Limit(perSecond), burst: max(burst, 1), buckets: map[netip.Prefix]*rate.Limiter{}}
}

// allow takes a token for key at now; if there is none it says how long until there is.
func (p *perIP) allow(key netip.Prefix, now time.Time) (ok bool, retryAfter time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if now.Sub(p.swept) >= sweepEvery {
		p.sweep(now)
	}
	b := p.buckets[key]
	if b == nil {
		if len(p.buckets) >= maxBuckets {
			return false, sweepEvery
		}
		b = rate.NewLimiter(p.rate, p.burst)
		p.buckets[key] = b
	}
	if b.AllowN(now, 1) {
		return true, 0
	}
	missing := 1 - b.TokensAt(now)
	return false, time.Duration(missing / float64(p.rate) * float64(time.Second))
}

// sweep drops full buckets: a new one for the same address would be identical. p.mu is held.
func (p *perIP) sweep(now time.Time) {
	p.swept = now
	for k, b := range p.buckets {
		if b.TokensAt(now) >= float64(p.burst) {
			delete(p.buckets, k)
		}
	}
}

// size is the number of addresses tracked (tests).
func (p *perIP) size() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.buckets)
}
