// Package ipkey names what a per-client limit counts against: an IPv4 address, or an IPv6 /64,
// since one IPv6 host is commonly given a whole /64 and could otherwise pick a fresh address per try.
package ipkey

import (
	"net"
	"net/netip"
)

// Of returns the key of a; the zero Prefix for an invalid address.
func Of(a netip.Addr) netip.Prefix {
	a = a.Unmap().WithZone("")
	bits := 32
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return p
}

// OfAddr returns the key of a TCP or UDP address.
func OfAddr(addr net.Addr) netip.Prefix {
	switch a := addr.(type) {
	case *net.TCPAddr:
		return Of(a.AddrPort().Addr())
	case *net.UDPAddr:
		return Of(a.AddrPort().Addr())
	}
	return netip.Prefix{}
}

// OfHostPort returns the key of an "ip:port" string such as http.Request.RemoteAddr.
func OfHostPort(s string) netip.Prefix {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return netip.Prefix{}
	}
	return Of(ap.Addr())
}
