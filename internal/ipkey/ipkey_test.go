package ipkey

import (
	"net"
	"net/netip"
	"testing"
)

func TestOf(t *testing.T) {
	tests := []struct{ addr, want string }{
		{"203.0.113.7", "203.0.113.7/32"},
		{"::ffff:203.0.113.7", "203.0.113.7/32"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"::1", "::/64"},
	}
	for _, tt := range tests {
		if got := Of(netip.MustParseAddr(tt.addr)); got.String() != tt.want {
			t.Errorf("Of(%s) = %s, want %s", tt.addr, got, tt.want)
		}
	}
	if Of(netip.Addr{}).IsValid() {
		t.Error("the zero Addr has no key")
	}
}

func TestOfAddrAndHostPort(t *testing.T) {
	want := netip.MustParsePrefix("2001:db8::/64")
	for _, a := range []net.Addr{
		&net.TCPAddr{IP: net.ParseIP("2001:db8::9"), Port: 1},
		&net.UDPAddr{IP: net.ParseIP("2001:db8::a"), Port: 2},
	} {
		if got := OfAddr(a); got != want {
			t.Errorf("OfAddr(%v) = %v", a, got)
		}
	}
	if got := OfHostPort("[2001:db8::b]:443"); got != want {
		t.Errorf("OfHostPort = %v", got)
	}
	for _, bad := range []string{"", "nonsense", "2001:db8::b"} {
		if OfHostPort(bad).IsValid() {
			t.Errorf("OfHostPort(%q) is valid", bad)
		}
	}
	if OfAddr(&net.IPAddr{IP: net.IPv4(1, 2, 3, 4)}).IsValid() {
		t.Error("an IPAddr has no port and no key")
	}
}
