package netlab

import (
	"fmt"
	"net/netip"
	"os"
)

// router turns r into h's router: forwarding on, and nftables rules for its NAT and filter.
func router(r Namespace, h Home, v6 bool) error {
	forwarding := "/proc/sys/net/ipv4/ip_forward"
	if v6 {
		forwarding = "/proc/sys/net/ipv6/conf/all/forwarding"
	}
	if err := r.Run(func() error {
		// /proc/sys/net answers for the namespace of the thread that opens it.
		return os.WriteFile(forwarding, []byte("1"), 0)
	}); err != nil {
		return fmt.Errorf("forwarding on in %s: %w", r.Name, err)
	}
	return run(r.Command("nft", "-f", "-"), ruleset(h, v6))
}

// cloudRouter turns r into a cloud's 1:1 NAT: what comes to public from the internet goes to
// private, what private sends out leaves from public. Like the clouds' own, it does not hairpin: a
// packet from private to public reaches the router itself, which drops it.
func cloudRouter(r Namespace, public, private netip.Addr) error {
	if err := r.Run(func() error { return os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0) }); err != nil {
		return fmt.Errorf("forwarding on in %s: %w", r.Name, err)
	}
	return run(r.Command("nft", "-f", "-"), fmt.Sprintf(`table ip lab {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		iifname "wan" ip daddr %[1]s dnat to %[2]s
	}
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "wan" ip saddr %[2]s snat to %[1]s
	}
	chain input {
		type filter hook input priority filter; policy drop;
		ct state established,related accept
		meta l4proto icmp accept
	}
}
`, public, private))
}

// ruleset is the router's whole nftables configuration. Filtering is stateful: from the internet
// only replies to what went out come in, and nothing is opened on the router itself, so an early
// probe from a peer is dropped without leaving a conntrack entry that would move the port mapping.
func ruleset(h Home, v6 bool) string {
	family, icmp := "ip", "icmp"
	if v6 {
		// Neighbour discovery and path MTU are ICMPv6: without them nothing works.
		family, icmp = "ip6", "icmpv6"
	}
	nats := map[NAT]string{
		EndpointIndependent: "masquerade",        // the kernel keeps the source port when it can
		Symmetric:           "masquerade random", // a fresh random port for every new destination
	}
	postrouting := ""
	if m, ok := nats[h.NAT]; ok {
		postrouting = fmt.Sprintf(`chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "wan" %s
	}`, m)
	}
	udp := ""
	if h.BlockUDP {
		udp = `iifname "lan" meta l4proto udp drop`
	}
	if h.OnlyTCP443 {
		udp += `
		iifname "lan" oifname "wan" tcp dport 443 accept
		iifname "lan" oifname "wan" drop`
	}
	return fmt.Sprintf(`table %s lab {
	%s
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
		%s
		iifname "lan" oifname "wan" accept
	}
	chain input {
		type filter hook input priority filter; policy drop;
		ct state established,related accept
		iifname { "lo", "lan" } accept
		meta l4proto %s accept
	}
}
`, family, postrouting, udp, icmp)
}
