// XDP program of package offload: relays TURN ChannelData of bound channels (IPv4 UDP) in the
// kernel. Anything it is not sure about goes to the network stack (XDP_PASS) and so to pion.
//go:build ignore

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

// Larger IP packets stay in user space (see MaxIPLen in offload.go).
#define MAX_IP_LEN 1500

// Client → peer: ChannelData from a client to the listener, by its channel number.
struct c2p_key {
	__be32 client_ip, server_ip;
	__be16 client_port, server_port;
	__be16 channel;
	__u16 pad;
};

struct c2p_val {
	__be32 relay_ip, peer_ip;
	__be16 relay_port, peer_port;
	__u32 slot; // index into counters
};

// Peer → client: a datagram from the peer to the relay socket.
struct p2c_key {
	__be32 peer_ip, relay_ip;
	__be16 peer_port, relay_port;
};

struct p2c_val {
	__be32 server_ip, client_ip;
	__be16 server_port, client_port;
	__be16 channel;
	__u16 pad;
	__u32 slot;
};

// Where an address was last heard from: the interface and both MAC addresses, learnt from packets
// that matched a channel, so replies need no route lookup (bpf_fib_lookup wants IP forwarding on).
struct neighbor {
	__u32 ifindex;
	__u8 own[ETH_ALEN];  // this host's MAC on ifindex
	__u8 next[ETH_ALEN]; // the next hop's MAC toward the address
};

struct counters {
	__u64 to_peer_packets, to_peer_bytes;     // payload bytes, as user space counts them
	__u64 from_peer_packets, from_peer_bytes;
};

// max_entries are set by the loader from the channel bound.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct c2p_key);
	__type(value, struct c2p_val);
	__uint(max_entries, 1);
} to_peer SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct p2c_key);
	__type(value, struct p2c_val);
	__uint(max_entries, 1);
} to_client SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, __be32);
	__type(value, struct neighbor);
	__uint(max_entries, 1);
} neighbors SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct counters);
	__uint(max_entries, 1);
} channel_counters SEC(".maps");

struct headers {
	struct ethhdr eth;
	struct iphdr ip;
	struct udphdr udp;
} __attribute__((packed));

static __always_inline __u16 fold(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)((sum & 0xffff) + (sum >> 16));
}

static __always_inline int mac_equal(const __u8 *a, const __u8 *b)
{
	__u8 diff = 0;
	for (int i = 0; i < ETH_ALEN; i++)
		diff |= a[i] ^ b[i];
	return !diff;
}

// learn records where the source of a packet that matched a channel is reached.
static __always_inline void learn(struct xdp_md *ctx, struct headers *h)
{
	__be32 ip = h->ip.saddr;
	struct neighbor n = {.ifindex = ctx->ingress_ifindex};
	__builtin_memcpy(n.own, h->eth.h_dest, ETH_ALEN);
	__builtin_memcpy(n.next, h->eth.h_source, ETH_ALEN);
	struct neighbor *old = bpf_map_lookup_elem(&neighbors, &ip);
	if (old && old->ifindex == n.ifindex && mac_equal(old->own, n.own) && mac_equal(old->next, n.next))
		return;
	bpf_map_update_elem(&neighbors, &ip, &n, BPF_ANY);
}

// What the UDP checksum covers and the relay changes: the pseudo header's addresses, the ports,
// the length (in the pseudo header and the UDP header) and the 4-byte ChannelData header, which is
// all zeros on the side without one.
struct csum_words {
	__be32 saddr, daddr;
	__be16 sport, dport;
	__be16 len, len_again;
	__be16 channel, channel_len;
};

// csum_update is the UDP checksum after replacing from by to (RFC 1624): the sender's checksum
// carried over, so a datagram damaged on the way in stays detectably damaged. No checksum stays none.
static __always_inline __u16 csum_update(__u16 old, struct csum_words *from, struct csum_words *to)
{
	if (!old)
		return 0;
	__u16 c = ~fold(bpf_csum_diff((__be32 *)from, sizeof(*from), (__be32 *)to, sizeof(*to), (__u16)~old));
	return c ? c : 0xffff;
}

// finish writes the IPv4 header checksum and the MAC addresses of the rewritten packet and sends it
// out toward n.
static __always_inline int finish(struct xdp_md *ctx, struct neighbor *n)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct headers *h = data;
	if ((void *)(h + 1) > end)
		return XDP_ABORTED;

	h->ip.check = 0;
	h->ip.check = ~fold(bpf_csum_diff(0, 0, data + sizeof(struct ethhdr), sizeof(struct iphdr), 0));
	__builtin_memcpy(h->eth.h_dest, n->next, ETH_ALEN);
	__builtin_memcpy(h->eth.h_source, n->own, ETH_ALEN);
	if (n->ifindex == ctx->ingress_ifindex)
		return XDP_TX;
	return bpf_redirect(n->ifindex, 0);
}

// partial_checksum reports a UDP checksum field holding only the pseudo header's sum: a sender on
// this host (over veth, say) left the checksum for offload to finish, so it cannot be carried over,
// and the socket buffer's note of where to finish it would not follow the headers this program
// moves. Such datagrams stay with the stack and pion; a genuine checksum looks the same once in
// 65536 datagrams and goes there too.
static __always_inline int partial_checksum(struct headers *h)
{
	struct {
		__be32 saddr, daddr;
		__u8 zero, proto;
		__be16 len;
	} pseudo = {h->ip.saddr, h->ip.daddr, 0, IPPROTO_UDP, h->udp.len};
	__u16 sum = fold(bpf_csum_diff(0, 0, (__be32 *)&pseudo, sizeof(pseudo), 0));
	return h->udp.check == sum;
}

static __always_inline void count(__u32 slot, int to_peer, __u64 bytes)
{
	struct counters *c = bpf_map_lookup_elem(&channel_counters, &slot);
	if (!c)
		return;
	if (to_peer) {
		c->to_peer_packets++;
		c->to_peer_bytes += bytes;
	} else {
		c->from_peer_packets++;
		c->from_peer_bytes += bytes;
	}
}

// relay_to_peer strips the 4-byte ChannelData header and readdresses relay → peer.
static __always_inline int relay_to_peer(struct xdp_md *ctx, struct headers *h, struct c2p_val *v, __u16 len)
{
	learn(ctx, h);
	struct neighbor *n = bpf_map_lookup_elem(&neighbors, &v->peer_ip);
	if (!n)
		return XDP_PASS; // the peer has not been heard from yet: pion sends this one
	struct neighbor out = *n;
	__u32 slot = v->slot;
	struct headers hdr = *h;
	hdr.ip.saddr = v->relay_ip;
	hdr.ip.daddr = v->peer_ip;
	hdr.udp.source = v->relay_port;
	hdr.udp.dest = v->peer_port;

	hdr.ip.tot_len = bpf_htons(sizeof(struct iphdr) + sizeof(struct udphdr) + len);
	hdr.ip.ttl = 64;
	hdr.udp.len = bpf_htons(sizeof(struct udphdr) + len);
	struct csum_words from = {h->ip.saddr, h->ip.daddr, h->udp.source, h->udp.dest, h->udp.len, h->udp.len, 0, 0};
	__builtin_memcpy(&from.channel, (void *)(h + 1), 4);
	struct csum_words to = {hdr.ip.saddr, hdr.ip.daddr, hdr.udp.source, hdr.udp.dest, hdr.udp.len, hdr.udp.len, 0, 0};
	hdr.udp.check = csum_update(h->udp.check, &from, &to);
	if (bpf_xdp_adjust_head(ctx, 4))
		return XDP_PASS;
	void *data = (void *)(long)ctx->data;
	if (data + sizeof(hdr) > (void *)(long)ctx->data_end)
		return XDP_ABORTED;
	__builtin_memcpy(data, &hdr, sizeof(hdr));
	int act = finish(ctx, &out);
	if (act == XDP_TX || act == XDP_REDIRECT)
		count(slot, 1, len);
	return act;
}

// relay_to_client prepends the ChannelData header and readdresses listener → client.
static __always_inline int relay_to_client(struct xdp_md *ctx, struct headers *h, struct p2c_val *v, __u16 len)
{
	learn(ctx, h);
	struct neighbor *n = bpf_map_lookup_elem(&neighbors, &v->client_ip);
	if (!n)
		return XDP_PASS;
	struct neighbor out = *n;
	__u32 mtu = 0;
	if (bpf_check_mtu(ctx, out.ifindex, &mtu, 4, 0))
		return XDP_PASS; // 4 bytes more do not fit: pion sends it (and the kernel fragments it)
	__u32 slot = v->slot;
	__u16 channel = v->channel;
	struct headers hdr = *h;
	hdr.ip.saddr = v->server_ip;
	hdr.ip.daddr = v->client_ip;
	hdr.udp.source = v->server_port;
	hdr.udp.dest = v->client_port;

	hdr.ip.tot_len = bpf_htons(sizeof(struct iphdr) + sizeof(struct udphdr) + 4 + len);
	hdr.ip.ttl = 64;
	hdr.udp.len = bpf_htons(sizeof(struct udphdr) + 4 + len);
	struct csum_words from = {h->ip.saddr, h->ip.daddr, h->udp.source, h->udp.dest, h->udp.len, h->udp.len, 0, 0};
	struct csum_words to = {hdr.ip.saddr, hdr.ip.daddr, hdr.udp.source, hdr.udp.dest, hdr.udp.len, hdr.udp.len,
				channel, bpf_htons(len)};
	hdr.udp.check = csum_update(h->udp.check, &from, &to);
	if (bpf_xdp_adjust_head(ctx, -4))
		return XDP_PASS;
	void *data = (void *)(long)ctx->data;
	if (data + sizeof(hdr) + 4 > (void *)(long)ctx->data_end)
		return XDP_ABORTED;
	__builtin_memcpy(data, &hdr, sizeof(hdr));
	__be16 *ch = data + sizeof(hdr);
	ch[0] = channel;
	ch[1] = bpf_htons(len);
	int act = finish(ctx, &out);
	if (act == XDP_TX || act == XDP_REDIRECT)
		count(slot, 0, len);
	return act;
}

SEC("xdp")
int turn_offload(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct headers *h = data;
	if ((void *)(h + 1) > end)
		return XDP_PASS;
	if (h->eth.h_proto != bpf_htons(ETH_P_IP) || h->ip.version != 4 || h->ip.ihl != 5 ||
	    h->ip.protocol != IPPROTO_UDP || (h->ip.frag_off & bpf_htons(0x3fff)))
		return XDP_PASS; // not IPv4 UDP without options, or a fragment
	__u16 ip_len = bpf_ntohs(h->ip.tot_len);
	if (ip_len > MAX_IP_LEN || end - (void *)&h->ip != ip_len)
		return XDP_PASS; // trailing bytes (Ethernet padding) or a truncated packet
	__u16 udp_len = bpf_ntohs(h->udp.len);
	if (udp_len != ip_len - sizeof(struct iphdr))
		return XDP_PASS;

	if (partial_checksum(h))
		return XDP_PASS;

	struct p2c_key pk = {.peer_ip = h->ip.saddr, .relay_ip = h->ip.daddr,
			     .peer_port = h->udp.source, .relay_port = h->udp.dest};
	struct p2c_val *pv = bpf_map_lookup_elem(&to_client, &pk);
	if (pv)
		return relay_to_client(ctx, h, pv, udp_len - sizeof(struct udphdr));

	__u8 *cd = (void *)(h + 1);
	if ((void *)(cd + 4) > end)
		return XDP_PASS;
	if ((cd[0] & 0xc0) != 0x40)
		return XDP_PASS; // not ChannelData (numbers 0x4000-0x7FFF)
	__u16 len = (__u16)cd[2] << 8 | cd[3];
	if (len != udp_len - sizeof(struct udphdr) - 4)
		return XDP_PASS; // padded or malformed: pion decides
	struct c2p_key ck = {.client_ip = h->ip.saddr, .server_ip = h->ip.daddr,
			     .client_port = h->udp.source, .server_port = h->udp.dest};
	__builtin_memcpy(&ck.channel, cd, 2);
	struct c2p_val *cv = bpf_map_lookup_elem(&to_peer, &ck);
	if (!cv)
		return XDP_PASS;
	return relay_to_peer(ctx, h, cv, len);
}
