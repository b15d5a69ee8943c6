// Package roomtest checks that a room.Hub keeps the room contract: the same table of joins, leaves,
// disconnects and relays must give the same outcomes, in order, from every implementation.
package roomtest

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"duet/internal/access"
	"duet/internal/room"
)

type step struct {
	op, room string
	key      string // for resume: the key presented
	member   room.Member
	data     string
	lock     access.Hash // join under this lock; what "lock" must read
	count    int         // what "lock" must read
	err      error
	want     []room.Outcome
}

func out(k room.Kind, name string, m, peer room.Member, data string) room.Outcome {
	o := room.Outcome{Kind: k, Room: name, Member: m, Peer: peer}
	if data != "" {
		o.Data = json.RawMessage(data)
	}
	return o
}

// keyOf is the resume key the cases give each member's seat.
func keyOf(m room.Member) string { return string(m) + ".secret-of-" + string(m) }

// Run drives a fresh hub from newHub through each case; room names carry prefix so that runs
// against a shared store do not meet.
func Run(t *testing.T, prefix string, newHub func() (room.Hub, error)) {
	r := func(name string) string { return prefix + name }
	offer := `{"type":"offer","sdp":"v=0\r\n","n":1.0}`
	cases := []struct {
		name  string
		steps []step
	}{
		{"pair, relay, leave", []step{
			{op: "join", room: r("a"), member: "m1", want: []room.Outcome{out(room.Joined, r("a"), "m1", "", "")}},
			{op: "join", room: r("a"), member: "m2", want: []room.Outcome{out(room.Joined, r("a"), "m2", "m1", "")}},
			{op: "relay", room: r("a"), member: "m1", data: offer, want: []room.Outcome{out(room.Relayed, r("a"), "m1", "m2", offer)}},
			{op: "join", room: r("a"), member: "m3", want: []room.Outcome{out(room.Full, r("a"), "m3", "", "")}},
			{op: "relay", room: r("a"), member: "m3", data: offer, err: room.ErrNotInRoom},
			{op: "leave", room: r("a"), member: "m1", want: []room.Outcome{out(room.Left, r("a"), "m1", "m2", "")}},
			{op: "relay", room: r("a"), member: "m2", data: offer},
			{op: "join", room: r("a"), member: "m3", want: []room.Outcome{out(room.Joined, r("a"), "m3", "m2", "")}},
			{op: "disconnect", member: "m3", want: []room.Outcome{out(room.Gone, r("a"), "m3", "m2", "")}},
			{op: "disconnect", member: "m2", want: []room.Outcome{out(room.Gone, r("a"), "m2", "", "")}},
			{op: "disconnect", member: "m2"},
		}},
		{"a seat taken back", []step{
			{op: "join", room: r("s"), member: "p1", want: []room.Outcome{out(room.Joined, r("s"), "p1", "", "")}},
			{op: "join", room: r("s"), member: "p2", want: []room.Outcome{out(room.Joined, r("s"), "p2", "p1", "")}},
			{op: "resume", room: r("s"), key: "p1.wrong", member: "p3", err: room.ErrNoSeat},
			{op: "resume", room: r("s"), key: "nobody.secret", member: "p3", err: room.ErrNoSeat},
			{op: "resume", room: r("e"), key: keyOf("p1"), member: "p3", err: room.ErrNoSeat},
			{op: "resume", room: r("s"), key: keyOf("p1"), member: "p2", err: room.ErrAlreadyJoined},
			{op: "resume", room: r("s"), key: keyOf("p1"), member: "p3", want: []room.Outcome{
				out(room.Replaced, r("s"), "p1", "", ""), out(room.Resumed, r("s"), "p3", "p2", "")}},
			{op: "disconnect", member: "p1"}, // the dead socket's end changes nothing
			{op: "relay", room: r("s"), member: "p2", data: offer, want: []room.Outcome{out(room.Relayed, r("s"), "p2", "p3", offer)}},
			{op: "resume", room: r("s"), key: keyOf("p1"), member: "p4", err: room.ErrNoSeat}, // used up
			{op: "resume", room: r("s"), key: keyOf("p3"), member: "p4", want: []room.Outcome{
				out(room.Replaced, r("s"), "p3", "", ""), out(room.Resumed, r("s"), "p4", "p2", "")}},
			{op: "disconnect", member: "p2", want: []room.Outcome{out(room.Gone, r("s"), "p2", "p4", "")}},
			{op: "resume", room: r("s"), key: keyOf("p2"), member: "p5", err: room.ErrNoSeat}, // gone with its socket
			{op: "leave", room: r("s"), member: "p4", want: []room.Outcome{out(room.Left, r("s"), "p4", "", "")}},
			{op: "resume", room: r("s"), key: keyOf("p4"), member: "p5", err: room.ErrNoSeat},
		}},
		{"refusals", []step{
			{op: "join", room: r("b"), member: "n1", want: []room.Outcome{out(room.Joined, r("b"), "n1", "", "")}},
			{op: "join", room: r("b"), member: "n1", err: room.ErrAlreadyJoined},
			{op: "join", room: r("c"), member: "n1", err: room.ErrInOtherRoom},
			{op: "leave", room: r("c"), member: "n1", err: room.ErrNotInRoom},
			{op: "relay", room: r("c"), member: "n1", data: offer, err: room.ErrNotInRoom},
			{op: "leave", room: r("b"), member: "n1", want: []room.Outcome{out(room.Left, r("b"), "n1", "", "")}},
			{op: "leave", room: r("b"), member: "n1", err: room.ErrNotInRoom},
		}},
		{"locks", []step{
			{op: "lock", room: r("d")},
			{op: "join", room: r("d"), member: "p1", lock: "h1", want: []room.Outcome{out(room.Joined, r("d"), "p1", "", "")}},
			{op: "lock", room: r("d"), lock: "h1", count: 1},
			{op: "join", room: r("d"), member: "p2", err: room.ErrLockChanged},
			{op: "join", room: r("d"), member: "p2", lock: "h2", err: room.ErrLockChanged},
			{op: "join", room: r("d"), member: "p2", lock: "h1", want: []room.Outcome{out(room.Joined, r("d"), "p2", "p1", "")}},
			// A protected room that is full says so only to a joiner holding its lock.
			{op: "join", room: r("d"), member: "p3", err: room.ErrLockChanged},
			{op: "join", room: r("d"), member: "p3", lock: "h1", want: []room.Outcome{out(room.Full, r("d"), "p3", "", "")}},
			{op: "leave", room: r("d"), member: "p1", want: []room.Outcome{out(room.Left, r("d"), "p1", "p2", "")}},
			{op: "lock", room: r("d"), lock: "h1", count: 1},
			{op: "disconnect", member: "p2", want: []room.Outcome{out(room.Gone, r("d"), "p2", "", "")}},
			// Empty, the room forgets its lock: the next one opens it as it likes.
			{op: "lock", room: r("d")},
			{op: "join", room: r("d"), member: "p3", want: []room.Outcome{out(room.Joined, r("d"), "p3", "", "")}},
			{op: "lock", room: r("d"), count: 1},
			{op: "leave", room: r("d"), member: "p3", want: []room.Outcome{out(room.Left, r("d"), "p3", "", "")}},
		}},
		// A seat taken back keeps the room's lock and start; the room's life goes on to its end.
		{"a locked seat taken back", []step{
			{op: "join", room: r("k"), member: "q1", lock: "h1", want: []room.Outcome{out(room.Joined, r("k"), "q1", "", "")}},
			{op: "join", room: r("k"), member: "q2", lock: "h1", want: []room.Outcome{out(room.Joined, r("k"), "q2", "q1", "")}},
			{op: "resume", room: r("k"), key: keyOf("q1"), member: "q3", want: []room.Outcome{
				out(room.Replaced, r("k"), "q1", "", ""), out(room.Resumed, r("k"), "q3", "q2", "")}},
			{op: "lock", room: r("k"), lock: "h1", count: 2},
			{op: "join", room: r("k"), member: "q4", lock: "h1", want: []room.Outcome{out(room.Full, r("k"), "q4", "", "")}},
			{op: "leave", room: r("k"), member: "q3", want: []room.Outcome{out(room.Left, r("k"), "q3", "q2", "")}},
			{op: "lock", room: r("k"), lock: "h1", count: 1},
			{op: "resume", room: r("k"), key: keyOf("q2"), member: "q5", want: []room.Outcome{
				out(room.Replaced, r("k"), "q2", "", ""), out(room.Resumed, r("k"), "q5", "", "")}},
			{op: "disconnect", member: "q5", want: []room.Outcome{out(room.Gone, r("k"), "q5", "", "")}},
			{op: "lock", room: r("k")},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hub, err := newHub()
			if err != nil {
				t.Fatal(err)
			}
			defer hub.Close()
			life := map[string]time.Time{} // each room's start, from its first join until it empties
			for i, s := range tc.steps {
				var d room.Delivery
				var err error
				switch s.op {
				case "join":
					d, err = hub.Join(s.room, s.member, s.lock, keyOf(s.member))
				case "lock":
					var lock access.Hash
					var n int
					if lock, n, err = hub.Lock(s.room); err == nil && (lock != s.lock || n != s.count) {
						t.Fatalf("step %d lock(%s) = %q, %d; want %q, %d", i, s.room, lock, n, s.lock, s.count)
					}
				case "resume":
					d, err = hub.Resume(s.room, s.key, s.member, keyOf(s.member))
				case "leave":
					d, err = hub.Leave(s.room, s.member)
				case "relay":
					d, err = hub.Relay(s.room, s.member, json.RawMessage(s.data))
				case "disconnect":
					d = hub.Disconnect(s.member)
				}
				d.Done()
				if !errors.Is(err, s.err) {
					t.Fatalf("step %d %s(%s, %s): error %v, want %v", i, s.op, s.room, s.member, err, s.err)
				}
				// The call's own outcomes come first, then those that reach the node from the store.
				got := d.Outcomes
				for _, want := range s.want {
					var o room.Outcome
					if len(got) > 0 {
						o, got = got[0], got[1:]
					} else {
						select {
						case o = <-hub.Incoming():
						case <-time.After(5 * time.Second):
							t.Fatalf("step %d %s(%s, %s): no outcome, want %+v", i, s.op, s.room, s.member, want)
						}
					}
					if o.Kind != want.Kind || o.Room != want.Room || o.Member != want.Member || o.Peer != want.Peer || string(o.Data) != string(want.Data) {
						t.Fatalf("step %d %s(%s, %s): outcome %+v, want %+v", i, s.op, s.room, s.member, o, want)
					}
					checkLife(t, life, o)
				}
				if len(got) > 0 {
					t.Fatalf("step %d %s(%s, %s): unexpected outcome %+v", i, s.op, s.room, s.member, got[0])
				}
				select { // nothing more than wanted
				case o := <-hub.Incoming():
					t.Fatalf("step %d %s(%s, %s): unexpected outcome %+v", i, s.op, s.room, s.member, o)
				case <-time.After(20 * time.Millisecond):
				}
			}
			if occ := hub.Occupancy(); occ != [room.Capacity + 1]int{} {
				t.Errorf("rooms left behind: %v", occ)
			}
		})
	}
}

// checkLife checks the outcomes that report a room's life: they concern a member of this node (Own),
// and carry the time the store recorded at the room's first join until the room empties.
func checkLife(t *testing.T, life map[string]time.Time, o room.Outcome) {
	t.Helper()
	switch o.Kind {
	case room.Joined, room.Left, room.Gone:
	default:
		return
	}
	if !o.Own {
		t.Fatalf("%+v: not marked as this node's member", o)
	}
	if d := time.Since(o.Started); d < -time.Second || d > time.Minute {
		t.Fatalf("%+v: room started %v ago", o, d)
	}
	started, ok := life[o.Room]
	switch {
	case !ok && o.Kind == room.Joined:
		life[o.Room] = o.Started
	case !o.Started.Equal(started):
		t.Fatalf("%+v: room started at %v, earlier outcomes said %v", o, o.Started, started)
	}
	if o.Kind != room.Joined && o.Peer == "" {
		delete(life, o.Room)
	}
}
