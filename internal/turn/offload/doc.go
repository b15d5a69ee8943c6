// Package offload relays TURN ChannelData of bound channels in the kernel, with an XDP program
// (offload.c, compiled by bpf2go into the committed bpf_bpfel.o; `go generate` with clang rebuilds it).
//
// For each channel the user-space relay adds two entries: client → peer, keyed by the client's
// address, the listener's and the channel number, where the program strips the 4-byte ChannelData
// header and readdresses the datagram from the relay socket to the peer; and peer → client, keyed
// by the peer's address and the relay socket's, where it prepends the header and readdresses it from
// the listener to the client. Everything else (STUN, padded or malformed ChannelData, fragments, IP
// options, IPv6, TCP and TLS clients, packets over MaxIPLen, datagrams to a neighbor not heard from
// yet) passes to the network stack and so to the user-space relay, which keeps permissions and quotas.
//
// XDP, not TC: the program only needs the packet and redirects it before any socket-buffer work,
// which is the point of offloading. Because bpf_fib_lookup requires IP forwarding on the interface,
// the program learns the way back instead: the interface and MAC addresses of each address whose
// packets matched a channel (a forged source on the same link can only mislead the relay's own
// channels, as it could in user space). On veth devices it attaches in generic (SKB) mode: native
// veth XDP drops redirected frames unless the far end has NAPI on, which this host cannot check.
// Checksums: the IPv4 header's is written anew; the UDP one is the sender's, updated for what the
// relay changes (RFC 1624), so a datagram damaged on the way in stays detectably damaged and one
// without a checksum (0) stays without. A datagram whose checksum a sender on this host left for
// offload to finish (a container over veth) passes to the stack: there is no checksum to carry over
// yet, and the socket buffer's note of where to finish it would not follow the moved headers.
//
// Bounds: the maps hold Config.MaxChannels channels (two hash entries and one per-CPU counter slot
// each) and twice as many neighbors (LRU); an allocation offloads at most MaxPerAllocation channels,
// the rest stay in user space.
package offload
