package netlab

import (
	"fmt"
	"os"
)

// router turns r into a home router: forwarding on, and nftables rules for its kind of NAT.
func router(r Namespace, nat NAT) error {
	if err := r.Run(func() error {
		// /proc/sys/net answers for the namespace of the thread that opens it.
		return os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0)
	}); err != nil {
		return fmt.Errorf("forwarding on in %s: %w", r.Name, err)
	}
	return run(r.Command("nft", "-f", "-"), ruleset(nat))
}

// ruleset is the router's whole nftables configuration. Filtering is stateful: from the internet
// only replies to what went out come in, and nothing is opened on the router itself, so an early
// probe from a peer is dropped without leaving a conntrack entry that would move the port mapping.
func ruleset(nat NAT) string {
	masquerade := "masquerade" // the kernel keeps the source port when it can: endpoint-independent
	if nat == Symmetric {
		masquerade = "masquerade random" // a fresh random port for every new destination
	}
	udp := ""
	if nat == UDPBlocked {
		udp = `iifname "lan" meta l4proto udp drop`
	}
	return fmt.Sprintf(`table ip lab {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "wan" %s
	}
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
	}
}
`, masquerade, udp)
}
