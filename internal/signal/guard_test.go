package signal

import (
	"net/http"
	"strings"
	"testing"

	"duet/internal/siotest"
)

func TestAllowOrigin(t *testing.T) {
	tests := []struct {
		allowed []string
		host    string
		origin  string
		want    bool
	}{
		{nil, "call.example.org", "", true}, // not a browser page
		{nil, "call.example.org", "https://call.example.org", true},
		{nil, "call.example.org:8443", "https://call.example.org:8443", true},
		{nil, "call.example.org", "https://evil.example", false},
		{nil, "call.example.org", "https://call.example.org.evil.example", false},
		{nil, "call.example.org:8443", "https://call.example.org", false},
		{nil, "call.example.org", "null", false},
		{[]string{"https://app.example.org"}, "call.example.org", "https://app.example.org", true},
		{[]string{"https://app.example.org"}, "call.example.org", "https://call.example.org", true}, // the own origin stays allowed (issue #12)
		{[]string{"https://app.example.org"}, "call.example.org", "https://other.example.org", false},
		{[]string{"*"}, "call.example.org", "https://anything.example", true},
	}
	for _, tt := range tests {
		g := newGuard(DefaultLimits(), tt.allowed)
		r := &http.Request{Host: tt.host, Header: http.Header{}}
		if tt.origin != "" {
			r.Header.Set("Origin", tt.origin)
		}
		if got := g.allowOrigin(r); got != tt.want {
			t.Errorf("allowed %v, host %s, origin %q: got %v, want %v", tt.allowed, tt.host, tt.origin, got, tt.want)
		}
	}
}

func TestGuardLimits(t *testing.T) {
	g := newGuard(Limits{ConnRate: 1, EventRate: 1, MaxConnPerIP: 3}, nil)
	req := func(ip string) *http.Request {
		return &http.Request{RemoteAddr: ip + ":40000", Host: "h", Header: http.Header{}}
	}
	// The burst is ten seconds' worth, then the rate holds; another address is untouched.
	for i := range 10 {
		if err := g.admit(req("10.0.0.1")); err != nil {
			t.Fatalf("connection %d refused: %v", i, err)
		}
	}
	if err := g.admit(req("10.0.0.1")); err != errConnRate {
		t.Fatalf("11th connection: %v, want %v", err, errConnRate)
	}
	if err := g.admit(req("10.0.0.2")); err != nil {
		t.Fatalf("another address refused: %v", err)
	}
	for range 3 {
		g.opened(clientIP(req("10.0.0.3")))
	}
	if err := g.admit(req("10.0.0.3")); err != errConnMax {
		t.Fatalf("4th open connection: %v, want %v", err, errConnMax)
	}
	g.closed(clientIP(req("10.0.0.3")))
	if err := g.admit(req("10.0.0.3")); err != nil {
		t.Fatalf("after a close: %v", err)
	}
	n := 0
	for g.event(clientIP(req("10.0.0.4"))) {
		n++
	}
	if n != 10 || !g.event(clientIP(req("10.0.0.5"))) {
		t.Fatalf("events allowed in a burst: %d, want 10", n)
	}
	r := req("10.0.0.6")
	r.Header.Set("Origin", "https://evil.example")
	if err := g.admit(r); err == nil || !strings.Contains(err.Error(), "origin") {
		t.Fatalf("cross-origin admit: %v", err)
	}
}

// TestAbuse floods from one loopback address while a call from another keeps working.
func TestAbuse(t *testing.T) {
	s, url := startServer(t, func(c *Config) { c.Limits = Limits{ConnRate: 2, EventRate: 20, MaxConnPerIP: 100} })
	from := func(ip string, s siotest.Step) siotest.Step {
		s["localAddress"] = ip
		return s
	}
	ws := []string{"websocket"}
	t.Run("connection flood", func(t *testing.T) {
		siotest.Run(t, url, 4, ws,
			siotest.Step{"connectMany": 60, "localAddress": "127.0.0.2", "min": 15, "max": 30},
			from("127.0.0.3", siotest.Connect("a")), from("127.0.0.3", siotest.Connect("b")),
			siotest.Emit("a", "join", "calm"), siotest.Expect("a", "joined", "calm", "$a"),
			siotest.Emit("b", "join", "calm"), siotest.Expect("b", "joined", "calm", "$b"),
		)
		if got := s.Stats().Limited; got < 30 {
			t.Errorf("%d connections limited, want at least 30", got)
		}
	})
	t.Run("event flood", func(t *testing.T) {
		siotest.Run(t, url, 4, ws,
			from("127.0.0.4", siotest.Connect("a")), from("127.0.0.4", siotest.Connect("b")),
			from("127.0.0.5", siotest.Connect("c")), from("127.0.0.5", siotest.Connect("d")),
			siotest.Emit("a", "join", "noisy"), siotest.Expect("a", "joined", "noisy", "$a"),
			siotest.Emit("b", "join", "noisy"), siotest.Expect("b", "joined", "noisy", "$b"),
			siotest.Expect("a", "other_joined", "noisy", "$b"), siotest.Expect("a", "otherjoin", "noisy", "$b"),
			siotest.Emit("c", "join", "quiet"), siotest.Expect("c", "joined", "quiet", "$c"),
			siotest.Emit("d", "join", "quiet"), siotest.Expect("d", "joined", "quiet", "$d"),
			siotest.Expect("c", "other_joined", "quiet", "$d"), siotest.Expect("c", "otherjoin", "quiet", "$d"),
			siotest.Step{"flood": "a", "event": "message", "args": []any{"noisy", candidate}, "count": 1000},
			siotest.Expect("a", "error", siotest.Refused("message", "rate_limited")),
			// The burst is ten seconds' worth (200); refills while the flood is processed are few.
			siotest.Step{"count": "b", "event": "message", "ms": 300, "min": 150, "max": 300},
			siotest.Step{"count": "a", "event": "error", "ms": 0, "min": 0, "max": 3},
			siotest.Emit("c", "message", "quiet", offer), siotest.Expect("d", "message", "quiet", offer),
		)
	})
	t.Run("cross-origin", func(t *testing.T) {
		// Only the polling transport shows the refusal's words to the client; websocket sees a 403.
		siotest.Run(t, url, 4, ws,
			siotest.Step{"connect": "x", "origin": "https://evil.example", "refused": "origin not allowed", "transports": []string{"polling"}},
			siotest.Step{"connect": "y", "origin": "https://evil.example", "refused": "websocket error"},
			siotest.Step{"connect": "a", "origin": url},
			siotest.Step{"connect": "b", "origin": url, "transports": []string{"polling"}},
		)
	})
}
