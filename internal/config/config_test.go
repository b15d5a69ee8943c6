package config

import (
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"duet/internal/signal"
)

func TestLoadPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "duet.yaml")
	err := os.WriteFile(file, []byte(strings.Join([]string{
		"listen: ':9000'",
		"realm: from-file",
		"turn-ttl: 2h",
		"log-level: debug",
		"turn-allow-peer: [10.1.0.0/16, 10.2.0.0/16]",
	}, "\n")), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		args  []string
		env   []string
		check func(Config) bool
	}{
		{"defaults", nil, nil, func(c Config) bool {
			return c.Listen == ":8443" && c.TURNListen == ":3478" && c.RelayPorts == PortRange{49152, 65535} &&
				c.TURNTTL == 24*time.Hour && c.Realm == "duet" && c.TURNMaxAllocations == 10
		}},
		{"file", []string{"--config", file}, nil, func(c Config) bool {
			return c.Listen == ":9000" && c.Realm == "from-file" && c.TURNTTL == 2*time.Hour && c.LogLevel.String() == "DEBUG" &&
				slices.Equal(c.TURNAllowPeers, []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("10.2.0.0/16")})
		}},
		{"config file named by env", nil, []string{"DUET_CONFIG=" + file}, func(c Config) bool { return c.Realm == "from-file" }},
		{"env beats file", []string{"--config", file}, []string{"DUET_REALM=from-env", "DUET_TURN_ALLOW_PEER=127.0.0.0/8,::1/128"}, func(c Config) bool {
			return c.Realm == "from-env" && c.Listen == ":9000" &&
				slices.Equal(c.TURNAllowPeers, []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")})
		}},
		{"flags beat env", []string{"--config", file, "--realm", "from-flag", "--turn-allow-peer", "192.168.0.0/24"}, []string{"DUET_REALM=from-env", "DUET_TURN_ALLOW_PEER=127.0.0.0/8"}, func(c Config) bool {
			return c.Realm == "from-flag" && slices.Equal(c.TURNAllowPeers, []netip.Prefix{netip.MustParsePrefix("192.168.0.0/24")})
		}},
		{"typed values", []string{"--public-ip", "203.0.113.7", "--relay-ports", "50000-50100", "--turn-listen", ""}, nil, func(c Config) bool {
			return c.PublicIP == netip.MustParseAddr("203.0.113.7") && c.RelayPorts == PortRange{50000, 50100} && c.TURNListen == ""
		}},
		{"offload off by flag", []string{"--turn-offload", "off"}, nil, func(c Config) bool { return c.TURNOffload == "off" }},
		{"domain turns on the challenge listener", []string{"--domain", "a.example.org", "--domain", "b.example.org"}, nil, func(c Config) bool {
			return slices.Equal(c.Domains, []string{"a.example.org", "b.example.org"}) && c.HTTPListen == ":80" && c.Listen == ":443" && c.StateDir == "/var/lib/duet"
		}},
		{"explicit listeners kept", []string{"--domain", "a.example.org", "--http-listen", ":8080", "--listen", ":8443"}, nil, func(c Config) bool {
			return c.HTTPListen == ":8080" && c.Listen == ":8443"
		}},
		{"no domain, no http listener", nil, nil, func(c Config) bool { return c.HTTPListen == "" && c.ShutdownTimeout == 10*time.Second }},
		{"limits and origins from env", nil, []string{"DUET_ALLOWED_ORIGIN=https://a.example,https://b.example", "DUET_CONN_RATE=0.5", "DUET_MAX_CONN_PER_IP=7"}, func(c Config) bool {
			return slices.Equal(c.AllowedOrigins, []string{"https://a.example", "https://b.example"}) && c.ConnRate == 0.5 && c.MaxConnPerIP == 7 && c.EventRate == 50
		}},
		{"abuse limits, defaults from their packages", nil, nil, func(c Config) bool {
			return c.TURNMaxAllocPerIP == 64 && c.TURNMaxAllocTotal == 8192 && c.TURNMaxTCPPerIP == 64 && c.TURNMaxTCPTotal == 1024 &&
				c.TURNTCPHandshake == 5*time.Second && c.TURNTCPIdle == 10*time.Minute && c.ICERate == 1 && c.MetricsToken == "" && c.MetricsListen == ""
		}},
		{"abuse limits set", []string{"--turn-max-allocations-per-ip", "3", "--turn-tcp-idle-timeout", "1m", "--turn-channel-lifetime", "2m", "--ice-rate", "0.2",
			"--metrics-token", "t", "--metrics-listen", "127.0.0.1:9100"}, []string{"DUET_TURN_MAX_TCP_TOTAL=99"}, func(c Config) bool {
			tc, _ := c.TURN(nil, slogDiscard())
			return tc.MaxAllocationsPerIP == 3 && tc.TCPIdleTimeout == time.Minute && tc.ChannelLifetime == 2*time.Minute && tc.MaxTCPTotal == 99 &&
				c.ICERate == 0.2 && c.MetricsToken == "t" && c.MetricsListen == "127.0.0.1:9100"
		}},
		{"private rooms and integrations", []string{"--rooms", "token", "--api-key", "k-0123456789abcdef", "--embed-origin", "https://app.example.org",
			"--webhook-url", "https://hooks.example.org/duet", "--webhook-secret", "s"}, []string{"DUET_API_KEY=k-0123456789abcdef1,k-0123456789abcdef2"}, func(c Config) bool {
			return c.Rooms == signal.RoomsToken && slices.Equal(c.APIKeys, []string{"k-0123456789abcdef"}) && slices.Equal(c.EmbedOrigins, []string{"https://app.example.org"}) &&
				c.WebhookURL == "https://hooks.example.org/duet" && c.WebhookSecret == "s"
		}},
		{"api keys from env", nil, []string{"DUET_API_KEY=k-0123456789abcdef1,k-0123456789abcdef2"}, func(c Config) bool {
			return c.Rooms == signal.RoomsOpen && slices.Equal(c.APIKeys, []string{"k-0123456789abcdef1", "k-0123456789abcdef2"}) && c.InviteSecret == ""
		}},
		{"turns on https: auto is off on 8443", nil, nil, func(c Config) bool { return c.TURNSOnHTTPS == "auto" && !c.TURNSOnHTTPSPort() }},
		{"turns on https: auto is on on 443", []string{"--domain", "a.example.org"}, nil, func(c Config) bool { return c.TURNSOnHTTPSPort() }},
		{"turns on https: auto is off without the relay", []string{"--listen", ":443", "--turn-listen", ""}, nil, func(c Config) bool { return !c.TURNSOnHTTPSPort() }},
		{"turns on https: on", []string{"--turns-on-https", "on"}, nil, func(c Config) bool { return c.TURNSOnHTTPSPort() }},
		{"turns on https: off on 443", nil, []string{"DUET_LISTEN=:443", "DUET_TURNS_ON_HTTPS=off"}, func(c Config) bool { return !c.TURNSOnHTTPSPort() }},
		{"turns on another port of the same host", []string{"--listen", "127.0.0.1:443", "--turns-listen", "127.0.0.2:443"}, nil, func(c Config) bool { return c.TURNSListen == "127.0.0.2:443" }},
		{"unrelated env ignored", nil, []string{"DUET=1", "DUET_NOPE=2", "PATH=/bin"}, func(c Config) bool { return c.Listen == ":8443" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(tt.args, tt.env)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Errorf("unexpected config: %+v", c)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"unknown flag", []string{"--nope"}, nil, "not defined"},
		{"stray argument", []string{"serve"}, nil, `unexpected argument "serve"`},
		{"cert without key", []string{"--tls-cert", "c.pem"}, nil, "go together"},
		{"bad log format", []string{"--log-format", "xml"}, nil, "--log-format"},
		{"bad port range", []string{"--relay-ports", "9-1"}, nil, "MIN-MAX"},
		{"bad public ip", []string{"--public-ip", "example.org"}, nil, "public-ip"},
		{"bad cidr in env", nil, []string{"DUET_TURN_ALLOW_PEER=10.0.0.0/99"}, "DUET_TURN_ALLOW_PEER"},
		{"ttl too short", []string{"--turn-ttl", "5s"}, nil, "too short"},
		{"turn batch unknown", []string{"--turn-batch", "on"}, nil, "--turn-batch"},
		{"turn offload unknown", []string{"--turn-offload", "on"}, nil, "--turn-offload"},
		{"turns without turn", []string{"--turn-listen", "", "--turns-listen", ":5349"}, nil, "--turns-listen"},
		{"turns on the https address", []string{"--listen", ":8443", "--turns-listen", ":8443"}, nil, "--turns-on-https on"},
		{"turns on the https port, one wildcard", []string{"--listen", "0.0.0.0:443", "--turns-listen", ":443"}, nil, "--turns-on-https on"},
		{"turns on https without turn", []string{"--turn-listen", "", "--turns-on-https", "on"}, nil, "--turns-on-https on needs"},
		{"turns on https unknown", []string{"--turns-on-https", "yes"}, nil, "want auto, on or off"},
		{"domain with certificate files", []string{"--domain", "a.example.org", "--tls-cert", "c", "--tls-key", "k"}, nil, "drop --tls-cert"},
		{"http listener without domain", []string{"--http-listen", ":80"}, nil, "needs --domain"},
		{"zero event rate", []string{"--event-rate", "0"}, nil, "--event-rate"},
		{"zero allocations per ip", []string{"--turn-max-allocations-per-ip", "0"}, nil, "--turn-max-allocations-per-ip"},
		{"zero tcp total", nil, []string{"DUET_TURN_MAX_TCP_TOTAL=0"}, "--turn-max-tcp-total"},
		{"zero idle timeout", []string{"--turn-tcp-idle-timeout", "0s"}, nil, "--turn-tcp-idle-timeout"},
		{"zero channel lifetime", []string{"--turn-channel-lifetime", "0s"}, nil, "--turn-channel-lifetime"},
		{"negative ice rate", []string{"--ice-rate", "-1"}, nil, "--ice-rate"},
		{"negative shutdown timeout", []string{"--shutdown-timeout", "-1s"}, nil, "--shutdown-timeout"},
		{"bad rooms mode", []string{"--rooms", "closed"}, nil, "open or token"},
		{"token rooms without api key", []string{"--rooms", "token"}, nil, "--rooms token"},
		{"short api key", []string{"--api-key", "short"}, nil, "--api-key"},
		{"short invite secret", []string{"--invite-secret", "short"}, nil, "--invite-secret"},
		{"webhook url without secret", []string{"--webhook-url", "https://h.example.org"}, nil, "go together"},
		{"webhook secret without url", []string{"--webhook-secret", "s"}, nil, "go together"},
		{"webhook url not http", []string{"--webhook-url", "ftp://h.example.org", "--webhook-secret", "s"}, nil, "--webhook-url"},
		{"bad redis url", []string{"--redis-url", "http://10.0.0.5:6379"}, nil, "--redis-url"},
		{"embed origin with a path", []string{"--embed-origin", "https://app.example.org/page"}, nil, "--embed-origin"},
		{"embed origin wildcard", []string{"--embed-origin", "*"}, nil, "--embed-origin"},
		{"embed origin with a quote", []string{"--embed-origin", "https://a.example.org'"}, nil, "--embed-origin"},
		{"missing file", []string{"--config", filepath.Join(dir, "absent.yaml")}, nil, "absent.yaml"},
		{"unknown key in file", []string{"--config", write("unknown.yaml", "lissen: ':1'\n")}, nil, `unknown setting "lissen"`},
		{"mapping in file", []string{"--config", write("map.yaml", "listen: {a: 1}\n")}, nil, "mapping"},
		{"bad yaml", []string{"--config", write("bad.yaml", "listen: [\n")}, nil, "bad.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.args, tt.env)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load(%v, %v) error = %v, want one containing %q", tt.args, tt.env, err, tt.want)
			}
		})
	}
}

func TestTURNSecret(t *testing.T) {
	c, err := Load([]string{"--turn-secret", "s3cret", "--public-ip", "127.0.0.1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tc, generated := c.TURN(nil, slogDiscard())
	if generated || string(tc.Secret) != "s3cret" || tc.PublicIP != netip.MustParseAddr("127.0.0.1") {
		t.Fatalf("TURN() = %+v, generated %v", tc, generated)
	}
	c.TURNSecret = ""
	a, generated := c.TURN(nil, slogDiscard())
	b, _ := c.TURN(nil, slogDiscard())
	if !generated || len(a.Secret) < 16 || string(a.Secret) == string(b.Secret) {
		t.Fatalf("generated secrets %q and %q", a.Secret, b.Secret)
	}
}

func slogDiscard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
