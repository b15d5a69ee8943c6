// Package ratelimit is a token bucket per key (a client address, a room), in a table of bounded size.
package ratelimit

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// MaxKeys caps the table: past it, new keys are refused until a sweep frees room, so a flood of
// addresses (or room names) costs a bounded amount of memory.
const MaxKeys = 1 << 16

// SweepEvery is how often buckets that have refilled (clients gone quiet) are dropped.
const SweepEvery = time.Minute

// Keyed is a token bucket per key, safe for concurrent use.
type Keyed[K comparable] struct {
	rate  rate.Limit
	burst int

	mu      sync.Mutex
	buckets map[K]*rate.Limiter
	swept   time.Time
}

// New allows perSecond per key, in bursts of burst.
func New[K comparable](perSecond float64, burst int) *Keyed[K] {
	return &Keyed[K]{rate: rate.Limit(perSecond), burst: max(burst, 1), buckets: map[K]*rate.Limiter{}}
}

// allow takes a token for key at now; if there is none it says how long until there is.
func (p *Keyed[K]) Allow(key K, now time.Time) (ok bool, retryAfter time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if now.Sub(p.swept) >= SweepEvery {
		p.sweep(now)
	}
	b := p.buckets[key]
	if b == nil {
		if len(p.buckets) >= MaxKeys {
			return false, SweepEvery
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
func (p *Keyed[K]) sweep(now time.Time) {
	p.swept = now
	for k, b := range p.buckets {
		if b.TokensAt(now) >= float64(p.burst) {
			delete(p.buckets, k)
		}
	}
}

// Len is the number of keys tracked.
func (p *Keyed[K]) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.buckets)
}
