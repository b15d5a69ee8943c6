package check

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"

	"duet/internal/sio"
)

// The Socket.IO peers of the signaling step and the call: sio's client (Engine.IO 4 over the
// websocket transport, where socket.io-client 4 ends up after its upgrade), which puts exactly the
// bytes we choose on the wire and decodes with the server's own codec.

// event is a Socket.IO event as the server sent it, arguments still raw JSON; a lost connection
// arrives as the event "disconnect" with the reason.
type event struct {
	name string
	args []json.RawMessage
}

// peer is one Socket.IO connection to the main namespace, as a call page has.
type peer struct {
	name   string
	c      *sio.Client
	events chan event
	done   chan struct{}
}

// connect opens a Socket.IO v4 connection: the Engine.IO handshake, then CONNECT to namespace "/".
func (r *run) connect(ctx context.Context, name string) (*peer, error) {
	c, err := sio.Dial(ctx, sio.DialConfig{
		Host: net.JoinHostPort(r.o.host, r.o.port),
		TLS:  &tls.Config{ServerName: r.o.host, InsecureSkipVerify: r.o.insecure},
		Dial: func(ctx context.Context) (net.Conn, error) { return r.dialTCP(ctx, r.o.port) },
	})
	if err != nil {
		return nil, connectProblem(name, err)
	}
	p := &peer{name: name, c: c, events: make(chan event, 256), done: make(chan struct{})}
	go p.forward()
	return p, nil
}

// connectProblem explains why a peer could not connect.
func connectProblem(name string, err error) error {
	var p *problem
	var status *sio.StatusError
	switch {
	case errors.As(err, &p):
		return p
	case errors.As(err, &status):
		return upgradeProblem(name, status.Status)
	case errors.Is(err, sio.ErrConnectRefused):
		return fail("the server refused the "+name+"'s Socket.IO CONNECT: "+err.Error(),
			"a connection middleware (per-IP limits) refused it", "raise --conn-rate / --max-conn-per-ip")
	case errors.Is(err, sio.ErrNotSocketIO):
		return fail("the "+name+"'s Socket.IO handshake failed: "+err.Error(),
			"/socket.io/ answers but not as a Socket.IO v4 server (EIO=4)", "point /socket.io/ at duet")
	}
	return fail("the "+name+"'s websocket to /socket.io/ failed: "+err.Error(), "the connection broke during the upgrade",
		"check the reverse proxy in front of duet")
}

// upgradeProblem explains a websocket upgrade the server or a proxy in front refused.
func upgradeProblem(name string, status int) error {
	detail := fmt.Sprintf("the websocket upgrade of /socket.io/ answered %d %s", status, http.StatusText(status))
	switch status {
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

// forward hands the client's events to the steps, then the disconnect.
func (p *peer) forward() {
	defer close(p.done)
	for e := range p.c.Events() {
		p.push(event{name: e.Name, args: e.Args})
	}
	p.push(event{name: "disconnect", args: []json.RawMessage{quote(p.c.Err().Error())}})
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

// emit sends a Socket.IO EVENT; rawJSON arguments go on the wire verbatim.
func (p *peer) emit(name string, args ...any) {
	for i, a := range args {
		if raw, ok := a.(rawJSON); ok {
			args[i] = json.RawMessage(raw.b)
		}
	}
	_ = p.c.Emit(name, args...)
}

func (p *peer) id() string { return p.c.ID() }

// close disconnects from the namespace, then closes the websocket, as socket.disconnect() does.
func (p *peer) close() {
	p.c.Close()
	<-p.done
}

// rawJSON is a payload sent byte for byte as written.
type rawJSON struct{ b []byte }
