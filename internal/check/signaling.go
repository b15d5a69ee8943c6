package check

// The signaling step: the room protocol of docs/protocol.md, end to end, with two peers.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// expect waits for event name whose leading string arguments are want; other room events are
// ignored, refusals and disconnects end the wait with their explanation.
func (p *peer) expect(ctx context.Context, name string, want ...string) ([]json.RawMessage, error) {
	for {
		select {
		case <-ctx.Done():
			return nil, fail(fmt.Sprintf("the %s got no %q within the timeout", p.name, name),
				"the server did not send the room event", "read duet's log (component=signal)")
		case e := <-p.events:
			switch e.name {
			case name:
				if err := p.match(e, want); err != nil {
					return nil, err
				}
				return e.args, nil
			case "full":
				return nil, fail(fmt.Sprintf("the %s was refused: the room is full", p.name),
					"someone else is in this room", "run again (a fresh room is picked) or pass another --room")
			case "error":
				return nil, fail(fmt.Sprintf("the server refused the %s: %s", p.name, argText(e.args)),
					"the server and this check disagree on the protocol", "update duet (docs/protocol.md is the contract)")
			case "disconnect":
				return nil, fail(fmt.Sprintf("the server disconnected the %s (%s)", p.name, argText(e.args)),
					"a per-IP limit (--conn-rate, --event-rate) or a proxy timeout cut the connection", "raise the limit or the proxy's timeout")
			}
		}
	}
}

func (p *peer) match(e event, want []string) error {
	for i, w := range want {
		var got string
		if i >= len(e.args) || json.Unmarshal(e.args[i], &got) != nil || got != w {
			return fail(fmt.Sprintf("the %s got %s(%s), want argument %d = %q", p.name, e.name, argText(e.args), i+1, w),
				"the server's events do not follow the protocol", "update duet (docs/protocol.md is the contract)")
		}
	}
	return nil
}

func argText(args []json.RawMessage) string {
	s := make([]string, len(args))
	for i, a := range args {
		s[i] = string(a)
	}
	return strings.Join(s, ", ")
}

// The payloads exercise what a re-encoding relay would change: key order, number spelling, escapes.
const (
	probeOut  = `{"type":"duet-check","z":1,"a":1.50,"big":12345678901234567890,"e":1E3,"s":"caf\u00e9 é \"q\""}`
	probeBack = `{"type":"duet-check","reply":true,"n":-0.0,"list":[3,2,1],"nested":{"y":null,"x":false}}`
)

// signaling is the signaling step: the room protocol of docs/protocol.md end to end with two peers.
func (r *run) signaling(ctx context.Context) (string, error) {
	a, err := r.connect(ctx, "first peer")
	if err != nil {
		return "", err
	}
	defer a.close()
	b, err := r.connect(ctx, "second peer")
	if err != nil {
		return "", err
	}
	defer b.close()
	room := r.o.room

	steps := []func() error{
		func() error { a.emit("join", room); _, err := a.expect(ctx, "joined", room, a.id()); return err },
		func() error { b.emit("join", room); _, err := b.expect(ctx, "joined", room, b.id()); return err },
		func() error { _, err := a.expect(ctx, "other_joined", room, b.id()); return err },
		func() error { return relay(ctx, a, b, room, probeOut) },
		func() error { return relay(ctx, b, a, room, probeBack) },
		func() error { b.emit("leave", room); _, err := b.expect(ctx, "leaved", room, b.id()); return err },
		func() error { _, err := a.expect(ctx, "bye", room, b.id()); return err },
		func() error { a.emit("leave", room); _, err := a.expect(ctx, "leaved", room, a.id()); return err },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return "", err
		}
	}
	return "two Socket.IO v4 peers (websocket): joined, other_joined, message relayed byte for byte both ways, leaved, bye", nil
}

// relay sends payload from one peer and checks the other receives exactly those bytes.
func relay(ctx context.Context, from, to *peer, room, payload string) error {
	from.emit("message", room, rawJSON{[]byte(payload)})
	args, err := to.expect(ctx, "message", room)
	if err != nil {
		return err
	}
	if len(args) < 2 || !bytes.Equal(args[1], []byte(payload)) {
		got := ""
		if len(args) >= 2 {
			got = string(args[1])
		}
		return fail(fmt.Sprintf("the %s received %s, the %s sent %s", to.name, got, from.name, payload),
			"the message was re-encoded on the way (an old duet or a rewriting proxy)", "relay payloads unchanged (docs/protocol.md)")
	}
	return nil
}
