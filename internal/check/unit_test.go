package check

import (
	"encoding/base64"
	"errors"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestTarget(t *testing.T) {
	tests := []struct {
		in, base, host, port string
		bad                  bool
	}{
		{in: "call.example.org", base: "https://call.example.org", host: "call.example.org", port: "443"},
		{in: "https://call.example.org/room.html?room=x", base: "https://call.example.org", host: "call.example.org", port: "443"},
		{in: "https://127.0.0.1:8443", base: "https://127.0.0.1:8443", host: "127.0.0.1", port: "8443"},
		{in: "https://[::1]:8443/", base: "https://[::1]:8443", host: "::1", port: "8443"},
		{in: "http://call.example.org", bad: true},
		{in: "https://", bad: true},
	}
	for _, tt := range tests {
		base, host, port, err := target(tt.in)
		if (err != nil) != tt.bad || (!tt.bad && (base != tt.base || host != tt.host || port != tt.port)) {
			t.Errorf("target(%q) = %q %q %q %v", tt.in, base, host, port, err)
		}
	}
}

func TestParseArgsRoom(t *testing.T) {
	o, err := parseArgs([]string{"call.example.org", "--json", "--call-seconds", "0.5"}, io.Discard)
	if err != nil || !o.json || o.callTime != 500*time.Millisecond || !roomName.MatchString(o.room) || o.timeout != 10*time.Second {
		t.Fatalf("%+v %v", o, err)
	}
	o2, _ := parseArgs([]string{"call.example.org"}, io.Discard)
	if o.room == o2.room {
		t.Errorf("two runs share room %q", o.room)
	}
}

func TestParseICEURL(t *testing.T) {
	tests := []struct {
		in                    string
		host, port, transport string
		kind                  string
		turn                  bool
		bad                   bool
	}{
		{in: "stun:203.0.113.7:3478", host: "203.0.113.7", port: "3478", transport: "udp", kind: "UDP"},
		{in: "stun:stun.example.org", host: "stun.example.org", port: "3478", transport: "udp", kind: "UDP"},
		{in: "turn:203.0.113.7:3478?transport=udp", host: "203.0.113.7", port: "3478", transport: "udp", kind: "UDP", turn: true},
		{in: "turn:203.0.113.7:3478?transport=tcp", host: "203.0.113.7", port: "3478", transport: "tcp", kind: "TCP", turn: true},
		{in: "turns:call.example.org:5349?transport=tcp", host: "call.example.org", port: "5349", transport: "tcp", kind: "TLS", turn: true},
		{in: "turns:call.example.org", host: "call.example.org", port: "5349", transport: "tcp", kind: "TLS", turn: true},
		{in: "turn:[2001:db8::1]:3478", host: "2001:db8::1", port: "3478", transport: "udp", kind: "UDP", turn: true},
		{in: "stun:host:3478?transport=tcp", bad: true},
		{in: "turn:host:3478?transport=sctp", bad: true},
		{in: "http://host", bad: true},
		{in: "turn::3478", bad: true},
		{in: "turn:host:99999", bad: true},
	}
	for _, tt := range tests {
		u, err := parseICEURL(tt.in)
		if (err != nil) != tt.bad {
			t.Errorf("%s: err %v", tt.in, err)
			continue
		}
		if !tt.bad && (u.host != tt.host || u.port != tt.port || u.transport != tt.transport || u.kind() != tt.kind || u.turn != tt.turn) {
			t.Errorf("%s: %+v kind %s", tt.in, u, u.kind())
		}
	}
}

func TestValidateICE(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	user := strconv.FormatInt(now.Add(24*time.Hour).Unix(), 10) + ":Q2X"
	cred := base64.StdEncoding.EncodeToString(make([]byte, 20))
	entry := func(username, credential string, urls ...string) iceServer {
		return iceServer{URLs: urls, Username: username, Credential: credential}
	}
	good := entry(user, cred, "turn:203.0.113.7:3478?transport=udp", "turn:203.0.113.7:3478?transport=tcp")
	stunOnly := entry("", "", "stun:203.0.113.7:3478")
	tests := []struct {
		name    string
		servers iceServers
		says    string // "" = valid
	}{
		{"duet's default answer", iceServers{[]iceServer{stunOnly, good}, 86400}, ""},
		{"relay disabled: empty list", iceServers{[]iceServer{}, 86400}, ""},
		{"ttl zero", iceServers{[]iceServer{good}, 0}, "ttl is 0 s"},
		{"ttl of a year", iceServers{[]iceServer{good}, 365 * 86400}, "--turn-ttl"},
		{"expired", iceServers{[]iceServer{entry(strconv.FormatInt(now.Add(-time.Hour).Unix(), 10)+":u", cred, "turn:h")}, 86400}, "expired 1h0m0s ago"},
		{"username without expiry", iceServers{[]iceServer{entry("alice", cred, "turn:h")}, 86400}, "not expiry:user"},
		{"username without user", iceServers{[]iceServer{entry("1900000000:", cred, "turn:h")}, 86400}, "not expiry:user"},
		{"credential not base64", iceServers{[]iceServer{entry(user, "pass word", "turn:h")}, 86400}, "not base64"},
		{"credential a plain password", iceServers{[]iceServer{entry(user, "c2VjcmV0", "turn:h")}, 86400}, "not base64 of an HMAC-SHA1"},
		{"turn without credentials", iceServers{[]iceServer{entry("", "", "turn:h")}, 86400}, "no username or credential"},
		{"bad url", iceServers{[]iceServer{entry("", "", "stun:")}, 86400}, "bad host"},
		{"no urls", iceServers{[]iceServer{{}}, 86400}, "no urls"},
	}
	for _, tt := range tests {
		err := validateICE(&tt.servers, now)
		if tt.says == "" && err != nil || tt.says != "" && (err == nil || !strings.Contains(err.Error(), tt.says)) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.says)
		}
	}
}

func TestJudgeRelay(t *testing.T) {
	addrs := func(s ...string) []netip.Addr {
		var out []netip.Addr
		for _, a := range s {
			out = append(out, netip.MustParseAddr(a))
		}
		return out
	}
	tests := []struct {
		name     string
		relayed  string
		server   []netip.Addr
		turnHost []netip.Addr
		external bool
		says     []string // nil = passes
	}{
		{name: "public, the server's own", relayed: "198.51.100.7:50000", server: addrs("198.51.100.7", "2001:db8::7")},
		{name: "loopback test server", relayed: "127.0.0.1:50000", server: addrs("127.0.0.1")},
		{name: "LAN server", relayed: "192.168.1.10:50000", server: addrs("192.168.1.10")},
		{name: "cloud NAT: private relay, public server", relayed: "172.31.5.9:50000", server: addrs("198.51.100.7"),
			says: []string{"172.31.5.9:50000", "classic cloud-NAT mistake", "--public-ip 198.51.100.7"}},
		{name: "another public address", relayed: "198.51.100.99:50000", server: addrs("198.51.100.7"),
			says: []string{"--public-ip is probably wrong", "--public-ip 198.51.100.7"}},
		{name: "loopback server, other loopback relay", relayed: "127.0.0.2:50000", server: addrs("127.0.0.1"),
			says: []string{"--public-ip is probably wrong", "--public-ip 127.0.0.1"}},
		{name: "CGNAT relay", relayed: "100.64.1.1:50000", server: addrs("198.51.100.7"), says: []string{"cloud-NAT"}},
		{name: "external relay at its own address", relayed: "192.0.2.44:50000", server: addrs("198.51.100.7"),
			turnHost: addrs("192.0.2.44"), external: true},
		{name: "external relay behind NAT", relayed: "10.0.0.4:50000", server: addrs("198.51.100.7"),
			turnHost: addrs("192.0.2.44"), external: true, says: []string{"external-ip=192.0.2.44"}},
		{name: "embedded relay named by the wrong public IP", relayed: "192.0.2.44:50000", server: addrs("198.51.100.7"),
			turnHost: addrs("192.0.2.44"), says: []string{"--public-ip 198.51.100.7"}},
	}
	for _, tt := range tests {
		err := judgeRelay(netip.MustParseAddrPort(tt.relayed), tt.server, tt.turnHost, tt.external)
		if tt.says == nil {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		var p *problem
		if !errors.As(err, &p) {
			t.Errorf("%s: %v, want a problem", tt.name, err)
			continue
		}
		for _, w := range tt.says {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not say %q", tt.name, err, w)
			}
		}
	}
}

func TestLine(t *testing.T) {
	tests := []struct {
		step Step
		want string
	}{
		{Step{Name: "DNS", OK: true, MS: 12, Detail: "a → 1.2.3.4"}, "✓ DNS               12 ms  a → 1.2.3.4"},
		{Step{Name: "TURN over UDP", MS: 10000, Detail: "no answer from 203.0.113.7:3478 over UDP",
			Cause: "UDP 3478 is probably blocked by a firewall or security group", Fix: "open UDP 3478"},
			"✗ TURN over UDP    10.0 s  no answer from 203.0.113.7:3478 over UDP — UDP 3478 is probably blocked by a firewall or security group: open UDP 3478"},
		{Step{Name: "Call", Skipped: true, Detail: "skipped: no TURN relay worked"}, "– Call                     skipped: no TURN relay worked"},
	}
	for _, tt := range tests {
		if got := line(tt.step); got != tt.want {
			t.Errorf("line:\n got %q\nwant %q", got, tt.want)
		}
	}
}

// TestTransactionProblem: a relay that never answers and one that hangs up before pion retransmits
// are both "no TURN answer", explained by the transport the URL names.
func TestTransactionProblem(t *testing.T) {
	r := &run{o: options{host: "127.0.0.1", port: "8443"}}
	server := netip.MustParseAddrPort("127.0.0.1:8443")
	silent := []error{
		errors.New("all retransmissions failed for KjfDbfDSCg5PjiMs"),
		errors.New("turn: failed to retransmit transaction KjfDbfDSCg5PjiMs"),
		os.ErrDeadlineExceeded,
	}
	tests := []struct {
		url, says string
	}{
		{"turns:127.0.0.1:8443?transport=tcp", "no TURN answer from 127.0.0.1:8443 over TLS on the HTTPS port"},
		{"turns:127.0.0.1:5349?transport=tcp", "no answer from 127.0.0.1:8443 over TLS"},
		{"turn:127.0.0.1:3478?transport=udp", "no answer from 127.0.0.1:8443 over UDP"},
	}
	for _, tt := range tests {
		u, err := parseICEURL(tt.url)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range silent {
			if got := r.transactionProblem(e, u, server).Error(); !strings.HasPrefix(got, tt.says) {
				t.Errorf("%s, %v: %q, want it to start with %q", tt.url, e, got, tt.says)
			}
		}
	}
}
