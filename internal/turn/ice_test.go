package turn

import (
	"encoding/json"
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"
)

func TestICEServersJSON(t *testing.T) {
	now := time.Unix(1700000000, 0)
	// Expiry = now + 24h = 1700086400.
	user, pass := Credentials([]byte("north"), "u1", now.Add(24*time.Hour))
	cred := `"username":"` + user + `","credential":"` + pass + `"`
	tlsCfg := Config{Listen: ":3478", TLSListen: ":5349", Secret: []byte("north")}
	shared, err := net.Listen("tcp", "127.0.0.1:0") // stands for tlsmux's TURN side of the HTTPS port
	if err != nil {
		t.Fatal(err)
	}
	defer shared.Close()
	httpsPort := strconv.Itoa(shared.Addr().(*net.TCPAddr).Port)
	tests := []struct {
		name string
		cfg  Config
		host string
		want string
	}{
		{
			"page host",
			Config{Listen: ":3478", Secret: []byte("north")},
			"call.example.org",
			`{"iceServers":[{"urls":["stun:call.example.org:3478"]},{"urls":["turn:call.example.org:3478?transport=udp","turn:call.example.org:3478?transport=tcp"],` + cred + `}],"ttl":86400}`,
		},
		{
			"host with port is trimmed",
			Config{Listen: "0.0.0.0:3479", Secret: []byte("north")},
			"call.example.org:8443",
			`{"iceServers":[{"urls":["stun:call.example.org:3479"]},{"urls":["turn:call.example.org:3479?transport=udp","turn:call.example.org:3479?transport=tcp"],` + cred + `}],"ttl":86400}`,
		},
		{
			"public ip wins",
			Config{Listen: ":3478", Secret: []byte("north"), PublicIP: netip.MustParseAddr("203.0.113.7")},
			"call.example.org",
			`{"iceServers":[{"urls":["stun:203.0.113.7:3478"]},{"urls":["turn:203.0.113.7:3478?transport=udp","turn:203.0.113.7:3478?transport=tcp"],` + cred + `}],"ttl":86400}`,
		},
		{
			"ipv6 host gets brackets",
			Config{Listen: ":3478", Secret: []byte("north")},
			"[2001:db8::1]:443",
			`{"iceServers":[{"urls":["stun:[2001:db8::1]:3478"]},{"urls":["turn:[2001:db8::1]:3478?transport=udp","turn:[2001:db8::1]:3478?transport=tcp"],` + cred + `}],"ttl":86400}`,
		},
		{
			"ipv6 public ip",
			Config{Listen: ":3478", Secret: []byte("north"), PublicIP: netip.MustParseAddr("2001:db8::2")},
			"call.example.org",
			`{"iceServers":[{"urls":["stun:[2001:db8::2]:3478"]},{"urls":["turn:[2001:db8::2]:3478?transport=udp","turn:[2001:db8::2]:3478?transport=tcp"],` + cred + `}],"ttl":86400}`,
		},
		{
			"tls",
			tlsCfg,
			"call.example.org",
			`{"iceServers":[{"urls":["stun:call.example.org:3478"]},{"urls":["turn:call.example.org:3478?transport=udp","turn:call.example.org:3478?transport=tcp","turns:call.example.org:5349?transport=tcp"],` + cred + `}],"ttl":86400}`,
		},
		{
			// The certificate names the page host, so turns: keeps it even with a PublicIP.
			"tls with public ip",
			Config{Listen: ":3478", TLSListen: ":5349", Secret: []byte("north"), PublicIP: netip.MustParseAddr("203.0.113.7")},
			"call.example.org",
			`{"iceServers":[{"urls":["stun:203.0.113.7:3478"]},{"urls":["turn:203.0.113.7:3478?transport=udp","turn:203.0.113.7:3478?transport=tcp","turns:call.example.org:5349?transport=tcp"],` + cred + `}],"ttl":86400}`,
		},
		{
			"tls on the https port comes last",
			Config{Listen: ":3478", TLSListen: ":5349", TLSListener: shared, Secret: []byte("north"), PublicIP: netip.MustParseAddr("203.0.113.7")},
			"call.example.org",
			`{"iceServers":[{"urls":["stun:203.0.113.7:3478"]},{"urls":["turn:203.0.113.7:3478?transport=udp","turn:203.0.113.7:3478?transport=tcp","turns:call.example.org:5349?transport=tcp","turns:call.example.org:` + httpsPort + `?transport=tcp"],` + cred + `}],"ttl":86400}`,
		},
		{
			"tls on the https port, page on an address",
			Config{Listen: ":3478", TLSListener: shared, Secret: []byte("north")},
			"198.51.100.4:" + httpsPort,
			`{"iceServers":[{"urls":["stun:198.51.100.4:3478"]},{"urls":["turn:198.51.100.4:3478?transport=udp","turn:198.51.100.4:3478?transport=tcp","turns:198.51.100.4:` + httpsPort + `?transport=tcp"],` + cred + `}],"ttl":86400}`,
		},
		{
			"external urls",
			Config{Secret: []byte("north"), URLs: []string{"stun:stun.example.org:3478", "turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:443?transport=tcp"}},
			"ignored.example.org",
			`{"iceServers":[{"urls":["stun:stun.example.org:3478"]},{"urls":["turn:turn.example.org:3478?transport=udp","turns:turn.example.org:443?transport=tcp"],` + cred + `}],"ttl":86400}`,
		},
		{
			"external stun only",
			Config{URLs: []string{"stun:stun.example.org:3478"}},
			"x",
			`{"iceServers":[{"urls":["stun:stun.example.org:3478"]}],"ttl":86400}`,
		},
		{
			"disabled",
			Config{},
			"call.example.org",
			`{"iceServers":[],"ttl":86400}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.cfg.ICEServers(tt.host, "u1", now))
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.want {
				t.Errorf("got  %s\nwant %s", b, tt.want)
			}
		})
	}
}

func TestICEServersTTL(t *testing.T) {
	now := time.Unix(1700000000, 0)
	ice := Config{Listen: ":3478", Secret: []byte("s"), TTL: time.Hour}.ICEServers("h", "u", now)
	if ice.TTL != 3600 {
		t.Errorf("ttl = %d, want 3600", ice.TTL)
	}
	if want, _ := Credentials([]byte("s"), "u", now.Add(time.Hour)); ice.ICEServers[1].Username != want {
		t.Errorf("username %q, want %q", ice.ICEServers[1].Username, want)
	}
}

// FuzzICEServersHost: the host comes from the HTTP request, so any string must be handled.
func FuzzICEServersHost(f *testing.F) {
	for _, s := range []string{"call.example.org", "[::1]:443", "::1", "1.2.3.4:80", "", "[", "[]:", "fe80::1%eth0", "::ffff:1.2.3.4"} {
		f.Add(s)
	}
	cfg := Config{Listen: ":3478", TLSListen: ":5349", Secret: []byte("s")}
	f.Fuzz(func(t *testing.T, host string) {
		ice := cfg.ICEServers(host, "u", time.Unix(1700000000, 0))
		if _, err := json.Marshal(ice); err != nil {
			t.Fatal(err)
		}
		if ice.ICEServers == nil {
			t.Fatal("nil iceServers would marshal as null")
		}
	})
}
