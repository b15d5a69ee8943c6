package turn

import (
	"crypto/tls"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	cert := &tls.Config{Certificates: []tls.Certificate{{}}}
	base := Config{Listen: ":3478", Secret: []byte("s")}
	tests := []struct {
		name    string
		mod     func(*Config)
		wantErr string // "" = valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"disabled needs nothing", func(c *Config) { *c = Config{} }, ""},
		{"external stun only needs no secret", func(c *Config) { *c = Config{URLs: []string{"stun:stun.example.org"}} }, ""},
		{"external turn needs secret", func(c *Config) { *c = Config{URLs: []string{"turn:t.example.org"}} }, "Secret is empty"},
		{"empty secret", func(c *Config) { c.Secret = nil }, "Secret is empty"},
		{"listen without port", func(c *Config) { c.Listen = "3478" }, "Listen"},
		{"listen bad port", func(c *Config) { c.Listen = ":70000" }, "bad port"},
		{"port range inverted", func(c *Config) { c.RelayMinPort, c.RelayMaxPort = 60000, 50000 }, "min > max"},
		{"min above default max ok", func(c *Config) { c.RelayMinPort = 65535 }, ""},
		{"single port range", func(c *Config) { c.RelayMinPort, c.RelayMaxPort = 50000, 50000 }, ""},
		{"tls without cert", func(c *Config) { c.TLSListen = ":5349" }, "certificate"},
		{"tls with cert", func(c *Config) { c.TLSListen, c.TLSConfig = ":5349", cert }, ""},
		{"tls without listen", func(c *Config) { c.Listen, c.TLSListen, c.TLSConfig = "", ":5349", cert }, "needs Listen"},
		{"public ip unspecified", func(c *Config) { c.PublicIP = netip.IPv4Unspecified() }, "PublicIP"},
		{"public ip multicast", func(c *Config) { c.PublicIP = netip.MustParseAddr("224.0.0.1") }, "PublicIP"},
		{"public ip with zone", func(c *Config) { c.PublicIP = netip.MustParseAddr("fe80::1%eth0") }, "zone"},
		{"negative ttl", func(c *Config) { c.TTL = -time.Second }, "TTL"},
		{"bad url scheme", func(c *Config) { c.URLs = []string{"http://x"} }, "URL"},
		{"negative quota", func(c *Config) { c.MaxAllocations = -1 }, "MaxAllocations"},
		{"negative buffer", func(c *Config) { c.SocketBuffer = -1 }, "SocketBuffer"},
		{"offload off", func(c *Config) { c.Offload = ModeOff }, ""},
		{"offload unknown", func(c *Config) { c.Offload = "on" }, "Offload"},
		{"negative per-IP quota", func(c *Config) { c.MaxAllocationsPerIP = -1 }, "MaxAllocationsPerIP"},
		{"negative total quota", func(c *Config) { c.MaxAllocationsTotal = -1 }, "MaxAllocationsTotal"},
		{"negative TCP per IP", func(c *Config) { c.MaxTCPPerIP = -1 }, "MaxTCPPerIP"},
		{"negative TCP total", func(c *Config) { c.MaxTCPTotal = -1 }, "MaxTCPTotal"},
		{"negative idle", func(c *Config) { c.TCPIdleTimeout = -time.Second }, "TCP timeouts"},
		{"invalid allow prefix", func(c *Config) { c.AllowPeers = []netip.Prefix{{}} }, "AllowPeers"},
		{"batch off", func(c *Config) { c.Batch = ModeOff }, ""},
		{"batch unknown", func(c *Config) { c.Batch = "on" }, "Batch"},
		{"quote in realm", func(c *Config) { c.Realm = `a"b` }, "Realm"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base
			tt.mod(&c)
			err := c.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one mentioning %q", err, tt.wantErr)
			}
		})
	}
}

func TestValidateReportsAll(t *testing.T) {
	err := Config{Listen: ":3478", RelayMinPort: 2, RelayMaxPort: 1}.Validate()
	for _, want := range []string{"Secret", "min > max"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %q", err, want)
		}
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	if _, err := New(Config{Listen: ":3478"}); err == nil {
		t.Error("New accepted a config without secret")
	}
	if s, err := New(Config{}); err == nil || !strings.Contains(err.Error(), "Listen") {
		t.Errorf("New without Listen = %v, %v; want an error naming Listen", s, err)
	}
}
