package turn

import (
	"net"
	"net/netip"
	"testing"
)

func TestPeerAllowed(t *testing.T) {
	loop := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	lan := []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("fd00:1::/32")}
	tests := []struct {
		ip    string
		allow []netip.Prefix
		want  bool
	}{
		{"8.8.8.8", nil, true},
		{"1.1.1.1", nil, true},
		{"2001:4860:4860::8888", nil, true},
		{"127.0.0.1", nil, false},
		{"127.255.255.254", nil, false},
		{"0.0.0.0", nil, false},
		{"10.0.0.1", nil, false},
		{"172.16.0.1", nil, false},
		{"172.31.255.255", nil, false},
		{"172.32.0.1", nil, true},
		{"192.168.1.1", nil, false},
		{"100.64.0.1", nil, false},
		{"100.127.255.255", nil, false},
		{"100.128.0.1", nil, true},
		{"169.254.169.254", nil, false},
		{"224.0.0.251", nil, false},
		{"239.255.255.250", nil, false},
		{"255.255.255.255", nil, false},
		{"198.18.0.1", nil, false},
		{"::", nil, false},
		{"::1", nil, false},
		{"::ffff:127.0.0.1", nil, false},
		{"::ffff:10.0.0.1", nil, false},
		{"::ffff:8.8.8.8", nil, true},
		{"::127.0.0.1", nil, false},
		{"64:ff9b::a00:1", nil, false},
		{"2002:a00:1::1", nil, false},
		{"fc00::1", nil, false},
		{"fd12:3456::1", nil, false},
		{"fe80::1", nil, false},
		{"fe80::1%eth0", nil, false},
		{"ff02::1", nil, false},
		{"2001:db8::1", nil, false},
		{"::ffff:0:a00:1", nil, false},      // SIIT IPv4-translated 10.0.0.1
		{"::ffff:0:808:808", nil, false},    // SIIT, even for a public IPv4: never a browser's address
		{"2001:0:4136:e378::1", nil, false}, // Teredo
		{"2001:0:ffff::1", nil, false},
		{"2001:1::1", nil, true}, // just past Teredo's /32
		// AllowPeers opens a range on purpose, mapped forms included.
		{"127.0.0.1", loop, true},
		{"::ffff:127.0.0.1", loop, true},
		{"10.0.0.1", loop, false},
		{"10.1.2.3", lan, true},
		{"10.2.0.1", lan, false},
		{"fd00:1::5", lan, true},
		{"fd00:2::5", lan, false},
	}
	for _, tt := range tests {
		if got := peerAllowed(netip.MustParseAddr(tt.ip), tt.allow); got != tt.want {
			t.Errorf("peerAllowed(%s, %v) = %v, want %v", tt.ip, tt.allow, got, tt.want)
		}
	}
	if peerAllowed(netip.Addr{}, nil) {
		t.Error("the zero Addr must be refused")
	}
}

// pion hands the permission handler 4- and 16-byte net.IPs; both must hit the same rows.
func TestNetIPAddr(t *testing.T) {
	for _, ip := range []net.IP{net.IPv4(10, 0, 0, 1), net.IPv4(10, 0, 0, 1).To4(), net.ParseIP("::ffff:10.0.0.1")} {
		if got := netIPAddr(ip); got != netip.MustParseAddr("10.0.0.1") {
			t.Errorf("netIPAddr(%v) = %v", ip, got)
		}
	}
	if netIPAddr(net.IP{1, 2, 3}).IsValid() {
		t.Error("a 3-byte IP must not convert")
	}
}

func TestDeniedPeersTable(t *testing.T) {
	for _, d := range deniedPeers {
		if !d.prefix.IsValid() || d.prefix != d.prefix.Masked() || d.why == "" {
			t.Errorf("bad row %v %q", d.prefix, d.why)
		}
	}
}
