package offload

import (
	"errors"
	"fmt"
	"net/netip"
)

// MaxIPLen is the largest IP packet the program relays; larger ones go to user space.
const MaxIPLen = 1500

// MaxPerAllocation is how many channels of one allocation are offloaded; a browser binds one per
// peer candidate pair in use, rarely more than two.
const MaxPerAllocation = 8

var (
	// ErrUnsupported is returned by Load where there is no XDP (not Linux, or a big-endian CPU).
	ErrUnsupported = errors.New("offload: XDP is not available on this platform")
	// ErrFull is returned by Add when the maps or the allocation's share of them are full.
	ErrFull = errors.New("offload: channel table full")
	// ErrAddress is returned by Add for a channel that is not IPv4 throughout.
	ErrAddress = errors.New("offload: channel addresses must all be IPv4")
	// ErrClosed is returned by Add after Close.
	ErrClosed = errors.New("offload: closed")
	// ErrConfig is returned by Load for an invalid Config.
	ErrConfig = errors.New("offload: invalid config")
)

// Config says where to attach and how many channels the maps hold.
type Config struct {
	Interfaces  []string // interface names to attach the program to
	MaxChannels int      // channels offloaded at once, all allocations
}

func (c Config) validate() error {
	if len(c.Interfaces) == 0 {
		return fmt.Errorf("%w: no interface", ErrConfig)
	}
	if c.MaxChannels <= 0 {
		return fmt.Errorf("%w: MaxChannels %d", ErrConfig, c.MaxChannels)
	}
	return nil
}

// Channel is one bound channel of a UDP allocation, by the addresses packets carry on the wire.
type Channel struct {
	Client netip.AddrPort // the TURN client
	Server netip.AddrPort // the listener address the client sends to (and replies come from)
	Relay  netip.AddrPort // the relay socket's local address
	Peer   netip.AddrPort
	Number uint16 // 0x4000-0x7FFF
}

func (c Channel) valid() bool {
	for _, a := range []netip.AddrPort{c.Client, c.Server, c.Relay, c.Peer} {
		if !a.Addr().Is4() || a.Port() == 0 {
			return false
		}
	}
	return c.Number >= 0x4000 && c.Number <= 0x7FFF
}

// Counters are what the kernel relayed: payload bytes, as the user-space relay counts them.
type Counters struct {
	PacketsToPeers, BytesToPeers     uint64
	PacketsFromPeers, BytesFromPeers uint64
}

func (c *Counters) add(o Counters) {
	c.PacketsToPeers += o.PacketsToPeers
	c.BytesToPeers += o.BytesToPeers
	c.PacketsFromPeers += o.PacketsFromPeers
	c.BytesFromPeers += o.BytesFromPeers
}

func (c Counters) minus(o Counters) Counters {
	return Counters{c.PacketsToPeers - o.PacketsToPeers, c.BytesToPeers - o.BytesToPeers,
		c.PacketsFromPeers - o.PacketsFromPeers, c.BytesFromPeers - o.BytesFromPeers}
}
