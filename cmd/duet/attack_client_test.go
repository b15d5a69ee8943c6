package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// A raw Engine.IO 4 / Socket.IO 5 client for the attack tests: it puts exactly the bytes an attacker
// chooses on the wire, from a chosen 127.x source address.

// dialOpts shape the websocket an attacker opens.
type dialOpts struct {
	src    string      // source address, e.g. 127.0.0.5; "" for any
	header http.Header // Origin, Host
	rcvbuf int         // SO_RCVBUF before connecting, to read as slowly as possible; 0 leaves it
	dial   func(ctx context.Context, network, addr string) (net.Conn, error)
}

func dialWS(url, query string, o dialOpts) (*websocket.Conn, *http.Response, error) {
	nd := &net.Dialer{Timeout: 5 * time.Second}
	if o.src != "" {
		nd.LocalAddr = &net.TCPAddr{IP: net.ParseIP(o.src)}
	}
	if o.rcvbuf > 0 {
		nd.Control = func(_, _ string, c syscall.RawConn) error {
			return c.Control(func(fd uintptr) {
				_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, o.rcvbuf)
			})
		}
	}
	d := websocket.Dialer{
		NetDialContext:   nd.DialContext,
		TLSClientConfig:  &tls.Config{InsecureSkipVerify: true},
		HandshakeTimeout: 5 * time.Second,
	}
	if o.dial != nil {
		d.NetDialContext = o.dial
	}
	return d.Dial("wss"+strings.TrimPrefix(url, "https")+"/socket.io/?"+query, o.header)
}

// peer is a connected Socket.IO client whose reader answers pings and collects events.
type peer struct {
	ws     *websocket.Conn
	id     string
	events chan event
	wmu    sync.Mutex
}

type event struct {
	name string
	args []json.RawMessage
}

// connectPeer opens a websocket, joins "/" and starts reading.
func connectPeer(t *testing.T, url string, o dialOpts) *peer {
	t.Helper()
	p, err := tryPeer(url, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.ws.Close() })
	go p.read()
	return p
}

// tryPeer opens a websocket and completes the Socket.IO CONNECT, without a reader.
func tryPeer(url string, o dialOpts) (*peer, error) {
	ws, resp, err := dialWS(url, "EIO=4&transport=websocket", o)
	if err != nil {
		if resp != nil {
			return nil, errors.New("refused: " + resp.Status)
		}
		return nil, err
	}
	p := &peer{ws: ws, events: make(chan event, 4096)}
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, open, err := ws.ReadMessage(); err != nil || open[0] != '0' {
		ws.Close()
		return nil, errors.New("no open packet")
	}
	p.send("40")
	for {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			ws.Close()
			return nil, err
		}
		if body, ok := strings.CutPrefix(string(msg), "40"); ok {
			var c struct{ SID string }
			_ = json.Unmarshal([]byte(body), &c)
			p.id = c.SID
			_ = ws.SetReadDeadline(time.Time{})
			return p, nil
		}
	}
}

func (p *peer) send(msg string) error {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	_ = p.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return p.ws.WriteMessage(websocket.TextMessage, []byte(msg))
}

func (p *peer) emit(name string, args ...any) error {
	b, _ := json.Marshal(append([]any{name}, args...))
	return p.send("42" + string(b))
}

func (p *peer) read() {
	defer close(p.events)
	for {
		_, msg, err := p.ws.ReadMessage()
		if err != nil {
			return
		}
		s := string(msg)
		switch {
		case s == "2":
			_ = p.send("3")
		case strings.HasPrefix(s, "42"):
			var parts []json.RawMessage
			if json.Unmarshal(msg[2:], &parts) == nil && len(parts) > 0 {
				var name string
				_ = json.Unmarshal(parts[0], &name)
				select {
				case p.events <- event{name, parts[1:]}:
				default:
				}
			}
		}
	}
}

// expect waits for the event name, skipping others; ok is false on timeout or a closed connection.
func (p *peer) expect(name string, timeout time.Duration) (event, bool) {
	deadline := time.After(timeout)
	for {
		select {
		case e, open := <-p.events:
			if !open {
				return event{}, false
			}
			if e.name == name {
				return e, true
			}
		case <-deadline:
			return event{}, false
		}
	}
}

func (p *peer) mustExpect(t *testing.T, name string) event {
	t.Helper()
	e, ok := p.expect(name, 10*time.Second)
	if !ok {
		t.Fatalf("no %q event", name)
	}
	return e
}

// poll is one polling request; it returns the status and the body, or status 0 and the error when
// the request failed on its way (a request racing its session's close may).
func poll(t *testing.T, c *http.Client, method, url, query, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url+"/socket.io/?"+query, strings.NewReader(body))
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	resp, err := c.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// eio3Packets splits an Engine.IO 3 polling payload of ASCII packets.
func eio3Packets(t *testing.T, body string) []string {
	t.Helper()
	var out []string
	for body != "" {
		n, rest, ok := strings.Cut(body, ":")
		size, err := strconv.Atoi(n)
		if !ok || err != nil || size > len(rest) {
			t.Fatalf("bad EIO3 payload %q", body)
		}
		out = append(out, rest[:size])
		body = rest[size:]
	}
	return out
}

// waitMetric polls /metrics until name reads want.
func waitMetric(t *testing.T, url, name string, want float64, within time.Duration) {
	t.Helper()
	var got float64
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if got = scrape(t, url, name); got == want {
			return
		}
	}
	t.Fatalf("%s is %v, want %v", name, got, want)
}
