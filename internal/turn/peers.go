package turn

import (
	"net"
	"net/netip"
)

// deniedPeers is the only deny-list: relaying to these would let a TURN user
// reach the server's own host or private networks (SSRF) or spray multicast.
// IPv4-mapped IPv6 addresses are unmapped before the lookup, so they hit the IPv4 rows.
var deniedPeers = []struct {
	prefix netip.Prefix
	why    string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "this network; 0.0.0.0 reaches local services"},
	{netip.MustParsePrefix("10.0.0.0/8"), "RFC 1918 private"},
	{netip.MustParsePrefix("100.64.0.0/10"), "RFC 6598 carrier-grade NAT shared space"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local, includes cloud metadata 169.254.169.254"},
	{netip.MustParsePrefix("172.16.0.0/12"), "RFC 1918 private"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignments (incl. 192.0.0.192 OCI metadata)"},
	{netip.MustParsePrefix("192.0.2.0/24"), "TEST-NET-1 documentation"},
	{netip.MustParsePrefix("192.88.99.0/24"), "deprecated 6to4 relay anycast"},
	{netip.MustParsePrefix("192.168.0.0/16"), "RFC 1918 private"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking, used inside some clouds"},
	{netip.MustParsePrefix("198.51.100.0/24"), "TEST-NET-2 documentation"},
	{netip.MustParsePrefix("203.0.113.0/24"), "TEST-NET-3 documentation"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved, includes broadcast 255.255.255.255"},
	{netip.MustParsePrefix("::/128"), "IPv6 unspecified"},
	{netip.MustParsePrefix("::1/128"), "IPv6 loopback"},
	{netip.MustParsePrefix("::/96"), "deprecated IPv4-compatible IPv6, can embed any IPv4"},
	{netip.MustParsePrefix("::ffff:0:0:0/96"), "SIIT IPv4-translated (RFC 6145), translates to any IPv4 incl. private"},
	{netip.MustParsePrefix("64:ff9b::/96"), "NAT64 well-known prefix, translates to any IPv4 incl. private"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "local-use NAT64"},
	{netip.MustParsePrefix("100::/64"), "discard-only"},
	{netip.MustParsePrefix("2001::/32"), "Teredo, embeds an arbitrary IPv4 address"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation"},
	{netip.MustParsePrefix("2002::/16"), "6to4, embeds an arbitrary IPv4 address"},
	{netip.MustParsePrefix("fc00::/7"), "unique local addresses (ULA)"},
	{netip.MustParsePrefix("fe80::/10"), "IPv6 link-local"},
	{netip.MustParsePrefix("fec0::/10"), "deprecated site-local"},
	{netip.MustParsePrefix("ff00::/8"), "IPv6 multicast"},
}

// peerAllowed reports whether relaying to ip is permitted: AllowPeers wins, then the deny-list.
func peerAllowed(ip netip.Addr, allow []netip.Prefix) bool {
	if !ip.IsValid() {
		return false
	}
	ip = ip.Unmap().WithZone("")
	for _, p := range allow {
		if p.Contains(ip) {
			return true
		}
	}
	for _, d := range deniedPeers {
		if d.prefix.Contains(ip) {
			return false
		}
	}
	return true
}

// netIPAddr converts pion's net.IP (4- or 16-byte) into a netip.Addr.
func netIPAddr(ip net.IP) netip.Addr {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return netip.Addr{}
	}
	return a.Unmap()
}
