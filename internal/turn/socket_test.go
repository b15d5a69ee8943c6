package turn

import (
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
)

func TestTuneUDP(t *testing.T) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	const want = 4 << 20
	res := tuneUDP(pc, want)
	if res.err != nil {
		t.Fatalf("tuneUDP: %v", res.err)
	}
	// Only assert the full size where the kernel is known to allow it (root, or rmem_max high enough).
	if os.Geteuid() == 0 || sysctlAtLeast("/proc/sys/net/core/rmem_max", want) && sysctlAtLeast("/proc/sys/net/core/wmem_max", want) {
		if res.capped(want) {
			t.Errorf("buffers rcv=%d snd=%d, want >= %d", res.rcv, res.snd, want)
		}
	}
	if r := tuneUDP(nil, want); r.err != nil {
		t.Errorf("non-UDP conn: %v", r.err)
	}
}

func sysctlAtLeast(path string, n int) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(b)))
	return err == nil && v >= n
}

func TestToServerItself(t *testing.T) {
	own := netip.MustParseAddr("203.0.113.7")
	s := &Server{
		cfg:    Config{RelayMinPort: 49152, RelayMaxPort: 65535},
		ownIPs: map[netip.Addr]struct{}{own: {}},
	}
	tests := []struct {
		addr  string
		allow string
		want  bool
	}{
		{"203.0.113.7:3478", "", true},              // the TURN listener itself
		{"203.0.113.7:443", "", true},               // the web server
		{"[::ffff:203.0.113.7]:22", "", true},       // mapped form
		{"203.0.113.7:50000", "", false},            // another allocation: both callers on one server
		{"198.51.100.1:3478", "", false},            // somebody else
		{"203.0.113.7:443", "203.0.113.0/24", true}, // a range opened on purpose holding the server
		{"203.0.113.7:50000", "203.0.113.0/24", false},
	}
	for _, tt := range tests {
		s.cfg.AllowPeers = nil
		if tt.allow != "" {
			s.cfg.AllowPeers = []netip.Prefix{netip.MustParsePrefix(tt.allow)}
		}
		if got := s.toServerItself(net.UDPAddrFromAddrPort(netip.MustParseAddrPort(tt.addr))); got != tt.want {
			t.Errorf("toServerItself(%s, allow %q) = %v, want %v", tt.addr, tt.allow, got, tt.want)
		}
	}
}
