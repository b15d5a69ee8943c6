// Package netlab builds a network lab out of Linux network namespaces, for tests that must show a
// browser finds its own way to duet through NAT and firewalls. It needs root; only tests import it.
//
// One lab, every namespace named after a prefix unique to the lab (P below), addresses IPv4 or,
// with Config.IPv6, IPv6 only:
//
//	        P-pub  duet 198.18.0.2 | 2001:db8::2 (HTTPS :8443, TURN :3478)
//	          │ veth
//	        P-net  bridge br0: "the internet", 198.18.0.0/24 | 2001:db8::/64
//	   ┌──────┴──────┐ veth     wan: 198.18.0.17, .18, … | 2001:db8::11, ::12, …
//	P-rtr1        P-rtr2        nftables: NAT kind of the Home, stateful filter
//	   │ veth or wire│          lan: 198.19.N.1/24 | 2001:db8:N::1/64
//	P-home1       P-home2       a browser at 198.19.N.2 | 2001:db8:N::2, default route via its router
//
// A Home's NAT kind decides its router's rules: EndpointIndependent keeps the source port for every
// destination; Symmetric picks a new random port per destination (nft "masquerade random");
// Routed translates nothing and the internet has a route to the home (IPv6 homes). Filtering is
// stateful on every router: only replies to what went out come in; BlockUDP lets no UDP out, OnlyTCP443 nothing but TCP to port 443. A Home with a Link gets, instead of a veth to its router, a
// wire: two TUN devices joined by this process, which drops and delays packets (the kernel here
// has no netem).
//
// With Config.CloudNAT duet's namespace holds only a private address, 198.19.100.2, behind P-cloud at
// 198.18.0.2, which maps that public address to it 1:1 both ways and, like the clouds' NAT, does not
// hairpin: what duet sends to its own public address is lost.
//
// Nothing in the lab is linked to the machine's own namespace, so no packet can leave it: IPv4
// addresses are only from 198.18.0.0/15 (the benchmarking range), IPv6 ones from 2001:db8::/32
// (documentation), and the routers have no default route. A failed set-up and the end of the test
// delete every namespace (t.Cleanup); a new lab deletes those of test processes that died first.
package netlab
