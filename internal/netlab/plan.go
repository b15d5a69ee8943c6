package netlab

import (
	"fmt"
	"net/netip"
	"os"
)

// plan numbers the lab, in one family. IPv4 uses only 198.18.0.0/15: the internet is
// 198.18.0.0/24 (duet .2, router N .1N), home N's network 198.19.N.0/24 (router .1, home .2).
// IPv6 uses only 2001:db8::/32 the same way: 2001:db8::/64, and 2001:db8:N::/64 per home.
type plan struct{ v6 bool }

func (p plan) addr(net, host int) netip.Addr {
	if p.v6 {
		return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, byte(net), 15: byte(host)})
	}
	return netip.AddrFrom4([4]byte{198, 18 + byte(min(net, 1)), byte(net), byte(host)})
}

func (p plan) prefix(net, host int) netip.Prefix {
	bits := 24
	if p.v6 {
		bits = 64
	}
	return netip.PrefixFrom(p.addr(net, host), bits)
}

// all holds every address of the lab.
func (p plan) all() netip.Prefix {
	if p.v6 {
		return netip.MustParsePrefix("2001:db8::/32")
	}
	return netip.MustParsePrefix("198.18.0.0/15")
}

// internet is duet's address on the internet segment.
func (p plan) internet() netip.Prefix       { return p.prefix(0, 2) }
func (p plan) routerWAN(i int) netip.Prefix { return p.prefix(0, 0x11+i) }
func (p plan) routerLAN(i int) netip.Prefix { return p.prefix(1+i, 1) }
func (p plan) home(i int) netip.Prefix      { return p.prefix(1+i, 2) }

// renumbered is router i's second public address (Lab.Renumber): .4N, apart from every first one.
func (p plan) renumbered(i int) netip.Prefix { return p.prefix(0, 0x41+i) }

// A cloud's private network, behind its 1:1 NAT: 198.19.100.0/24, router .1, duet .2.
func (p plan) cloudLAN() netip.Prefix     { return p.prefix(100, 1) }
func (p plan) cloudPrivate() netip.Prefix { return p.prefix(100, 2) }

// sysctls settle n's IPv6 before any interface exists: off in an IPv4 lab, and in an IPv6 one
// without duplicate address detection, so addresses are usable at once and no browser sees its
// network change under it (the lab's addresses are unique by construction).
func (p plan) sysctls(n Namespace) error {
	set := map[string]string{"disable_ipv6": "1"}
	if p.v6 {
		set = map[string]string{"accept_dad": "0", "accept_ra": "0"}
	}
	return n.Run(func() error {
		for key, v := range set {
			for _, scope := range []string{"all", "default"} {
				if err := os.WriteFile("/proc/sys/net/ipv6/conf/"+scope+"/"+key, []byte(v), 0); err != nil {
					return fmt.Errorf("%s: %w", n.Name, err)
				}
			}
		}
		return nil
	})
}
