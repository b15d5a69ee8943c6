package tlsmux

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"duet/internal/certs"
	"duet/internal/duettest"
)

// stunBinding is a STUN Binding request header: type 0x0001, length 0, magic cookie, transaction id.
var stunBinding = []byte{0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}

func newMux(t *testing.T, timeout time.Duration) *Mux {
	t.Helper()
	cfg, _, err := certs.Load("", "")
	if err != nil {
		t.Fatal(err)
	}
	cfg.NextProtos = []string{"h2", "http/1.1"} // as duet's web server offers them
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := New(ln, Config{TLS: cfg, HandshakeTimeout: timeout, Logger: slog.New(slog.DiscardHandler)})
	done := make(chan error, 1)
	go func() { done <- m.Serve() }()
	t.Cleanup(func() {
		m.Close()
		if err := <-done; err != ErrClosed {
			t.Errorf("Serve: %v", err)
		}
	})
	return m
}

func dial(t *testing.T, m *Mux, alpn ...string) *tls.Conn {
	t.Helper()
	c, err := tls.Dial("tcp", m.ln.Addr().String(), &tls.Config{InsecureSkipVerify: true, NextProtos: alpn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// accept takes the next connection of ln within a few seconds.
func accept(t *testing.T, ln net.Listener) net.Conn {
	t.Helper()
	got := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			got <- c
		}
	}()
	select {
	case c := <-got:
		t.Cleanup(func() { c.Close() })
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("nothing accepted")
		return nil
	}
}

func TestRoutesByALPNAndFirstByte(t *testing.T) {
	for _, tc := range []struct {
		what  string
		alpn  []string
		first []byte
		turn  bool // routed to TURN
		isTLS bool // handed over as the *tls.Conn itself
	}{
		{"ALPN stun.turn", []string{ALPN}, stunBinding, true, true},
		{"ALPN http/1.1 and stun.turn (coturn's client)", []string{"http/1.1", ALPN}, stunBinding, true, true},
		{"ALPN h2", []string{"h2", "http/1.1"}, []byte("PRI * HTTP/2.0\r\n"), false, true},
		{"ALPN http/1.1", []string{"http/1.1"}, []byte("GET / HTTP/1.1\r\n"), false, true},
		{"no ALPN, STUN", nil, stunBinding, true, false},
		{"no ALPN, HTTP", nil, []byte("GET / HTTP/1.1\r\n"), false, false},
	} {
		t.Run(tc.what, func(t *testing.T) {
			m := newMux(t, 2*time.Second)
			c := dial(t, m, tc.alpn...)
			if _, err := c.Write(tc.first); err != nil {
				t.Fatal(err)
			}
			side, other := m.Web(), m.TURN()
			if tc.turn {
				side, other = other, side
			}
			s := accept(t, side)
			if _, isTLS := s.(*tls.Conn); isTLS != tc.isTLS {
				t.Fatalf("handed a %T", s)
			}
			got := make([]byte, len(tc.first))
			if _, err := io.ReadFull(s, got); err != nil || !bytes.Equal(got, tc.first) {
				t.Fatalf("read %q, %v; want %q", got, err, tc.first)
			}
			// Both directions still work after the hand-over.
			if _, err := s.Write([]byte("pong")); err != nil {
				t.Fatal(err)
			}
			back := make([]byte, 4)
			if _, err := io.ReadFull(c, back); err != nil || string(back) != "pong" {
				t.Fatalf("client read %q, %v", back, err)
			}
			other.Close() // the other side stopping changes nothing for this one
		})
	}
}

// Connections that never finish the handshake, or never say a first byte, are closed, not held.
func TestSilentConnectionsAreClosed(t *testing.T) {
	m := newMux(t, 200*time.Millisecond)
	raw, err := net.Dial("tcp", m.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	quiet := dial(t, m) // handshake done, no ALPN, nothing sent
	for _, c := range []net.Conn{raw, quiet} {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil || isTimeout(err) {
			t.Fatalf("%T: read gave %v, want the server to close it", c, err)
		}
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// Closing one side leaves the other serving; closing both closes the port.
func TestSidesCloseApart(t *testing.T) {
	m := newMux(t, 2*time.Second)
	m.Web().Close()
	if _, err := m.Web().Accept(); err != ErrClosed {
		t.Fatalf("closed web Accept: %v", err)
	}
	c := dial(t, m, "http/1.1") // a web connection now finds nobody: closed by the mux
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("web connection to a closed side: %v", err)
	}
	d := dial(t, m, ALPN)
	d.Write(stunBinding)
	accept(t, m.TURN())
	m.TURN().Close()
	if _, err := net.Dial("tcp", m.ln.Addr().String()); err == nil {
		t.Fatal("the port still accepts with both sides closed")
	}
}

// net/http on the web side sees the TLS state and speaks HTTP/2 with clients that offer it.
func TestHTTP2OnTheWebSide(t *testing.T) {
	m := newMux(t, 2*time.Second)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			http.Error(w, "no TLS state", 500)
			return
		}
		io.WriteString(w, r.Proto)
	}), TLSConfig: m.tls}
	go srv.Serve(m.Web())
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true}}
	resp, err := client.Get("https://" + m.ln.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "HTTP/2.0" {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
}

// TestAcceptErrorsRetried: EMFILE is no timeout, yet the mux must keep serving both sides after it.
func TestAcceptErrorsRetried(t *testing.T) {
	cfg, _, err := certs.Load("", "")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := New(&duettest.FailingListener{Listener: ln, N: 3}, Config{TLS: cfg, Logger: slog.New(slog.DiscardHandler)})
	done := make(chan error, 1)
	go func() { done <- m.Serve() }()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", ln.Addr().String(),
		&tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatalf("no handshake after accept errors: %v", err) // the mux stopped serving
	}
	defer c.Close()
	accept(t, m.Web())
	m.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Errorf("Serve after Close: %v, want a net.ErrClosed", err)
	}
}
