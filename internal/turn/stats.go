package turn

import "sync/atomic"

// Stats is a snapshot of the server's counters.
type Stats struct {
	AllocationsActive int64  // relay sockets open now
	AllocationsTotal  uint64 // relay sockets ever opened
	RefusedAuth       uint64 // requests with bad, expired or malformed credentials
	RefusedQuota      uint64 // allocations over the per-credential quota
	RefusedQuotaIP    uint64 // allocations over the per-address quota
	RefusedQuotaTotal uint64 // allocations over the server's total
	TCPOpen           int64  // TURN TCP/TLS connections open now
	RefusedTCPPerIP   uint64 // TCP/TLS connections closed at once: too many from the address
	RefusedTCPTotal   uint64 // TCP/TLS connections closed at once: too many in all
	AcceptErrors      uint64 // failed accepts on the TCP/TLS listeners (e.g. out of file descriptors)
	RefusedPeer       uint64 // CreatePermission/ChannelBind to a denied peer
	DroppedToServer   uint64 // client packets aimed at the server's own non-relay ports
	DroppedFast       uint64 // datagrams the fast path dropped: a queue for pion full, or a send refused
	BytesToPeers      uint64 // payload bytes relayed client → peer
	PacketsToPeers    uint64
	BytesFromPeers    uint64 // payload bytes received from peers on relay sockets
	PacketsFromPeers  uint64

	FastChannels int // channels the fast path (Config.Batch) relays now; its packets count above

	// Relayed by the kernel (Config.Offload), not counted above: payload bytes as above.
	OffloadChannels         int // channels in the kernel's maps now
	OffloadBytesToPeers     uint64
	OffloadPacketsToPeers   uint64
	OffloadBytesFromPeers   uint64
	OffloadPacketsFromPeers uint64
}

// counters are the live atomics behind Stats; hot paths only do Add.
type counters struct {
	allocActive       atomic.Int64
	allocTotal        atomic.Uint64
	refusedAuth       atomic.Uint64
	refusedQuota      atomic.Uint64
	refusedQuotaIP    atomic.Uint64
	refusedQuotaTotal atomic.Uint64
	tcpOpen           atomic.Int64
	refusedTCPPerIP   atomic.Uint64
	refusedTCPTotal   atomic.Uint64
	acceptErrors      atomic.Uint64
	refusedPeer       atomic.Uint64
	droppedToServer   atomic.Uint64
	droppedFast       atomic.Uint64
	bytesToPeers      atomic.Uint64
	packetsToPeers    atomic.Uint64
	bytesFromPeers    atomic.Uint64
	packetsFromPeers  atomic.Uint64

	offloadBytesToPeers     atomic.Uint64
	offloadPacketsToPeers   atomic.Uint64
	offloadBytesFromPeers   atomic.Uint64
	offloadPacketsFromPeers atomic.Uint64
}

func (c *counters) snapshot() Stats {
	return Stats{
		AllocationsActive: c.allocActive.Load(),
		AllocationsTotal:  c.allocTotal.Load(),
		RefusedAuth:       c.refusedAuth.Load(),
		RefusedQuota:      c.refusedQuota.Load(),
		RefusedQuotaIP:    c.refusedQuotaIP.Load(),
		RefusedQuotaTotal: c.refusedQuotaTotal.Load(),
		TCPOpen:           c.tcpOpen.Load(),
		RefusedTCPPerIP:   c.refusedTCPPerIP.Load(),
		RefusedTCPTotal:   c.refusedTCPTotal.Load(),
		AcceptErrors:      c.acceptErrors.Load(),
		RefusedPeer:       c.refusedPeer.Load(),
		DroppedToServer:   c.droppedToServer.Load(),
		DroppedFast:       c.droppedFast.Load(),
		BytesToPeers:      c.bytesToPeers.Load(),
		PacketsToPeers:    c.packetsToPeers.Load(),
		BytesFromPeers:    c.bytesFromPeers.Load(),
		PacketsFromPeers:  c.packetsFromPeers.Load(),

		OffloadBytesToPeers:     c.offloadBytesToPeers.Load(),
		OffloadPacketsToPeers:   c.offloadPacketsToPeers.Load(),
		OffloadBytesFromPeers:   c.offloadBytesFromPeers.Load(),
		OffloadPacketsFromPeers: c.offloadPacketsFromPeers.Load(),
	}
}
