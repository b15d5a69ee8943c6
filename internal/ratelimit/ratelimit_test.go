package ratelimit

import (
	"net/netip"
	"testing"
	"time"
)

func TestKeyed(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	a, b := netip.MustParsePrefix("203.0.113.1/32"), netip.MustParsePrefix("2001:db8::/64")
	steps := []struct {
		key   netip.Prefix
		at    time.Duration
		ok    bool
		retry time.Duration
	}{
		{a, 0, true, 0},
		{a, 0, true, 0},
		{a, 0, true, 0},
		{a, 0, false, 500 * time.Millisecond}, // burst of 3 spent, 2 per second
		{b, 0, true, 0},                       // another address has its own bucket
		{a, 250 * time.Millisecond, false, 250 * time.Millisecond},
		{a, 500 * time.Millisecond, true, 0},
		{a, 500 * time.Millisecond, false, 500 * time.Millisecond},
	}
	p := New[netip.Prefix](2, 3)
	for i, s := range steps {
		ok, retry := p.Allow(s.key, t0.Add(s.at))
		if ok != s.ok || retry != s.retry {
			t.Errorf("step %d: allow = %v, retry %v; want %v, %v", i, ok, retry, s.ok, s.retry)
		}
	}
	// A minute later every bucket has refilled and the sweep forgets both addresses.
	if ok, _ := p.Allow(a, t0.Add(2*time.Minute)); !ok || p.Len() != 1 {
		t.Errorf("after the sweep: ok %v, %d addresses tracked, want 1", ok, p.Len())
	}
}

func TestKeyedTableIsBounded(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	p := New[netip.Prefix](1, 1)
	for i := range MaxKeys {
		key := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 32)
		if ok, _ := p.Allow(key, t0); !ok {
			t.Fatalf("address %d refused before the table is full", i)
		}
	}
	fresh := netip.MustParsePrefix("198.51.100.1/32")
	if ok, retry := p.Allow(fresh, t0); ok || retry != SweepEvery {
		t.Fatalf("a new address past the cap: ok %v retry %v, want refused until the next sweep", ok, retry)
	}
	if ok, _ := p.Allow(fresh, t0.Add(SweepEvery)); !ok || p.Len() != 1 {
		t.Fatalf("after the sweep: ok %v, %d tracked", ok, p.Len())
	}
}
