// Package netlab builds a network lab out of Linux network namespaces, for tests that must show a
// browser finds its own way to duet through NAT and firewalls. It needs root; only tests import it.
//
// One lab, every namespace named after a prefix unique to the test (P below):
//
//	        P-pub  duet 198.18.0.2 (HTTPS :8443, TURN :3478)
//	          │ veth
//	        P-net  bridge br0, 198.18.0.0/24: "the internet"
//	   ┌──────┴──────┐ veth        routers' wan 198.18.0.11, .12, …
//	P-rtr1         P-rtr2          nftables: masquerade (kind per Home), stateful filter
//	   │ veth or wire │           lan 198.19.N.1/24
//	P-home1        P-home2         Chromium 198.19.N.2, default route via its router
//
// A Home's NAT kind decides its router's rules: EndpointIndependent keeps the source port for every
// destination; Symmetric picks a new random port per destination (nft "masquerade random");
// UDPBlocked is EndpointIndependent that drops all forwarded UDP. A Home with a Link gets, instead
// of a veth to its router, a wire: two TUN devices joined by this process, which drops and delays
// packets (the kernel here has no netem). Filtering is the kernel's stateful one on every router:
// only replies to what went out come in.
//
// Nothing in the lab is linked to the machine's own namespace, so no packet can leave it: addresses
// are only from 198.18.0.0/15 (the benchmarking range) and the routers have no default route.
// Set-up failures and the end of the test delete every namespace (t.Cleanup).
package netlab
