// Package fastpath relays the channel data of bound TURN channels in user space with one goroutine.
// One epoll set of its own watches the client-facing UDP listener and every relay socket (taken
// over from Go's poller, which only watches the set); recvmmsg reads what is ready; ChannelData on a known channel leaves through its relay
// socket toward the peer, and a known peer's datagram leaves through the listener as ChannelData,
// each run of packets to one socket in one sendmmsg. Everything else (STUN, Send and Data
// indications, channels not known yet) is queued for pion, which reads the sockets through the
// Conns this package hands out and writes to them directly.
//
// Why: with a goroutine per socket, each packet woke a goroutine and moved it between threads,
// and those wake-ups, not pion's parsing, were what made the relay cost more than coturn per
// packet. One goroutine for every socket wakes once per burst and moves it in a few system calls.
// It is the user-space twin of package offload: the same channel events feed both.
package fastpath

import (
	"errors"
	"net/netip"
)

// Bounds. A Conn queues at most its queue's length for pion, each packet in a pooled PacketSize
// buffer; while a queue is full the loop stops reading that socket, and the kernel's socket buffer
// holds what arrives (Config.SocketBuffer of package turn), as it would without the loop.
const (
	// PacketSize is the longest datagram read; pion reads 1600 bytes at most and drops longer ones.
	PacketSize = 2048
	// ListenerQueue is the listener's queue for pion (every client's STUN and unknown channels).
	ListenerQueue = 1024
	// RelayQueue is a relay socket's queue for pion (Data indications, peers without a channel).
	RelayQueue = 32
	// batch is how many datagrams one recvmmsg reads, and how many the loop holds before it sends.
	batch = 64
)

var (
	// ErrUnsupported is returned by New where there is no epoll or recvmmsg (not Linux).
	ErrUnsupported = errors.New("fastpath: not available on this platform")
	// ErrUnknownRelay is returned by Add for a relayed address no Conn of this Loop holds.
	ErrUnknownRelay = errors.New("fastpath: no relay socket on that port")
	// ErrAddress is returned by Add for an address the socket's family cannot reach.
	ErrAddress = errors.New("fastpath: address of the wrong family")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("fastpath: closed")
)

// Channel is one bound channel of a UDP allocation, as pion reports it.
type Channel struct {
	Client netip.AddrPort // the TURN client, as the listener sees it
	Relay  netip.AddrPort // the allocation's relayed address, as given to Loop.Relay
	Peer   netip.AddrPort
	Number uint16 // 0x4000-0x7FFF
	// Hairpin: Peer is a relayed address of this server (both callers on the relay). The loop
	// hands the data to that allocation's client directly when it has a channel back, instead of
	// sending it out and reading it again; otherwise pion relays it with its own rules.
	Hairpin bool
}

// Counters are what the loop relayed itself (payload bytes, as pion's path counts them) and what it
// dropped: sends the kernel refused (no route, a full socket buffer).
type Counters struct {
	PacketsToPeers, BytesToPeers     uint64
	PacketsFromPeers, BytesFromPeers uint64
	Dropped                          uint64
}
