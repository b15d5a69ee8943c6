// Package tlsmux shares one TLS port between the web server and TURN over TLS, which coturn cannot:
// networks that allow only TCP 443 still reach the relay. After the handshake a connection that
// negotiated ALPN "stun.turn" (RFC 7443) goes to TURN, one that negotiated an HTTP protocol goes to
// the web server, and one without ALPN is sorted by its first byte (a STUN message starts with two
// zero bits, an HTTP request with a letter).
package tlsmux

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"time"
)

// ALPN is the protocol id of STUN/TURN over (D)TLS, RFC 7443.
const ALPN = "stun.turn"

// DefaultHandshakeTimeout bounds how long a connection may take to finish its handshake and, without
// ALPN, to send its first byte; a silent connection is closed then.
const DefaultHandshakeTimeout = 10 * time.Second

// ErrClosed is returned by Accept once the mux is closed. It is a net.ErrClosed, so servers that
// stop on that (net/http, pion's TURN) stop on it.
var ErrClosed = fmt.Errorf("tlsmux: %w", net.ErrClosed)

// Config is the shared port's TLS configuration.
type Config struct {
	TLS              *tls.Config // certificates and the web's ALPN protocols; "stun.turn" is put first in a clone
	HandshakeTimeout time.Duration
	Logger           *slog.Logger
}

// Mux accepts on one listener and hands each connection, handshaken, to Web or TURN.
type Mux struct {
	ln       net.Listener
	tls      *tls.Config
	timeout  time.Duration
	log      *slog.Logger
	web      *sub
	turn     *sub
	closed   chan struct{}
	closeErr sync.Once
}

// New wraps ln; call Serve to start accepting.
func New(ln net.Listener, cfg Config) *Mux {
	t := cfg.TLS.Clone()
	if !slices.Contains(t.NextProtos, ALPN) {
		// First: the server's order decides, and a TURN client may offer http/1.1 too (coturn's does).
		t.NextProtos = append([]string{ALPN}, t.NextProtos...)
	}
	if cfg.HandshakeTimeout == 0 {
		cfg.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	m := &Mux{ln: ln, tls: t, timeout: cfg.HandshakeTimeout, log: cfg.Logger, closed: make(chan struct{})}
	m.web, m.turn = m.newSub(), m.newSub()
	return m
}

// Web is the listener for the web server: its connections are *tls.Conn after the handshake (so
// net/http sees the TLS state and speaks HTTP/2), except HTTP clients that offered no ALPN.
func (m *Mux) Web() net.Listener { return m.web }

// TURN is the listener for the TURN server: its connections speak STUN/TURN over TLS.
func (m *Mux) TURN() net.Listener { return m.turn }

// Serve accepts until the listener fails or the mux is closed.
func (m *Mux) Serve() error {
	var backoff time.Duration
	for {
		c, err := m.ln.Accept()
		if err != nil {
			select {
			case <-m.closed:
				return ErrClosed
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// EMFILE and the like: back off, as net/http does, and keep serving both sides.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		go m.route(c)
	}
}

// Close stops accepting and unblocks both listeners' Accept.
func (m *Mux) Close() error {
	var err error
	m.closeErr.Do(func() {
		close(m.closed)
		err = m.ln.Close()
	})
	return err
}

// route handshakes c and hands it to the listener its protocol belongs to.
func (m *Mux) route(raw net.Conn) {
	_ = raw.SetDeadline(time.Now().Add(m.timeout))
	c := tls.Server(raw, m.tls)
	if err := c.Handshake(); err != nil {
		m.log.Debug("tls handshake", "remote", raw.RemoteAddr(), "err", err)
		raw.Close()
		return
	}
	switch c.ConnectionState().NegotiatedProtocol {
	case ALPN:
		_ = raw.SetDeadline(time.Time{})
		m.turn.hand(c)
	case "":
		br := bufio.NewReaderSize(c, 1)
		first, err := br.Peek(1)
		_ = raw.SetDeadline(time.Time{})
		if err != nil {
			c.Close()
			return
		}
		pc := &peekedConn{Conn: c, r: br}
		if first[0]>>6 == 0 { // STUN header: the two most significant bits are zero
			m.turn.hand(pc)
		} else {
			m.web.hand(pc)
		}
	default: // h2, http/1.1, acme-tls/1
		_ = raw.SetDeadline(time.Time{})
		m.web.hand(c)
	}
}

// peekedConn reads first what was peeked to sort the connection.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (p *peekedConn) Read(b []byte) (int, error) { return p.r.Read(b) }

// sub is one side's listener, fed by route. Closing it closes only that side; the mux closes its
// own listener when both sides are closed, so one server stopping never cuts the other off.
type sub struct {
	m      *Mux
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func (m *Mux) newSub() *sub {
	return &sub{m: m, conns: make(chan net.Conn), closed: make(chan struct{})}
}

// hand gives c to the side's Accept; a side that is closed, or does not accept within the handshake
// timeout, gets c closed instead, so no connection waits without bound.
func (s *sub) hand(c net.Conn) {
	t := time.NewTimer(s.m.timeout)
	defer t.Stop()
	select {
	case s.conns <- c:
	case <-s.closed:
		c.Close()
	case <-s.m.closed:
		c.Close()
	case <-t.C:
		s.m.log.Warn("tlsmux: a connection waited too long to be accepted; closed", "remote", c.RemoteAddr())
		c.Close()
	}
}

func (s *sub) Accept() (net.Conn, error) {
	select {
	case c := <-s.conns:
		return c, nil
	case <-s.closed:
		return nil, ErrClosed
	case <-s.m.closed:
		return nil, ErrClosed
	}
}

func (s *sub) Close() error {
	s.once.Do(func() { close(s.closed) })
	if s.m.web.isClosed() && s.m.turn.isClosed() {
		return s.m.Close()
	}
	return nil
}

func (s *sub) isClosed() bool {
	select {
	case <-s.closed:
		return true
	default:
		return false
	}
}

func (s *sub) Addr() net.Addr { return s.m.ln.Addr() }
