package check

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// A minimal Socket.IO v4 client (Engine.IO 4 over the websocket transport, where socket.io-client 4
// ends up after its upgrade). The zishang520 Go client hangs on a few percent of connects (its
// Manager subscribes to the engine's "open" after the websocket has already opened), which a
// diagnostic tool cannot afford; this one also puts exactly the bytes we choose on the wire.

// event is a Socket.IO event as the server sent it, arguments still raw JSON.
type event struct {
	name string
	args []json.RawMessage
}

// peer is one Socket.IO connection to the main namespace, as a call page has.
type peer struct {
	name   string
	sid    string // the Socket.IO socket id the server reports in room events
	ws     *websocket.Conn
	events chan event
	mu     sync.Mutex // gorilla allows one writer at a time
	done   chan struct{}
}

// engineOpen is Engine.IO's open packet.
type engineOpen struct {
	SID          string `json:"sid"`
	PingInterval int    `json:"pingInterval"`
	PingTimeout  int    `json:"pingTimeout"`
}

// connect opens a Socket.IO v4 connection: the Engine.IO handshake, then CONNECT to namespace "/".
func (r *run) connect(ctx context.Context, name string) (*peer, error) {
	d := websocket.Dialer{
		NetDialContext:  func(ctx context.Context, _, _ string) (net.Conn, error) { return r.dialTCP(ctx, r.o.port) },
		TLSClientConfig: &tls.Config{ServerName: r.o.host, InsecureSkipVerify: r.o.insecure},
	}
	u := "wss://" + net.JoinHostPort(r.o.host, r.o.port) + "/socket.io/?EIO=4&transport=websocket"
	ws, resp, err := d.DialContext(ctx, u, nil)
	if err != nil {
		return nil, upgradeProblem(name, err, resp)
	}
	p := &peer{name: name, ws: ws, events: make(chan event, 256), done: make(chan struct{})}
	if err := p.handshake(ctx); err != nil {
		_ = ws.Close()
		return nil, err
	}
	go p.read()
	return p, nil
}

// upgradeProblem explains a websocket upgrade the server or a proxy in front refused.
func upgradeProblem(name string, err error, resp *http.Response) error {
	var p *problem
	if errors.As(err, &p) {
		return p
	}
	if resp == nil {
		return fail("the "+name+"'s websocket to /socket.io/ failed: "+err.Error(), "the connection broke during the upgrade",
			"check the reverse proxy in front of duet")
	}
	detail := fmt.Sprintf("the websocket upgrade of /socket.io/ answered %s", resp.Status)
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return fail(detail, "duet's per-IP connection limit refused this machine", "wait, or raise --conn-rate / --max-conn-per-ip")
	case http.StatusForbidden:
		return fail(detail, "the origin check or a proxy refused the connection", "check --allowed-origin and the proxy's rules")
	case http.StatusNotFound:
		return fail(detail, "/socket.io/ does not reach duet", "route /socket.io/ to duet in the reverse proxy")
	case http.StatusOK, http.StatusBadRequest:
		return fail(detail, "a reverse proxy drops the Upgrade and Connection headers, so browsers fall back to slow polling",
			"forward them (nginx: proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection \"upgrade\")")
	}
	return fail(detail, "the server refused the websocket", "read duet's log")
}

// handshake reads Engine.IO's open packet, sends CONNECT and waits for the socket id.
func (p *peer) handshake(ctx context.Context) error {
	if dl, ok := ctx.Deadline(); ok {
		_ = p.ws.SetReadDeadline(dl)
	}
	defer func() { _ = p.ws.SetReadDeadline(time.Time{}) }()
	bad := func(what string) error {
		return fail("the "+p.name+"'s Socket.IO handshake failed: "+what,
			"/socket.io/ answers but not as a Socket.IO v4 server (EIO=4)", "point /socket.io/ at duet")
	}
	msg, err := p.readText()
	if err != nil {
		return bad(err.Error())
	}
	var open engineOpen
	if body, ok := strings.CutPrefix(msg, "0"); !ok || json.Unmarshal([]byte(body), &open) != nil || open.SID == "" {
		return bad(fmt.Sprintf("got %q instead of the open packet", msg))
	}
	if err := p.write("40"); err != nil {
		return bad(err.Error())
	}
	for {
		msg, err := p.readText()
		if err != nil {
			return bad(err.Error())
		}
		switch {
		case msg == "2": // a ping before CONNECT is answered; engine.io would drop us otherwise
			_ = p.write("3")
		case strings.HasPrefix(msg, "40"):
			var c struct {
				SID string `json:"sid"`
			}
			if json.Unmarshal([]byte(msg[2:]), &c) != nil || c.SID == "" {
				return bad(fmt.Sprintf("CONNECT answered %q", msg))
			}
			p.sid = c.SID
			return nil
		case strings.HasPrefix(msg, "44"):
			return fail("the server refused the "+p.name+"'s Socket.IO CONNECT: "+msg[2:],
				"a connection middleware (per-IP limits) refused it", "raise --conn-rate / --max-conn-per-ip")
		}
	}
}

func (p *peer) readText() (string, error) {
	for {
		mt, b, err := p.ws.ReadMessage()
		if err != nil {
			return "", err
		}
		if mt == websocket.TextMessage {
			return string(b), nil
		}
	}
}

// read answers pings and turns EVENT frames into events until the connection ends.
func (p *peer) read() {
	defer close(p.done)
	for {
		msg, err := p.readText()
		if err != nil {
			p.push(event{name: "disconnect", args: []json.RawMessage{quote(err.Error())}})
			return
		}
		switch {
		case msg == "2":
			_ = p.write("3")
		case msg == "1" || msg == "41":
			p.push(event{name: "disconnect", args: []json.RawMessage{quote("server closed the socket")}})
		case strings.HasPrefix(msg, "4"):
			if e, ok := parseEvent(msg[1:]); ok {
				p.push(e)
			}
		}
	}
}

func quote(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

func (p *peer) push(e event) {
	select {
	case p.events <- e:
	default: // a full buffer means nobody reads: the step has already failed
	}
}

func (p *peer) write(msg string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	_ = p.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return p.ws.WriteMessage(websocket.TextMessage, []byte(msg))
}

// emit sends a Socket.IO EVENT; rawJSON arguments go on the wire verbatim.
func (p *peer) emit(name string, args ...any) {
	var b strings.Builder
	b.WriteString("42[")
	b.Write(quote(name))
	for _, a := range args {
		b.WriteByte(',')
		if raw, ok := a.(rawJSON); ok {
			b.Write(raw.b)
			continue
		}
		j, _ := json.Marshal(a)
		b.Write(j)
	}
	b.WriteByte(']')
	_ = p.write(b.String())
}

func (p *peer) id() string { return p.sid }

// close disconnects from the namespace, then closes the websocket, as socket.disconnect() does.
func (p *peer) close() {
	_ = p.write("41")
	p.mu.Lock()
	_ = p.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	p.mu.Unlock()
	_ = p.ws.Close()
	<-p.done
}

// rawJSON is a payload sent byte for byte as written.
type rawJSON struct{ b []byte }

// parseEvent reads a Socket.IO EVENT packet of the main namespace: `2[ack id]["name",args…]`.
func parseEvent(packet string) (event, bool) {
	rest, ok := strings.CutPrefix(packet, "2")
	if !ok || strings.HasPrefix(rest, "/") {
		return event{}, false
	}
	rest = strings.TrimLeft(rest, "0123456789")
	var parts []json.RawMessage
	if json.Unmarshal([]byte(rest), &parts) != nil || len(parts) == 0 {
		return event{}, false
	}
	var name string
	if json.Unmarshal(parts[0], &name) != nil {
		return event{}, false
	}
	return event{name: name, args: parts[1:]}, true
}
