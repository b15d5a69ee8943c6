package sio

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/gobwas/ws"
)

// Client is a Socket.IO 5 client of the main namespace over an Engine.IO 4 websocket, the transport
// socket.io-client 4 ends up on: what `duet check` needs to walk the room protocol. It answers
// pings and hands the server's events over as raw JSON, through the same codec as the server.
type Client struct {
	conn   net.Conn
	id     string
	events chan Event
	wmu    sync.Mutex
	done   chan struct{}
	err    error // why the connection ended; read after done
}

// DialConfig says how to reach a server.
type DialConfig struct {
	Host string      // host[:port] of the URL, https://Host/socket.io/
	TLS  *tls.Config // nil: the system's roots, ServerName from Host
	// Dial opens the TCP connection; nil dials Host.
	Dial func(ctx context.Context) (net.Conn, error)
	// Events is how many events wait for the reader before more are dropped; 0 (or less) means
	// DefaultClientEvents. A load generator holding thousands of clients that each await one answer
	// at a time keeps it small: the buffer is allocated whole with the client.
	Events int
}

// DefaultClientEvents is the events a Client buffers unless DialConfig.Events says otherwise.
const DefaultClientEvents = 256

// StatusError is an HTTP answer other than 101 to the websocket upgrade.
type StatusError struct {
	Status int
	Reason string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("the upgrade answered %d %s", e.Status, e.Reason)
}

// ErrNotSocketIO: the server upgraded, then did not speak Engine.IO 4 / Socket.IO 5.
var ErrNotSocketIO = errors.New("not an Engine.IO 4 / Socket.IO 5 server")

// ErrConnectRefused: the server answered CONNECT with CONNECT_ERROR.
var ErrConnectRefused = errors.New("Socket.IO CONNECT refused")

// Dial opens a websocket to /socket.io/ and connects to the main namespace; ctx bounds the whole.
func Dial(ctx context.Context, cfg DialConfig) (*Client, error) {
	var status *StatusError
	d := ws.Dialer{
		TLSConfig:     cfg.TLS,
		OnStatusError: func(code int, reason []byte, _ io.Reader) { status = &StatusError{code, string(reason)} },
	}
	if cfg.Dial != nil {
		d.NetDial = func(ctx context.Context, _, _ string) (net.Conn, error) { return cfg.Dial(ctx) }
	}
	conn, br, _, err := d.Dial(ctx, "wss://"+cfg.Host+"/socket.io/?EIO=4&transport=websocket")
	if status != nil {
		err = status
	}
	if err != nil {
		if conn != nil {
			_ = conn.Close()
		}
		return nil, err
	}
	if br == nil {
		br = bufio.NewReaderSize(conn, readBuffer)
	}
	events := cfg.Events
	if events <= 0 {
		events = DefaultClientEvents
	}
	c := &Client{conn: conn, events: make(chan Event, events), done: make(chan struct{})}
	if err := c.handshake(ctx, br); err != nil {
		_ = conn.Close()
		return nil, err
	}
	go c.read(br)
	return c, nil
}

// handshake reads Engine.IO's open packet, sends CONNECT and waits for the socket id.
func (c *Client) handshake(ctx context.Context, br *bufio.Reader) error {
	if dl, ok := ctx.Deadline(); ok {
		_ = c.conn.SetDeadline(dl)
	}
	defer c.conn.SetDeadline(time.Time{})
	p, err := readFrames(br, false)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNotSocketIO, err)
	}
	var open struct{ SID string }
	if len(p) == 0 || p[0] != pOpen || json.Unmarshal(p[1:], &open) != nil || open.SID == "" {
		return fmt.Errorf("%w: got %q instead of the open packet", ErrNotSocketIO, p)
	}
	if err := c.send([]byte("40")); err != nil {
		return err
	}
	for {
		p, err := readFrames(br, false)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrNotSocketIO, err)
		}
		switch msg := string(p); {
		case msg == "2": // a ping before CONNECT is answered, or the server drops us
			_ = c.send([]byte{pPong})
		case strings.HasPrefix(msg, "40"):
			var s struct{ SID string }
			if json.Unmarshal(p[2:], &s) != nil || s.SID == "" {
				return fmt.Errorf("%w: CONNECT answered %q", ErrNotSocketIO, msg)
			}
			c.id = s.SID
			return nil
		case strings.HasPrefix(msg, "44"):
			return fmt.Errorf("%w: %s", ErrConnectRefused, msg[2:])
		}
	}
}

// ID is the socket id the server gave this client, the one room events carry.
func (c *Client) ID() string { return c.id }

// Events are the server's events of the main namespace; closed when the connection ends (see Err).
func (c *Client) Events() <-chan Event { return c.events }

// Err says why the connection ended, once Events is closed.
func (c *Client) Err() error {
	<-c.done
	return c.err
}

// Emit sends an event; each argument is a string or a json.RawMessage (sent as it is).
func (c *Client) Emit(name string, args ...any) error {
	return c.send(appendEvent(make([]byte, 0, eventLen(name, args)), name, args))
}

// Close leaves the namespace and closes the websocket, as socket.disconnect() does.
func (c *Client) Close() {
	_ = c.send([]byte("41"))
	c.wmu.Lock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(time.Second))
	_ = ws.WriteFrame(c.conn, ws.MaskFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusNormalClosure, ""))))
	c.wmu.Unlock()
	_ = c.conn.Close()
	<-c.done
}

// send writes one masked text frame in one write, so over TLS it is one record and one syscall.
func (c *Client) send(p []byte) error {
	h := ws.Header{Fin: true, OpCode: ws.OpText, Masked: true, Mask: ws.NewMask(), Length: int64(len(p))}
	frame := bytes.NewBuffer(make([]byte, 0, ws.MaxHeaderSize+len(p)))
	_ = ws.WriteHeader(frame, h) // a bytes.Buffer takes any write
	n := frame.Len()
	frame.Write(p)
	ws.Cipher(frame.Bytes()[n:], h.Mask, 0)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(WriteTimeout))
	_, err := c.conn.Write(frame.Bytes())
	return err
}

// read answers pings and hands events over until the connection ends.
func (c *Client) read(br *bufio.Reader) {
	defer close(c.done)
	defer close(c.events)
	for {
		p, err := readFrames(br, false)
		if err != nil {
			c.err = err
			return
		}
		switch {
		case len(p) == 0:
		case p[0] == pPing:
			_ = c.send([]byte{pPong})
		case p[0] == pClose || string(p) == "41":
			c.err = ErrClosedByServer
			return
		case len(p) > 2 && p[0] == pMessage && p[1] == '2':
			if e, err := decodeEvent(p[1:]); err == nil && e.Nsp == "/" {
				select {
				case c.events <- e:
				default: // nobody reads: the caller has already given up
				}
			}
		}
	}
}
