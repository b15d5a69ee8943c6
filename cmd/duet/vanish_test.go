package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"duet/internal/duettest"
)

// byeBound is how soon docs/protocol.md promises bye after a peer's network vanished.
const byeBound = 10 * time.Second

// TestVanishedPeer: a client whose network vanishes (no FIN: a proxy between it and the server stops
// forwarding and keeps both connections open) is noticed by the heartbeat, and its partner gets bye
// within byeBound, plus a margin for a loaded machine. Engine.IO 4 (the server pings) and 3 (the 2.x
// client pings and the server waits for silence).
func TestVanishedPeer(t *testing.T) {
	d := duettest.Start(t, duettest.Binary(t), "--listen", "127.0.0.1:0", "--turn-listen", "", "--conn-rate", "100")
	for _, version := range []int{4, 3} {
		t.Run(fmt.Sprintf("EIO%d", version), func(t *testing.T) {
			room := fmt.Sprintf("vanish%d", version)
			px := startFreezer(t, strings.TrimPrefix(d.URL, "https://"))
			v := dialVanishing(t, d.URL, version, px.ln.Addr().String(), room)
			partner := connectPeer(t, d.URL, dialOpts{})
			_ = partner.emit("join", room)
			partner.mustExpect(t, "joined")
			select { // a heartbeat reported before the partner joined
			case <-v.beat:
			default:
			}
			// The network vanishes right after the next heartbeat has crossed the proxy both ways,
			// the longest wait.
			up := px.up.Load()
			select {
			case <-v.beat:
			case <-time.After(15 * time.Second):
				t.Fatal("no heartbeat through the proxy")
			}
			for deadline := time.Now().Add(5 * time.Second); px.up.Load() == up; time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the heartbeat's answer did not reach the server")
				}
			}
			px.freeze()
			frozen := time.Now()
			e, ok := partner.expect("bye", byeBound+3*time.Second)
			if !ok {
				t.Fatalf("no bye within %v of the network vanishing", byeBound+3*time.Second)
			}
			if len(e.args) < 2 || string(e.args[1]) != `"`+v.id+`"` {
				t.Errorf("bye %s, want %s's", e.args, v.id)
			}
			t.Logf("bye %v after the network vanished", time.Since(frozen).Round(100*time.Millisecond))
		})
	}
}

// vanishing is a client in a room, speaking Engine.IO 3 or 4 over a websocket, that answers the
// server's pings (4) or pings by itself (3), and reports each heartbeat exchanged.
type vanishing struct {
	ws   *websocket.Conn
	id   string // its socket id, from joined
	wmu  sync.Mutex
	beat chan struct{}
}

// dialVanishing connects through the proxy at via and joins room.
func dialVanishing(t *testing.T, url string, version int, via, room string) *vanishing {
	t.Helper()
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "tcp", via)
	}
	ws, _, err := dialWS(url, fmt.Sprintf("EIO=%d&transport=websocket", version), dialOpts{dial: dial})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	v := &vanishing{ws: ws, beat: make(chan struct{}, 1)}
	var open struct{ PingInterval int }
	if msg := v.read(t); msg[0] != '0' || json.Unmarshal([]byte(msg[1:]), &open) != nil || open.PingInterval <= 0 {
		t.Fatalf("open packet %q", msg)
	}
	if version == 4 {
		_ = v.send("40")
	}
	if msg := v.read(t); !strings.HasPrefix(msg, "40") {
		t.Fatalf("CONNECT answered %q", msg)
	}
	_ = v.send(`42["join","` + room + `"]`)
	var joined []string
	if msg := v.read(t); !strings.HasPrefix(msg, `42["joined"`) || json.Unmarshal([]byte(msg[2:]), &joined) != nil || len(joined) < 3 {
		t.Fatalf("join answered %q", msg)
	}
	v.id = joined[2]
	go v.run(version, time.Duration(open.PingInterval)*time.Millisecond)
	return v
}

func (v *vanishing) read(t *testing.T) string {
	t.Helper()
	_ = v.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, msg, err := v.ws.ReadMessage()
	if err != nil || len(msg) == 0 {
		t.Fatalf("read: %q %v", msg, err)
	}
	_ = v.ws.SetReadDeadline(time.Time{})
	return string(msg)
}

func (v *vanishing) send(msg string) error {
	v.wmu.Lock()
	defer v.wmu.Unlock()
	_ = v.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return v.ws.WriteMessage(websocket.TextMessage, []byte(msg))
}

// run answers pings (4) or pings every interval (3) until the connection ends.
func (v *vanishing) run(version int, interval time.Duration) {
	if version == 3 {
		go func() {
			for v.send("2") == nil {
				time.Sleep(interval)
			}
		}()
	}
	for {
		_, raw, err := v.ws.ReadMessage()
		if err != nil {
			return
		}
		switch msg := string(raw); {
		case msg == "2" && version == 4:
			_ = v.send("3")
			v.report()
		case msg == "3" && version == 3:
			v.report()
		}
	}
}

func (v *vanishing) report() {
	select {
	case v.beat <- struct{}{}:
	default:
	}
}

// freezer forwards TCP to target until frozen; then it drops whatever either side sends and keeps
// both connections open, as a network that vanished would.
type freezer struct {
	ln     net.Listener
	target string
	frozen atomic.Bool
	up     atomic.Int64 // bytes forwarded from the client to the server
	mu     sync.Mutex
	conns  []net.Conn
}

func startFreezer(t *testing.T, target string) *freezer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{ln: ln, target: target}
	t.Cleanup(func() {
		ln.Close()
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, c := range f.conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			f.mu.Lock()
			f.conns = append(f.conns, c, s)
			f.mu.Unlock()
			go f.forward(s, c, &f.up)
			go f.forward(c, s, nil)
		}
	}()
	return f
}

func (f *freezer) freeze() { f.frozen.Store(true) }

// forward copies src to dst until frozen, counting the bytes in count when it is not nil.
func (f *freezer) forward(dst, src net.Conn, count *atomic.Int64) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if err != nil {
			return
		}
		if f.frozen.Load() {
			continue
		}
		if _, err := dst.Write(buf[:n]); err != nil {
			return
		}
		if count != nil {
			count.Add(int64(n))
		}
	}
}
