package turn

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"duet/internal/acceptlog"
	"duet/internal/duettest"
	"duet/internal/ipkey"
)

// TestAddressQuotas: allocations are capped per client address and in total, whatever the
// credentials; each refusal is a 486 counted under its own reason.
func TestAddressQuotas(t *testing.T) {
	cfg := testConfig()
	cfg.MaxAllocationsPerIP, cfg.MaxAllocationsTotal = 2, 3
	s := startServer(t, cfg)
	allocate := func(ip string, i int) error {
		u, p := creds(fmt.Sprintf("user-%s-%d", ip, i)) // a fresh credential each time
		r, err := newClientFrom(t, s, ip, "udp", u, p).Allocate()
		if err == nil {
			t.Cleanup(func() { _ = r.Close() })
		}
		return err
	}
	steps := []struct {
		ip     string
		reason string // "" = allocated
	}{
		{"127.0.0.2", ""},
		{"127.0.0.2", ""},
		{"127.0.0.2", "address"},
		{"127.0.0.3", ""},
		{"127.0.0.3", "total"},
		{"127.0.0.4", "total"},
	}
	for i, st := range steps {
		err := allocate(st.ip, i)
		if (err == nil) != (st.reason == "") || (err != nil && !strings.Contains(err.Error(), "486")) {
			t.Fatalf("step %d from %s: %v, want refused=%q (486)", i, st.ip, err, st.reason)
		}
	}
	if got := s.Stats(); got.RefusedQuotaIP != 1 || got.RefusedQuotaTotal != 2 || got.AllocationsActive != 3 {
		t.Errorf("stats %+v, want 1 refused by address, 2 by total, 3 active", got)
	}
}

func TestOwnerRoundTrip(t *testing.T) {
	for _, o := range []owner{
		{ipkey.Of(netip.MustParseAddr("203.0.113.7")), "alice"},
		{ipkey.Of(netip.MustParseAddr("2001:db8::1")), "with spaces: and colons"},
		{ipkey.Of(netip.MustParseAddr("127.0.0.1")), ""},
	} {
		if got := parseOwner(o.String()); got != o {
			t.Errorf("parseOwner(%q) = %+v, want %+v", o.String(), got, o)
		}
	}
}

// TestAcceptErrorsRetried: pion's accept loop ends on any error, so the listener must retry
// failures itself, and say so at warn level rather than per failure.
func TestAcceptErrorsRetried(t *testing.T) {
	var logs duettest.LogBuffer
	cfg := testConfig().withDefaults()
	log := slog.New(slog.NewTextHandler(&logs, nil))
	s := &Server{cfg: cfg, log: log, acceptLog: acceptlog.New(log, "turn"),
		conns: map[*turnConn]struct{}{}, tcpPerIP: map[netip.Prefix]int{}, maxTCPTotal: 10}
	real, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &guardedListener{Listener: &duettest.FailingListener{Listener: real, N: 3}, s: s}
	defer l.Close()
	go func() {
		if c, err := net.Dial("tcp", real.Addr().String()); err == nil {
			defer c.Close()
			time.Sleep(time.Second)
		}
	}()
	c, err := l.Accept()
	if err != nil {
		t.Fatalf("Accept returned %v; pion would stop accepting for good", err)
	}
	_ = c.Close()
	if got := s.Stats().AcceptErrors; got != 3 {
		t.Errorf("AcceptErrors = %d, want 3", got)
	}
	if n := strings.Count(logs.String(), "level=WARN"); n < 1 || n > 2 || !strings.Contains(logs.String(), "too many open files") {
		t.Errorf("want a warning naming the error (the failures come within a second or so), got:\n%s", logs.String())
	}
	_ = l.Close()
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept on a closed listener: %v, want net.ErrClosed", err)
	}
}

func TestSniff(t *testing.T) {
	binding := []byte{0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	channelData := []byte{0x40, 0x00, 0x00, 0x10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	tests := []struct {
		name             string
		chunks           [][]byte
		sniffed, started bool
	}{
		{"binding at once", [][]byte{binding}, true, true},
		{"binding byte by byte", splitEvery(binding, 1), true, true},
		{"binding and more", [][]byte{append(append([]byte{}, binding...), binding...)}, true, true},
		{"half a header", [][]byte{binding[:10]}, false, false},
		{"channel data first", [][]byte{channelData}, true, false},
		{"garbage", [][]byte{[]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")}, true, false},
	}
	for _, tt := range tests {
		c := &turnConn{}
		for _, b := range tt.chunks {
			if !c.sniffed {
				c.sniff(b)
			}
		}
		if c.sniffed != tt.sniffed || c.started != tt.started {
			t.Errorf("%s: sniffed %v started %v, want %v %v", tt.name, c.sniffed, c.started, tt.sniffed, tt.started)
		}
	}
}

func splitEvery(b []byte, n int) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		k := min(n, len(b))
		out = append(out, b[:k])
		b = b[k:]
	}
	return out
}

// FuzzOwner: the user part of a REST username is untrusted; whatever it holds, the owner must
// come back whole from the userID pion carries.
func FuzzOwner(f *testing.F) {
	for _, s := range []string{"", " ", "a b", "1.2.3.4/32 x", "\x00", "::/0 y"} {
		f.Add(s)
	}
	ips := []netip.Prefix{ipkey.Of(netip.MustParseAddr("203.0.113.7")), ipkey.Of(netip.MustParseAddr("2001:db8::1"))}
	f.Fuzz(func(t *testing.T, user string) {
		for _, ip := range ips {
			o := owner{ip: ip, user: user}
			if got := parseOwner(o.String()); got != o {
				t.Fatalf("parseOwner(%q) = %+v, want %+v", o.String(), got, o)
			}
		}
	})
}
