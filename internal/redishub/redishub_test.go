package redishub_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"duet/internal/duettest"
	"duet/internal/redishub"
	"duet/internal/room"
	"duet/internal/room/roomtest"
)

func TestConformance(t *testing.T) {
	r := duettest.StartRedis(t)
	roomtest.Run(t, "redis-", func() (room.Hub, error) {
		h, err := redishub.New(testConfig(r.URL()))
		if err != nil {
			return nil, err
		}
		return h.Open()
	})
}

// Payloads as senders encode them: key order, number spelling, escapes and non-ASCII stay as sent.
var (
	offer     = `{"type":"offer","sdp":"v=0\r\no=- 46117 2 IN IP4 127.0.0.1\r\n","n":1.0E+0,"z":"é\u00e9 \"q\""}`
	answer    = `{ "sdp" : "v=0\r\n", "type":"answer" }`
	candidate = `{"type":"candidate","label":0,"id":"0","candidate":"candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host"}`
)

func TestTwoNodes(t *testing.T) {
	r := duettest.StartRedis(t)
	a, ra := node(t, r.URL())
	b, rb := node(t, r.URL())

	if _, err := a.Join("call", "a1", "", ""); err != nil {
		t.Fatal(err)
	}
	ra.expect(t, "A", out(room.Joined, "call", "a1", "", ""))
	if _, err := b.Join("call", "b1", "", ""); err != nil {
		t.Fatal(err)
	}
	rb.expect(t, "B", out(room.Joined, "call", "b1", "a1", ""))
	ra.expect(t, "A", out(room.Joined, "call", "b1", "a1", ""))

	// Relays go to the peer's node only, byte for byte.
	for _, tc := range []struct {
		from     *redishub.Hub
		m, peer  room.Member
		data     string
		to, idle *recorder
	}{{a, "a1", "b1", offer, rb, ra}, {b, "b1", "a1", answer, ra, rb}, {a, "a1", "b1", candidate, rb, ra}} {
		if _, err := tc.from.Relay("call", tc.m, json.RawMessage(tc.data)); err != nil {
			t.Fatal(err)
		}
		tc.to.expect(t, "peer", out(room.Relayed, "call", tc.m, tc.peer, tc.data))
		tc.idle.quiet(t, "sender")
	}

	// The same refusals as the in-memory hub, whichever node asks.
	if _, err := b.Join("call", "b1", "", ""); !errors.Is(err, room.ErrAlreadyJoined) {
		t.Errorf("second join: %v, want ErrAlreadyJoined", err)
	}
	if _, err := b.Join("other", "b1", "", ""); !errors.Is(err, room.ErrInOtherRoom) {
		t.Errorf("join of another room: %v, want ErrInOtherRoom", err)
	}
	if _, err := b.Leave("other", "b1"); !errors.Is(err, room.ErrNotInRoom) {
		t.Errorf("leave of another room: %v, want ErrNotInRoom", err)
	}
	if _, err := a.Relay("other", "a1", json.RawMessage(offer)); !errors.Is(err, room.ErrNotInRoom) {
		t.Errorf("relay to another room: %v, want ErrNotInRoom", err)
	}
	if _, err := a.Join("call", "a2", "", ""); err != nil {
		t.Fatal(err)
	}
	ra.expect(t, "A", out(room.Full, "call", "a2", "", ""))
	rb.quiet(t, "B")
	if occ := a.Occupancy(); occ != [3]int{0, 0, 1} {
		t.Errorf("occupancy %v, want one room of two", occ)
	}

	// Leave: both nodes learn it; the room takes a newcomer from a third node.
	if _, err := b.Leave("call", "b1"); err != nil {
		t.Fatal(err)
	}
	rb.expect(t, "B", out(room.Left, "call", "b1", "a1", ""))
	ra.expect(t, "A", out(room.Left, "call", "b1", "a1", ""))
	c, rc := node(t, r.URL())
	if _, err := c.Join("call", "c1", "", ""); err != nil {
		t.Fatal(err)
	}
	rc.expect(t, "C", out(room.Joined, "call", "c1", "a1", ""))
	ra.expect(t, "A", out(room.Joined, "call", "c1", "a1", ""))
	rb.quiet(t, "B")

	// Disconnect: Gone reaches the member's node and the peer's.
	a.Disconnect("a1")
	ra.expect(t, "A", out(room.Gone, "call", "a1", "c1", ""))
	rc.expect(t, "C", out(room.Gone, "call", "a1", "c1", ""))
	c.Disconnect("c1")
	rc.expect(t, "C", out(room.Gone, "call", "c1", "", ""))
	ra.quiet(t, "A")
	if occ := b.Occupancy(); occ != [3]int{} {
		t.Errorf("occupancy %v, want none", occ)
	}
}

// A member never sees the newcomer before the bye of the one it replaced, nor a message after the
// sender's bye, even with the three on three nodes.
func TestOrderAcrossNodes(t *testing.T) {
	r := duettest.StartRedis(t)
	a, ra := node(t, r.URL())
	b, _ := node(t, r.URL())
	c, rc := node(t, r.URL())
	for round := range 5 {
		name := fmt.Sprintf("order-%d", round)
		x, y, z := room.Member(fmt.Sprint("x", round)), room.Member(fmt.Sprint("y", round)), room.Member(fmt.Sprint("z", round))
		if _, err := a.Join(name, x, "", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Join(name, y, "", ""); err != nil {
			t.Fatal(err)
		}
		ra.expect(t, "A", out(room.Joined, name, x, "", ""), out(room.Joined, name, y, x, ""))
		const n = 100
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { // y sends then disconnects while z joins from a third node
			defer wg.Done()
			for i := range n {
				if _, err := b.Relay(name, y, json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))); err != nil {
					t.Error(err)
				}
			}
			b.Disconnect(y)
		}()
		// z joins from a third node meanwhile: Full while y is there, so it retries until it is in.
		for joined := false; !joined; {
			if _, err := c.Join(name, z, "", ""); err != nil {
				t.Fatal(err)
			}
			select {
			case o := <-rc.ch:
				joined = o.Kind == room.Joined
			case <-time.After(10 * time.Second):
				t.Fatalf("round %d: no outcome for z's join", round)
			}
		}
		wg.Wait()
		// A sees every message in order, then y's Gone, then (at some point) z.
		seen := 0
		gone := false
		deadline := time.After(10 * time.Second)
		for !gone || seen < n {
			select {
			case o := <-ra.ch:
				switch {
				case o.Kind == room.Relayed:
					if gone {
						t.Fatalf("round %d: message %s after the sender's bye", round, o.Data)
					}
					if want := fmt.Sprintf(`{"i":%d}`, seen); string(o.Data) != want {
						t.Fatalf("round %d: message %s, want %s", round, o.Data, want)
					}
					seen++
				case o.Kind == room.Gone && o.Member == y:
					gone = true
				case o.Kind == room.Joined && o.Member == z:
					if !gone {
						t.Fatalf("round %d: newcomer before the bye of the one it replaced", round)
					}
				default:
					t.Fatalf("round %d: unexpected %s", round, show(o))
				}
			case <-deadline:
				t.Fatalf("round %d: %d messages, gone %v", round, seen, gone)
			}
		}
		ra.expect(t, "A", out(room.Joined, name, z, x, ""))
		c.Disconnect(z)
		a.Disconnect(x)
		drain(ra)
		drain(rc)
	}
}

func drain(r *recorder) {
	for {
		select {
		case <-r.ch:
		case <-time.After(200 * time.Millisecond):
			return
		}
	}
}

// Three members on three nodes join one room at once, fifty times: two get in, one is refused.
func TestConcurrentJoins(t *testing.T) {
	r := duettest.StartRedis(t)
	hubs := make([]*redishub.Hub, 3)
	recs := make([]*recorder, 3)
	for i := range hubs {
		hubs[i], recs[i] = node(t, r.URL())
	}
	for round := range 50 {
		name := fmt.Sprintf("race-%d", round)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, h := range hubs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if _, err := h.Join(name, room.Member(fmt.Sprintf("m%d-%d", i, round)), "", ""); err != nil {
					t.Error(err)
				}
			}()
		}
		close(start)
		wg.Wait()
		joined, full := 0, 0
		for i, rec := range recs {
			me := room.Member(fmt.Sprintf("m%d-%d", i, round))
			// Each node hears about its own member exactly once (Joined or Full); Joined outcomes of
			// another node's member are the other_joined of a member here.
			for done := false; !done; {
				select {
				case o := <-rec.ch:
					if o.Member != me {
						continue
					}
					switch o.Kind {
					case room.Joined:
						joined++
					case room.Full:
						full++
					}
					done = true
				case <-time.After(10 * time.Second):
					t.Fatalf("round %d: node %d heard nothing about %s", round, i, me)
				}
			}
		}
		if joined != 2 || full != 1 {
			t.Fatalf("round %d: %d joined and %d full, want 2 and 1", round, joined, full)
		}
		if occ := hubs[0].Occupancy(); occ != [3]int{0, 0, 1} {
			t.Fatalf("round %d: occupancy %v", round, occ)
		}
		for i, h := range hubs {
			h.Disconnect(room.Member(fmt.Sprintf("m%d-%d", i, round)))
		}
	}
	if occ := hubs[1].Occupancy(); occ != [3]int{} {
		t.Errorf("occupancy %v after everyone left", occ)
	}
}

// A node killed with SIGKILL leaves no trace: its member's peer gets Gone within the bye bound, and
// the room takes someone new.
func TestNodeKilled(t *testing.T) {
	r := duettest.StartRedis(t)
	b, rb := node(t, r.URL())
	if _, err := b.Join("crash", "b1", "", ""); err != nil {
		t.Fatal(err)
	}
	rb.expect(t, "B", out(room.Joined, "crash", "b1", "", ""))

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "REDISHUB_HELPER_URL="+r.URL(), "REDISHUB_HELPER_ROOM=crash", "REDISHUB_HELPER_MEMBER=k1")
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "joined" {
		t.Fatalf("helper node: %q, %v", line, err)
	}
	rb.expect(t, "B", out(room.Joined, "crash", "k1", "b1", ""))

	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	cfg := testConfig(r.URL())
	bound := cfg.TTL + cfg.Heartbeat + cfg.OpTimeout
	rb.expect(t, "B", out(room.Gone, "crash", "k1", "b1", ""))
	if took := time.Since(killed); took > bound+3*time.Second {
		t.Errorf("bye took %v after the node died; the documented bound is %v", took, bound)
	} else {
		t.Logf("bye %v after the node died (bound %v)", took.Round(time.Millisecond), bound)
	}
	c, rc := node(t, r.URL())
	if _, err := c.Join("crash", "c1", "", ""); err != nil {
		t.Fatal(err)
	}
	rc.expect(t, "C", out(room.Joined, "crash", "c1", "b1", ""))
	rb.expect(t, "B", out(room.Joined, "crash", "c1", "b1", ""))
}

// Redis killed and restarted empty: operations fail with ErrUnavailable meanwhile, health says so,
// the nodes put their members back, new joins work, and Close leaves no goroutine behind.
func TestRedisRestart(t *testing.T) {
	r := duettest.StartRedis(t)
	baseline := runtime.NumGoroutine()
	cfg := testConfig(r.URL())
	recA, recB := newRecorder(), newRecorder()
	a, err := redishub.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := redishub.New(cfg)
	if err := recA.open(a); err != nil {
		t.Fatal(err)
	}
	if err := recB.open(b); err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			a.Close()
			b.Close()
		}
	}()
	if _, err := a.Join("keep", "a1", "", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Join("keep", "b1", "", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Join("drop", "b2", "", ""); err != nil {
		t.Fatal(err)
	}
	recA.expect(t, "A", out(room.Joined, "keep", "a1", "", ""), out(room.Joined, "keep", "b1", "a1", ""))
	recB.expect(t, "B", out(room.Joined, "keep", "b1", "a1", ""), out(room.Joined, "drop", "b2", "", ""))

	r.Kill()
	for _, op := range []struct {
		name string
		do   func() error
	}{
		{"join", func() error { _, err := a.Join("new", "a9", "", ""); return err }},
		{"leave", func() error { _, err := a.Leave("keep", "a1"); return err }},
		{"relay", func() error { _, err := a.Relay("keep", "a1", json.RawMessage(offer)); return err }},
	} {
		if err := op.do(); !errors.Is(err, room.ErrUnavailable) {
			t.Errorf("%s with redis down: %v, want ErrUnavailable", op.name, err)
		}
	}
	b.Disconnect("b2") // recorded nowhere yet: retried, and dropped since Redis comes back empty
	_ = a.Occupancy()
	for _, h := range []*redishub.Hub{a, b} {
		eventually(t, 10*time.Second, "health reports redis down", func() bool { return h.Healthy() != nil })
	}

	r.Start() // same port, no data
	for _, h := range []*redishub.Hub{a, b} {
		eventually(t, 15*time.Second, "health back after redis restarted", func() bool { return h.Healthy() == nil })
	}
	// The members each node knew were put back: the call goes on.
	if _, err := a.Relay("keep", "a1", json.RawMessage(offer)); err != nil {
		t.Fatal(err)
	}
	recB.expect(t, "B", out(room.Relayed, "keep", "a1", "b1", offer))
	if _, err := b.Join("keep", "b1", "", ""); !errors.Is(err, room.ErrAlreadyJoined) {
		t.Errorf("b1 after the restart: %v, want ErrAlreadyJoined", err)
	}
	// New joins work.
	if _, err := a.Join("new", "a9", "", ""); err != nil {
		t.Fatal(err)
	}
	recA.expect(t, "A", out(room.Joined, "new", "a9", "", ""))
	if occ := a.Occupancy(); occ != [3]int{0, 1, 1} {
		t.Errorf("occupancy %v, want one room of one and one of two", occ)
	}

	closed = true
	if err := a.Close(); err != nil {
		t.Errorf("close A: %v", err)
	}
	recB.expect(t, "B", out(room.Gone, "keep", "a1", "b1", ""))
	if err := b.Close(); err != nil {
		t.Errorf("close B: %v", err)
	}
	noLeak(t, baseline)
}

// A node started while Redis is down serves nothing from the room table until Redis answers, then
// works without a restart.
func TestStartWithoutRedis(t *testing.T) {
	r := duettest.StartRedis(t)
	r.Kill()
	rec := newRecorder()
	h, err := redishub.New(testConfig(r.URL()))
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.open(h); err != nil {
		t.Fatalf("open with redis down: %v", err)
	}
	defer h.Close()
	if h.Healthy() == nil {
		t.Error("healthy with redis down")
	}
	if _, err := h.Join("late", "l1", "", ""); !errors.Is(err, room.ErrUnavailable) {
		t.Errorf("join with redis down: %v, want ErrUnavailable", err)
	}
	r.Start()
	eventually(t, 15*time.Second, "healthy once redis answers", func() bool { return h.Healthy() == nil })
	if _, err := h.Join("late", "l1", "", ""); err != nil {
		t.Fatal(err)
	}
	rec.expect(t, "A", out(room.Joined, "late", "l1", "", ""))
}
