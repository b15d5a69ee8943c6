package turn

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/pion/turn/v5"

	"duet/internal/pionlog"
	"duet/internal/tlsmux"
)

func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func TestTLSAllocation(t *testing.T) {
	cfg := testConfig()
	cfg.TLSListen = "127.0.0.1:0"
	cfg.TLSConfig = &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}}
	s := startServer(t, cfg)

	conn, err := tls.Dial("tcp", s.TLSAddr().String(), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // self-signed test cert
	if err != nil {
		t.Fatal(err)
	}
	u, p := creds("tls")
	c, err := turn.NewClient(&turn.ClientConfig{
		STUNServerAddr: s.TLSAddr().String(),
		TURNServerAddr: s.TLSAddr().String(),
		Conn:           turn.NewSTUNConn(conn),
		Username:       u,
		Password:       p,
		LoggerFactory:  pionlog.New(testLogger(), slog.LevelWarn),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	defer conn.Close()
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	relayToPeer(t, c, 'T', 'p', nil)
}

// TestTLSOnSharedPort: TURN over TLS on a port tlsmux shares with a web server allocates and
// relays, keeps the web side served, and stays under the per-address cap and the first-message
// deadline like the TURN-owned listeners.
func TestTLSOnSharedPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := tlsmux.New(ln, tlsmux.Config{TLS: &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}, NextProtos: []string{"http/1.1"}}, Logger: testLogger()})
	go func() { _ = mux.Serve() }()
	t.Cleanup(func() { _ = mux.Close() })
	web := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "page") })}
	go func() { _ = web.Serve(mux.Web()) }()
	t.Cleanup(func() { _ = web.Close() })

	cfg := testConfig()
	cfg.TLSListener = mux.TURN()
	cfg.MaxTCPPerIP = 2
	cfg.TCPHandshakeTimeout = 300 * time.Millisecond
	s := startServer(t, cfg)
	addr := ln.Addr().String()
	dial := func(alpn ...string) *tls.Conn {
		t.Helper()
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: alpn}) //nolint:gosec // self-signed test cert
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}

	// Browsers offer no ALPN for TURN over TLS: the first byte sorts the connection.
	for _, alpn := range [][]string{nil, {tlsmux.ALPN}} {
		conn := dial(alpn...)
		u, p := creds("shared")
		c, err := turn.NewClient(&turn.ClientConfig{
			STUNServerAddr: addr,
			TURNServerAddr: addr,
			Conn:           turn.NewSTUNConn(conn),
			Username:       u,
			Password:       p,
			LoggerFactory:  pionlog.New(testLogger(), slog.LevelWarn),
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Listen(); err != nil {
			t.Fatal(err)
		}
		relayToPeer(t, c, 'S', 'q', nil)
		c.Close()
		_ = conn.Close()
	}

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // self-signed test cert
	res, err := client.Get("https://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != "page" {
		t.Fatalf("web side answered %q", body)
	}

	// Two silent TLS connections fill the address's cap: a third is closed at once, and the
	// silent ones are closed when their first-message deadline passes.
	waitFor(t, "earlier TURN connections closed", func() bool { return s.Stats().TCPOpen == 0 })
	silent := []*tls.Conn{dial(tlsmux.ALPN), dial(tlsmux.ALPN)}
	waitFor(t, "two connections admitted", func() bool { return s.Stats().TCPOpen == 2 })
	third := dial(tlsmux.ALPN)
	if _, err := third.Read(make([]byte, 1)); err == nil {
		t.Error("a third connection from the address was served")
	}
	for _, c := range silent {
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Error("a silent connection got an answer")
		}
	}
	waitFor(t, "silent connections closed", func() bool { return s.Stats().TCPOpen == 0 })
	if got := s.Stats().RefusedTCPPerIP; got != 1 {
		t.Errorf("RefusedTCPPerIP = %d, want 1", got)
	}
}
