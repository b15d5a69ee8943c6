package redishub_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"duet/internal/duettest"
	"duet/internal/redishub"
	"duet/internal/room"
)

// TestEvictedWhenSeatTaken: Redis loses its data (FLUSHALL) while node A's member sits alone in a
// room; before A's next heartbeat puts it back, two members of other nodes fill the room. A must then
// hand its member an Evicted outcome (the signal server closes that connection so the page joins
// again) instead of leaving it to believe it is still in the room.
func TestEvictedWhenSeatTaken(t *testing.T) {
	r := duettest.StartRedis(t)
	flush := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", r.Port)})
	defer flush.Close()
	recA := newRecorder()
	slow := testConfig(r.URL())
	slow.Heartbeat, slow.TTL = 2*time.Second, 6*time.Second // a window to fill the room in
	a, err := redishub.New(slow)
	if err != nil {
		t.Fatal(err)
	}
	if err := recA.open(a); err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	c, recC := node(t, r.URL())
	d, _ := node(t, r.URL())

	// A heartbeat of A may fall between the flush and the joins; then the room was restored first
	// and the scenario is tried again in a new room.
	for try := range 3 {
		name := fmt.Sprintf("seat%d", try)
		if _, err := a.Join(name, room.Member("a"+name), "", ""); err != nil {
			t.Fatal(err)
		}
		recA.expect(t, "A", out(room.Joined, name, room.Member("a"+name), "", ""))
		if err := flush.FlushAll(context.Background()).Err(); err != nil {
			t.Fatal(err)
		}
		joinSoon(t, c, name, room.Member("c"+name))
		if o := <-recC.ch; o.Kind != room.Joined || o.Peer != "" {
			t.Logf("try %d: A put its member back before the room filled (%s); again", try, show(o))
			continue
		}
		joinSoon(t, d, name, room.Member("d"+name))
		select {
		case o := <-recA.ch:
			if o.Kind != room.Evicted || o.Room != name || o.Member != room.Member("a"+name) {
				t.Fatalf("A's outcome %s, want Evicted of a%s from %s", show(o), name, name)
			}
			if _, err := a.Join("elsewhere", room.Member("a"+name), "", ""); err != nil {
				t.Fatalf("the evicted member cannot join again: %v", err)
			}
			return
		case <-time.After(3 * slow.Heartbeat):
			t.Fatal("A's member was never evicted")
		}
	}
	t.Fatal("A's heartbeat beat the room filling three times")
}

// joinSoon joins once the node has registered again after the flush (its short heartbeat does that).
func joinSoon(t *testing.T, h *redishub.Hub, name string, m room.Member) {
	t.Helper()
	eventually(t, 5*time.Second, "a join after the flush", func() bool {
		_, err := h.Join(name, m, "", "")
		if err != nil && !errors.Is(err, room.ErrUnavailable) {
			t.Fatal(err)
		}
		return err == nil
	})
}
