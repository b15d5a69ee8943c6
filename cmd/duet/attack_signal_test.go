package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"duet/internal/duettest"
)

// Attacks on the signaling endpoint (issue #12), each against the real binary from 127.x sources.

// TestAttackSlowReader: B joins a call and never reads, keeping its connection alive with pongs;
// A sends 64 KiB messages at the allowed event rate. B must be disconnected (A gets bye), memory
// stay bounded, and the server keep serving others.
func TestAttackSlowReader(t *testing.T) {
	d := duettest.Start(t, duettest.Binary(t), "--listen", "127.0.0.1:0", "--turn-listen", "")
	base := d.RSSKiB(t)
	b, err := tryPeer(d.URL, dialOpts{src: "127.0.0.11", rcvbuf: 4096})
	if err != nil {
		t.Fatal(err)
	}
	defer b.ws.Close()
	if err := b.emit("join", "slow"); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() { // pongs without reading: the heartbeat alone would keep B
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Second):
				_ = b.send("3")
			}
		}
	}()
	a := connectPeer(t, d.URL, dialOpts{src: "127.0.0.12"})
	_ = a.emit("join", "slow")
	a.mustExpect(t, "joined")
	c := connectPeer(t, d.URL, dialOpts{src: "127.0.0.13"})
	e := connectPeer(t, d.URL, dialOpts{src: "127.0.0.14"})
	_ = c.emit("join", "calm")
	c.mustExpect(t, "joined")
	_ = e.emit("join", "calm")
	e.mustExpect(t, "joined")

	payload := json.RawMessage(`{"type":"offer","sdp":"` + strings.Repeat("a", 64<<10-40) + `"}`)
	bye := make(chan struct{})
	go func() {
		if _, ok := a.expect("bye", 30*time.Second); ok {
			close(bye)
		}
	}()
	tick := time.NewTicker(25 * time.Millisecond) // 40 a second, under --event-rate's 50
	defer tick.Stop()
	deadline := time.After(25 * time.Second)
	for i := 0; ; i++ {
		select {
		case <-bye:
			if got := scrape(t, d.URL, "duet_sockets_connected"); got != 3 {
				t.Errorf("%v sockets connected after B's bye, want 3", got)
			}
			if grown := d.RSSKiB(t) - base; grown > 64<<10 {
				t.Errorf("RSS grew by %d KiB", grown)
			}
			return
		case <-deadline:
			t.Fatalf("B was never disconnected; RSS grew by %d KiB", d.RSSKiB(t)-base)
		case <-tick.C:
		}
		if err := a.emit("message", "slow", payload); err != nil {
			t.Fatalf("A cannot send: %v", err)
		}
		if i%40 == 0 { // once a second: the server still serves others
			duettest.Get(t, d.URL+"/healthz")
			_ = c.emit("message", "calm", map[string]int{"n": i})
			if _, ok := e.expect("message", 5*time.Second); !ok {
				t.Fatal("the calm room stopped relaying")
			}
			if grown := d.RSSKiB(t) - base; grown > 64<<10 {
				t.Fatalf("RSS grew by %d KiB", grown)
			}
		}
	}
}

// TestAttackConnectEventClose races CONNECT, an event and the close of the websocket: every count
// must come back down, so the address may connect again.
func TestAttackConnectEventClose(t *testing.T) {
	d := duettest.Start(t, duettest.Binary(t), "--listen", "127.0.0.1:0", "--turn-listen", "",
		"--conn-rate", "1000", "--event-rate", "100000", "--max-conn-per-ip", "5")
	refused := 0
	for i := range 150 {
		ws, _, err := dialWS(d.URL, "EIO=4&transport=websocket", dialOpts{src: "127.0.0.21"})
		if err != nil { // the cleanup of the previous ones may lag behind
			refused++
			time.Sleep(10 * time.Millisecond)
			continue
		}
		_ = ws.WriteMessage(1, []byte("40"))
		_ = ws.WriteMessage(1, []byte(`42["join","race-`+strconv.Itoa(i)+`"]`))
		_ = ws.Close()
	}
	if refused > 100 {
		t.Fatalf("%d of 150 connections refused", refused)
	}
	waitMetric(t, d.URL, "duet_sockets_connected", 0, 10*time.Second)
	waitMetric(t, d.URL, `duet_rooms{occupancy="1"}`, 0, 10*time.Second)
	// The address's open count is back to zero: it may hold its five again, and not a sixth.
	for range 5 {
		connectPeer(t, d.URL, dialOpts{src: "127.0.0.21"})
	}
	if _, err := tryPeer(d.URL, dialOpts{src: "127.0.0.21"}); err == nil {
		t.Fatal("a sixth connection was accepted; the per-IP cap does not hold")
	}
}

// TestAttackJoinDisconnectRace posts many join/leave toggles ending in join while the connection
// closes: no member may be left in a room without a socket.
func TestAttackJoinDisconnectRace(t *testing.T) {
	d := duettest.Start(t, duettest.Binary(t), "--listen", "127.0.0.1:0", "--turn-listen", "",
		"--conn-rate", "1000", "--event-rate", "1000000", "--max-conn-per-ip", "1000")
	toggles := strings.Repeat(`42["join","ghost"]`+"\x1e"+`42["leave","ghost"]`+"\x1e", 200) + `42["join","ghost"]`
	var wg sync.WaitGroup
	start := time.Now()
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := httpFrom("127.0.0." + strconv.Itoa(31+w))
			for i := 0; i < 150 && time.Since(start) < 15*time.Second; i++ {
				sid := pollOpen(t, client, d.URL)
				poll(t, client, "POST", d.URL, "EIO=4&transport=polling&sid="+sid, "40")
				poll(t, client, "GET", d.URL, "EIO=4&transport=polling&sid="+sid, "")
				if i%2 == 0 { // the close in the same payload
					poll(t, client, "POST", d.URL, "EIO=4&transport=polling&sid="+sid, toggles+"\x1e1")
					continue
				}
				closed := make(chan struct{}) // the close on a request of its own, at the same time
				go func() {
					defer close(closed)
					poll(t, httpFrom("127.0.0."+strconv.Itoa(31+w)), "POST", d.URL, "EIO=4&transport=polling&sid="+sid, "1")
				}()
				poll(t, client, "POST", d.URL, "EIO=4&transport=polling&sid="+sid, toggles)
				<-closed
			}
		}()
	}
	wg.Wait()
	waitMetric(t, d.URL, `duet_rooms{occupancy="1"}`, 0, 10*time.Second)
	waitMetric(t, d.URL, `duet_rooms{occupancy="2"}`, 0, 5*time.Second)
	waitMetric(t, d.URL, "duet_sockets_connected", 0, 5*time.Second)
	a := connectPeer(t, d.URL, dialOpts{src: "127.0.0.35"})
	b := connectPeer(t, d.URL, dialOpts{src: "127.0.0.36"})
	_ = a.emit("join", "ghost")
	if _, ok := a.expect("joined", 5*time.Second); !ok {
		t.Fatal("the first caller of ghost was not let in: ghost members hold the room")
	}
	_ = b.emit("join", "ghost")
	if _, ok := b.expect("joined", 5*time.Second); !ok {
		t.Fatal("the second caller of ghost was not let in: a ghost member holds the room")
	}
}

// pollOpen opens an Engine.IO 4 polling session.
func pollOpen(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	status, body := poll(t, c, "GET", url, "EIO=4&transport=polling", "")
	var open struct{ SID string }
	if status != 200 || json.Unmarshal([]byte(strings.TrimPrefix(body, "0")), &open) != nil {
		t.Fatalf("handshake: %d %s", status, body)
	}
	return open.SID
}

// TestAttackIDHijack: a socket.io-client 2.x peer learns the other's id from other_joined and tries
// to use it as an Engine.IO session id, on polling and websocket.
func TestAttackIDHijack(t *testing.T) {
	d := duettest.Start(t, duettest.Binary(t), "--listen", "127.0.0.1:0", "--turn-listen", "")
	ca, cb := httpFrom("127.0.0.41"), httpFrom("127.0.0.42")
	open := func(c *http.Client) string {
		status, body := poll(t, c, "GET", d.URL, "EIO=3&transport=polling", "")
		var o struct{ SID string }
		if status != 200 || json.Unmarshal([]byte(strings.TrimPrefix(eio3Packets(t, body)[0], "0")), &o) != nil {
			t.Fatalf("handshake: %d %s", status, body)
		}
		return o.SID
	}
	emit := func(c *http.Client, sid, packet string) {
		if status, body := poll(t, c, "POST", d.URL, "EIO=3&transport=polling&sid="+sid, strconv.Itoa(len(packet))+":"+packet); status != 200 {
			t.Fatalf("POST: %d %s", status, body)
		}
	}
	// wait reads A's polls until event name arrives and returns its arguments.
	wait := func(c *http.Client, sid, name string) []json.RawMessage {
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
			_, body := poll(t, c, "GET", d.URL, "EIO=3&transport=polling&sid="+sid, "")
			for _, p := range eio3Packets(t, body) {
				var parts []json.RawMessage
				if strings.HasPrefix(p, "42") && json.Unmarshal([]byte(p[2:]), &parts) == nil && string(parts[0]) == `"`+name+`"` {
					return parts[1:]
				}
			}
		}
		t.Fatalf("no %s", name)
		return nil
	}
	sidA, sidB := open(ca), open(cb)
	emit(ca, sidA, `42["join","hijack"]`)
	wait(ca, sidA, "joined")
	emit(cb, sidB, `42["join","hijack"]`)
	var idB string
	_ = json.Unmarshal(wait(ca, sidA, "other_joined")[1], &idB)
	if idB == "" || idB == sidB {
		t.Errorf("other_joined carries %q: B's session id is %q", idB, sidB)
	}
	if status, body := poll(t, ca, "GET", d.URL, "EIO=3&transport=polling&sid="+idB, ""); status != 400 {
		t.Errorf("GET as B: %d %q", status, body)
	}
	if status, body := poll(t, ca, "POST", d.URL, "EIO=3&transport=polling&sid="+idB, `21:42["leave","hijack"]`); status != 400 {
		t.Errorf("POST as B: %d %q", status, body)
	}
	if ws, resp, err := dialWS(d.URL, "EIO=3&transport=websocket&sid="+idB, dialOpts{src: "127.0.0.41"}); err == nil || resp == nil || resp.StatusCode != 400 {
		if ws != nil {
			ws.Close()
		}
		t.Errorf("websocket as B: %v", err)
	}
}

// TestAttackOriginBehindProxy: a proxy that rewrites Host in front of duet; an allowed origin must
// get its websocket and its polling, a foreign one neither.
func TestAttackOriginBehindProxy(t *testing.T) {
	d := duettest.Start(t, duettest.Binary(t), "--listen", "127.0.0.1:0", "--turn-listen", "",
		"--allowed-origin", "https://call.example.org")
	header := func(origin string) http.Header {
		return http.Header{"Host": {"duet-backend.internal:8443"}, "Origin": {origin}}
	}
	ws, resp, err := dialWS(d.URL, "EIO=4&transport=websocket", dialOpts{src: "127.0.0.51", header: header("https://call.example.org")})
	if err != nil {
		t.Fatalf("websocket from an allowed origin through the proxy: %v %v", err, resp)
	}
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, msg, err := ws.ReadMessage(); err != nil || msg[0] != '0' {
		t.Fatalf("no open packet: %q %v", msg, err)
	}
	ws.Close()
	req, _ := http.NewRequest("GET", d.URL+"/socket.io/?EIO=4&transport=polling", nil)
	req.Host = "duet-backend.internal:8443"
	req.Header.Set("Origin", "https://call.example.org")
	if resp, err := httpFrom("127.0.0.51").Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("polling from an allowed origin through the proxy: %v %v", resp, err)
	}
	if _, resp, err := dialWS(d.URL, "EIO=4&transport=websocket", dialOpts{src: "127.0.0.51", header: header("https://evil.example")}); err == nil || resp == nil || resp.StatusCode != 403 {
		t.Fatalf("websocket from a foreign origin: %v %v", resp, err)
	}
}

// TestAttackIPv6Prefix: addresses of one IPv6 /64 share the per-IP limits. duet and the clients run
// in a network namespace of the test's own, with documentation addresses on its loopback.
func TestAttackIPv6Prefix(t *testing.T) {
	ns := "duet-attack-" + strconv.Itoa(os.Getpid())
	ip := func(args ...string) {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v\n%s", args, err, out)
		}
	}
	ip("netns", "add", ns)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	ip("-n", ns, "link", "set", "lo", "up")
	for _, a := range []string{"2001:db8:1::1", "2001:db8:1::2", "2001:db8:1::3", "2001:db8:1::4", "2001:db8:1::5", "2001:db8:2::2"} {
		ip("-n", ns, "addr", "add", a+"/64", "dev", "lo", "nodad")
	}
	d := duettest.Start(t, "ip", "netns", "exec", ns, duettest.Binary(t), "--listen", "[2001:db8:1::1]:0",
		"--turn-listen", "", "--max-conn-per-ip", "3")
	from := func(src string) dialOpts { return dialOpts{dial: nsDial(ns, src)} }
	for _, src := range []string{"2001:db8:1::2", "2001:db8:1::3", "2001:db8:1::4"} {
		connectPeer(t, d.URL, from(src))
	}
	if _, err := tryPeer(d.URL, from("2001:db8:1::5")); err == nil {
		t.Fatal("a fourth address of the same /64 got a fourth connection")
	}
	connectPeer(t, d.URL, from("2001:db8:2::2")) // another /64 is another subscriber
}

// nsDial dials from src inside network namespace ns: the socket is made on a thread moved into ns,
// which dies with its goroutine.
func nsDial(ns, src string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		type result struct {
			c   net.Conn
			err error
		}
		done := make(chan result, 1)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread leaves with the goroutine
			f, err := os.Open("/var/run/netns/" + ns)
			if err != nil {
				done <- result{nil, err}
				return
			}
			defer f.Close()
			if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
				done <- result{nil, err}
				return
			}
			nd := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
			c, err := nd.DialContext(ctx, network, addr)
			done <- result{c, err}
		}()
		r := <-done
		return r.c, r.err
	}
}

// TestAttackGlobalCap: --max-conns holds across addresses, and frees a seat when one leaves.
func TestAttackGlobalCap(t *testing.T) {
	d := duettest.Start(t, duettest.Binary(t), "--listen", "127.0.0.1:0", "--turn-listen", "", "--max-conns", "4")
	var peers []*peer
	for i := range 4 {
		peers = append(peers, connectPeer(t, d.URL, dialOpts{src: "127.0.0." + strconv.Itoa(71+i)}))
	}
	if _, err := tryPeer(d.URL, dialOpts{src: "127.0.0.75"}); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("a fifth connection: %v, want a refusal", err)
	}
	status, body := poll(t, httpFrom("127.0.0.76"), "GET", d.URL, "EIO=4&transport=polling", "")
	if status != 403 || !strings.Contains(body, "max-conns") {
		t.Fatalf("a fifth connection by polling: %d %s", status, body)
	}
	_ = peers[0].ws.Close()
	waitMetric(t, d.URL, "duet_sockets_connected", 3, 10*time.Second)
	connectPeer(t, d.URL, dialOpts{src: "127.0.0.75"})
}
