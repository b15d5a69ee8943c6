package turn

import (
	"crypto/tls"
	"errors"
	"math"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/pion/stun/v4"

	"duet/internal/ipkey"
)

// tcpWriteTimeout bounds one write to a TURN TCP/TLS client: one that stops reading is dropped
// instead of blocking the goroutine that serves it.
const tcpWriteTimeout = 10 * time.Second

// Backoff after a failed accept (e.g. out of file descriptors), as net/http does.
const (
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
)

// guardedListener admits TURN TCP/TLS connections under the per-address and total caps and puts
// them under the handshake and idle deadlines. It hands pion no error but net.ErrClosed: pion's
// accept loop ends for good on any error, so a burst of EMFILE would stop TURN over TCP.
type guardedListener struct {
	net.Listener
	s   *Server
	tls *tls.Config // nil for plain TCP
}

func (l *guardedListener) Accept() (net.Conn, error) {
	var backoff time.Duration
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil, err
			}
			l.s.stats.acceptErrors.Add(1)
			l.s.acceptLog.Failed(err)
			backoff = min(max(2*backoff, acceptBackoffMin), acceptBackoffMax)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		if l.tls != nil {
			// Wrapped in turnConn, not a *tls.Conn: pion leaves the handshake to the first Read, under our deadline.
			c = tls.Server(c, l.tls)
		}
		tc, err := l.s.admit(c)
		if errors.Is(err, errClosed) {
			return nil, net.ErrClosed
		}
		if err != nil {
			_ = c.Close()
			continue
		}
		return tc, nil
	}
}

var (
	errTCPPerIP = errors.New("turn: too many TCP connections from this address")
	errTCPTotal = errors.New("turn: too many TCP connections")
)

// admit counts a new connection against the caps; the returned conn frees its slot on Close.
func (s *Server) admit(c net.Conn) (*turnConn, error) {
	key := ipkey.OfAddr(c.RemoteAddr())
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		_ = c.Close()
		return nil, errClosed
	case s.tcpPerIP[key] >= s.cfg.MaxTCPPerIP:
		s.stats.refusedTCPPerIP.Add(1)
		return nil, errTCPPerIP
	case len(s.conns) >= s.maxTCPTotal:
		s.stats.refusedTCPTotal.Add(1)
		return nil, errTCPTotal
	}
	tc := &turnConn{Conn: c, s: s, key: key, helloBy: time.Now().Add(s.cfg.TCPHandshakeTimeout)}
	s.conns[tc] = struct{}{}
	s.tcpPerIP[key]++
	s.stats.tcpOpen.Add(1)
	return tc, nil
}

// turnConn is an admitted TURN TCP/TLS connection: it has until helloBy to complete its TLS
// handshake and send the header of a STUN message, then may stay silent for TCPIdleTimeout.
type turnConn struct {
	net.Conn // the TCP connection, or the TLS server connection over it
	s        *Server
	key      netip.Prefix
	helloBy  time.Time

	// Read state: pion reads each connection from one goroutine.
	head    []byte    // the first bytes, until there are a STUN header's worth
	sniffed bool      // head was judged
	started bool      // a STUN header came first: the idle timeout applies from now on
	renewed time.Time // when the idle deadline was last moved

	once sync.Once
}

func (c *turnConn) Read(p []byte) (int, error) {
	deadline := c.helloBy
	if c.started {
		// Moving the deadline costs a timer update; once per 1/60 of the timeout is enough and
		// keeps 59/60 of it (590 s of 10 min) for a client whose only traffic is the Refresh it
		// sends 60 s before its allocation's 10-minute lifetime ends.
		now := time.Now()
		if now.Sub(c.renewed) < c.s.cfg.TCPIdleTimeout/60 {
			return c.Conn.Read(p)
		}
		c.renewed, deadline = now, now.Add(c.s.cfg.TCPIdleTimeout)
	}
	if err := c.Conn.SetReadDeadline(deadline); err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(p)
	if !c.sniffed && n > 0 {
		c.sniff(p[:n])
	}
	return n, err
}

// sniff starts the connection once its first bytes form a STUN header. Anything else first
// (ChannelData without an allocation, or garbage pion has not refused yet) keeps helloBy.
func (c *turnConn) sniff(b []byte) {
	c.head = append(c.head, b[:min(len(b), stunHeaderSize-len(c.head))]...)
	if len(c.head) < stunHeaderSize {
		return
	}
	c.started, c.sniffed, c.head = stun.IsMessage(c.head), true, nil
}

const stunHeaderSize = 20 // type, length, magic cookie, transaction ID

func (c *turnConn) Write(p []byte) (int, error) {
	if err := c.Conn.SetWriteDeadline(time.Now().Add(tcpWriteTimeout)); err != nil {
		return 0, err
	}
	n, err := c.Conn.Write(p)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		_ = c.Close() // a client that stopped reading; pion's read loop ends on the next Read
	}
	return n, err
}

func (c *turnConn) Close() error {
	c.once.Do(func() {
		c.s.mu.Lock()
		delete(c.s.conns, c)
		if c.s.tcpPerIP[c.key]--; c.s.tcpPerIP[c.key] <= 0 {
			delete(c.s.tcpPerIP, c.key)
		}
		c.s.mu.Unlock()
		c.s.stats.tcpOpen.Add(-1)
	})
	return c.Conn.Close()
}

// fitFileLimit lowers the total caps so TURN takes at most half the process's file descriptors,
// a quarter for TCP/TLS connections and a quarter for relay sockets: with TURN full, the HTTPS
// server must still accept.
func (s *Server) fitFileLimit() {
	s.maxAllocTotal, s.maxTCPTotal = s.cfg.MaxAllocationsTotal, s.cfg.MaxTCPTotal
	limit, ok := openFileLimit()
	if !ok {
		return
	}
	quarter := int(min(limit/4, math.MaxInt32))
	if quarter >= s.maxAllocTotal && quarter >= s.maxTCPTotal {
		return
	}
	s.maxAllocTotal, s.maxTCPTotal = min(s.maxAllocTotal, quarter), min(s.maxTCPTotal, quarter)
	s.log.Warn("turn: the open-file limit lowers the total caps; raise it (LimitNOFILE) to keep them",
		"nofile", limit, "max_allocations_total", s.maxAllocTotal, "max_tcp_total", s.maxTCPTotal)
}
