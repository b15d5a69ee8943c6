package main

// A minimal Socket.IO v5 (Engine.IO v4) client over the websocket transport only, on gorilla/websocket.
//
// Why not github.com/zishang520/socket.io/clients/socket/v3: a load generator shares this 2-core box
// with the server it measures, so every CPU cycle and byte it spends is taken from the server under
// test. The library client starts with HTTP long-polling and upgrades, keeps an event-emitter and a
// set of timers and goroutines per connection, and decodes every payload into maps; this client opens
// the websocket directly, answers pings, and scans the few fields the benchmark needs (event name,
// the payload's "ts" stamp) without decoding the payload. The wire format is exactly what
// socket.io-client 4.x sends with transports: ['websocket'].

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// event is one server → client Socket.IO event, reduced to what the benchmark checks.
type event struct {
	name string
	ts   int64 // the "ts" stamp of a relayed message payload (unix ns), 0 otherwise
	seq  int64 // its "seq", -1 otherwise
	raw  []byte
}

type sioClient struct {
	conn   *websocket.Conn
	wmu    sync.Mutex
	events chan event
	done   chan struct{} // closed when the read loop ends
	quit   chan struct{} // closed by close, so a read loop blocked on events lets go
	err    error         // why the read loop ended (read after done)
}

var errClosed = errors.New("connection closed")

// dialSIO opens wss://addr/socket.io/ from local address src (nil: any) and completes the Socket.IO
// connect to the default namespace.
func dialSIO(ctx context.Context, addr string, src net.IP, timeout time.Duration) (*sioClient, error) {
	nd := &net.Dialer{Timeout: timeout}
	if src != nil {
		nd.LocalAddr = &net.TCPAddr{IP: src}
	}
	d := websocket.Dialer{
		NetDialContext:   nd.DialContext,
		TLSClientConfig:  &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // loopback, self-signed
		HandshakeTimeout: timeout,
		ReadBufferSize:   2048,
		WriteBufferSize:  2048,
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, resp, err := d.DialContext(ctx, "wss://"+addr+"/socket.io/?EIO=4&transport=websocket", http.Header{})
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("websocket handshake: %w (HTTP %d)", err, resp.StatusCode)
		}
		return nil, fmt.Errorf("websocket handshake: %w", err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(timeout))
	// Engine.IO open packet: 0{"sid":…,"pingInterval":…}
	if _, msg, err := conn.ReadMessage(); err != nil || len(msg) == 0 || msg[0] != '0' {
		conn.Close()
		return nil, fmt.Errorf("engine.io open: %q %v", msg, err)
	}
	if err := conn.WriteMessage(websocket.TextMessage, []byte("40")); err != nil {
		conn.Close()
		return nil, err
	}
	for {
		_, msg, err := conn.ReadMessage()
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("socket.io connect: %w", err)
		}
		if bytes.Equal(msg, []byte("2")) { // a ping before the connect ack
			_ = conn.WriteMessage(websocket.TextMessage, []byte("3"))
			continue
		}
		if bytes.HasPrefix(msg, []byte("40")) {
			break
		}
		conn.Close()
		return nil, fmt.Errorf("socket.io connect refused: %q", msg)
	}
	_ = conn.SetReadDeadline(time.Time{})
	c := &sioClient{conn: conn, events: make(chan event, 64), done: make(chan struct{}), quit: make(chan struct{})}
	go c.readLoop()
	return c, nil
}

func (c *sioClient) readLoop() {
	defer close(c.done)
	for {
		_, msg, err := c.conn.ReadMessage()
		if err != nil {
			c.err = err
			return
		}
		switch {
		case len(msg) == 1 && msg[0] == '2': // ping
			if err := c.write([]byte("3")); err != nil {
				c.err = err
				return
			}
		case len(msg) > 2 && msg[0] == '4' && msg[1] == '2':
			ev, err := parseEvent(msg[2:])
			if err != nil {
				c.err = err
				return
			}
			select {
			case c.events <- ev:
			case <-c.quit:
				c.err = errClosed
				return
			}
		case len(msg) > 0 && msg[0] == '1': // engine.io close
			c.err = errClosed
			return
		case len(msg) >= 2 && msg[0] == '4' && msg[1] == '1': // socket.io disconnect
			c.err = errClosed
			return
		}
	}
}

// parseEvent reads `["name", …]`: the name, and for a relayed message the payload's seq and ts.
func parseEvent(b []byte) (event, error) {
	ev := event{seq: -1}
	if len(b) < 4 || b[0] != '[' || b[1] != '"' {
		return ev, fmt.Errorf("unexpected event frame %q", trunc(b))
	}
	end := bytes.IndexByte(b[2:], '"')
	if end < 0 {
		return ev, fmt.Errorf("unexpected event frame %q", trunc(b))
	}
	ev.name = string(b[2 : 2+end])
	switch ev.name {
	case "message":
		ev.seq = intField(b, `"seq":`)
		ev.ts = intField(b, `"ts":`)
	case "error":
		ev.raw = append([]byte(nil), b...)
	}
	return ev, nil
}

func intField(b []byte, key string) int64 {
	i := bytes.LastIndex(b, []byte(key))
	if i < 0 {
		return -1
	}
	j := i + len(key)
	k := j
	for k < len(b) && b[k] >= '0' && b[k] <= '9' {
		k++
	}
	n, err := strconv.ParseInt(string(b[j:k]), 10, 64)
	if err != nil {
		return -1
	}
	return n
}

func trunc(b []byte) []byte {
	if len(b) > 120 {
		return b[:120]
	}
	return b
}

func (c *sioClient) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.conn.WriteMessage(websocket.TextMessage, b)
}

// emit sends 42[args…]; each arg is already JSON.
func (c *sioClient) emit(args ...[]byte) error {
	n := 4
	for _, a := range args {
		n += len(a) + 1
	}
	buf := make([]byte, 0, n)
	buf = append(buf, '4', '2', '[')
	for i, a := range args {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, a...)
	}
	buf = append(buf, ']')
	return c.write(buf)
}

// next returns the next event, failing after timeout or when the connection ends.
func (c *sioClient) next(timeout time.Duration) (event, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case ev := <-c.events:
		return ev, nil
	case <-c.done:
		select { // events read before the end still count
		case ev := <-c.events:
			return ev, nil
		default:
		}
		return event{}, fmt.Errorf("connection ended: %w", c.err)
	case <-t.C:
		return event{}, fmt.Errorf("no event within %v", timeout)
	}
}

// expect waits for the named event; an `error` event or any other event is a failure (otherjoin,
// the classic alias of other_joined, is skipped).
func (c *sioClient) expect(name string, timeout time.Duration) (event, error) {
	for {
		ev, err := c.next(timeout)
		if err != nil {
			return ev, fmt.Errorf("waiting for %s: %w", name, err)
		}
		if ev.name == name {
			return ev, nil
		}
		if ev.name == "otherjoin" {
			continue
		}
		if ev.name == "error" {
			raw := ev.raw
			if len(raw) > 400 {
				raw = raw[:400]
			}
			return ev, fmt.Errorf("waiting for %s: error event %s", name, raw)
		}
		return ev, fmt.Errorf("waiting for %s: got %s", name, ev.name)
	}
}

func (c *sioClient) close() {
	close(c.quit)
	c.wmu.Lock()
	_ = c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	c.wmu.Unlock()
	_ = c.conn.Close()
	<-c.done
}
