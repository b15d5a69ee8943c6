package turn

import (
	"log/slog"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/pion/turn/v5"

	"duet/internal/pionlog"
)

var testSecret = []byte("test-secret-not-for-production")

func testLogger() *slog.Logger {
	// Logging into t after a test ends panics, and pion logs from its own goroutines.
	if os.Getenv("TURN_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: pionlog.LevelTrace}))
	}
	return slog.New(slog.DiscardHandler)
}

// testConfig is a loopback server that may relay to 127.0.0.0/8.
func testConfig() Config {
	return Config{
		Listen:     "127.0.0.1:0",
		PublicIP:   netip.MustParseAddr("127.0.0.1"),
		Secret:     testSecret,
		AllowPeers: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		Logger:     testLogger(),
		Batch:      os.Getenv(testBatchEnv), // "" = auto; TestSuiteWithoutBatching sets "off"
	}
}

func startServer(t *testing.T, c Config) *Server {
	t.Helper()
	s, err := New(c)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// creds returns fresh REST credentials for user, valid for an hour.
func creds(user string) (string, string) {
	return Credentials(testSecret, user, time.Now().Add(time.Hour))
}

// newClient connects a pion TURN client to s over "udp" or "tcp", from 127.0.0.1.
func newClient(t *testing.T, s *Server, network, username, password string) *turn.Client {
	t.Helper()
	return newClientFrom(t, s, "127.0.0.1", network, username, password)
}

// newClientFrom is newClient from the loopback address ip.
func newClientFrom(t *testing.T, s *Server, ip, network, username, password string) *turn.Client {
	t.Helper()
	udpAddr, tcpAddr := s.Addr()
	var (
		conn   net.PacketConn
		server string
	)
	switch network {
	case "udp":
		pc, err := net.ListenPacket("udp4", ip+":0")
		if err != nil {
			t.Fatal(err)
		}
		conn, server = pc, udpAddr.String()
	case "tcp":
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
		c, err := d.Dial("tcp", tcpAddr.String())
		if err != nil {
			t.Fatal(err)
		}
		conn, server = turn.NewSTUNConn(c), tcpAddr.String()
	default:
		t.Fatalf("bad network %q", network)
	}
	c, err := turn.NewClient(&turn.ClientConfig{
		STUNServerAddr: server,
		TURNServerAddr: server,
		Conn:           conn,
		Username:       username,
		Password:       password,
		RTO:            200 * time.Millisecond,
		LoggerFactory:  pionlog.New(testLogger(), slog.LevelWarn),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		_ = conn.Close()
	})
	return c
}
