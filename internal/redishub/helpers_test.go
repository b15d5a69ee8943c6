package redishub_test

import (
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"duet/internal/redishub"
	"duet/internal/room"
)

// TestMain doubles as a duet node in a child process, so a test can SIGKILL a node for real.
func TestMain(m *testing.M) {
	if url := os.Getenv("REDISHUB_HELPER_URL"); url != "" {
		os.Exit(helperNode(url, os.Getenv("REDISHUB_HELPER_ROOM"), os.Getenv("REDISHUB_HELPER_MEMBER")))
	}
	redishub.DriverLogs(slog.New(slog.DiscardHandler))
	os.Exit(m.Run())
}

// Short intervals for tests: a crashed node's peers get bye within TTL + Heartbeat + OpTimeout.
// The TTL outlives 20 heartbeats: on a loaded CI box a live node's heartbeats can stall for a few
// hundred milliseconds, and with 4 beats its key expired under running tests ("not registered").
func testConfig(url string) redishub.Config {
	return redishub.Config{URL: url, Heartbeat: 100 * time.Millisecond, TTL: 2 * time.Second, OpTimeout: time.Second}
}

// helperNode joins member to room on a fresh node, says "joined" once Redis confirms, and waits to
// be killed.
func helperNode(url, name, member string) int {
	rec := newRecorder()
	h, err := redishub.New(testConfig(url))
	if err == nil {
		err = rec.open(h)
	}
	if err == nil {
		_, err = h.Join(name, room.Member(member), "", "")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 1
	}
	for o := range rec.ch {
		if o.Kind == room.Joined && o.Member == room.Member(member) {
			break
		}
	}
	fmt.Println("joined")
	select {}
}

// recorder collects the outcomes one node receives.
type recorder struct{ ch chan room.Outcome }

func newRecorder() *recorder { return &recorder{ch: make(chan room.Outcome, 4096)} }

// open opens h and records what comes on its Incoming until h is closed.
func (r *recorder) open(h *redishub.Hub) error {
	if _, err := h.Open(); err != nil {
		return err
	}
	go func() {
		for o := range h.Incoming() {
			r.ch <- o
		}
	}()
	return nil
}

func out(k room.Kind, name string, m, peer room.Member, data string) room.Outcome {
	return room.Outcome{Kind: k, Room: name, Member: m, Peer: peer, Data: []byte(data)}
}

func same(a, b room.Outcome) bool {
	return a.Kind == b.Kind && a.Room == b.Room && a.Member == b.Member && a.Peer == b.Peer && string(a.Data) == string(b.Data)
}

// expect takes the next outcomes and checks them, in order.
func (r *recorder) expect(t *testing.T, node string, want ...room.Outcome) {
	t.Helper()
	for _, w := range want {
		select {
		case o := <-r.ch:
			if !same(o, w) {
				t.Fatalf("node %s: outcome %s, want %s", node, show(o), show(w))
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("node %s: no outcome, want %s", node, show(w))
		}
	}
}

// quiet checks that no outcome arrives for a moment.
func (r *recorder) quiet(t *testing.T, node string) {
	t.Helper()
	select {
	case o := <-r.ch:
		t.Fatalf("node %s: unexpected outcome %s", node, show(o))
	case <-time.After(100 * time.Millisecond):
	}
}

func show(o room.Outcome) string {
	s := fmt.Sprintf("%s(room %q, member %q, peer %q", o.Kind, o.Room, o.Member, o.Peer)
	if o.Data != nil {
		s += fmt.Sprintf(", data %q", o.Data)
	}
	return s + ")"
}

// node opens a hub on url with the test intervals; it is closed at the end of the test.
func node(t *testing.T, url string) (*redishub.Hub, *recorder) {
	t.Helper()
	rec := newRecorder()
	h, err := redishub.New(testConfig(url))
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.open(h); err != nil {
		t.Fatal(err)
	}
	if err := h.Healthy(); err != nil {
		t.Fatalf("fresh hub not healthy: %v", err)
	}
	t.Cleanup(func() { h.Close() })
	return h, rec
}

// eventually polls cond until it holds or the time is up.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// hubGoroutines lists the goroutines running the hub's or go-redis's code.
func hubGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var found []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "duet/internal/redishub.(*Hub)") || strings.Contains(g, "github.com/redis/go-redis") {
			found = append(found, g)
		}
	}
	return found
}

func noLeak(t *testing.T, baseline int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		left := hubGoroutines()
		if len(left) == 0 && runtime.NumGoroutine() <= baseline {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("goroutines left after Close: %d (baseline %d); hub's:\n%s", runtime.NumGoroutine(), baseline, strings.Join(left, "\n\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
