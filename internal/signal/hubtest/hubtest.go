// Package hubtest checks that a signal.Hub keeps the room contract: the same table of joins, leaves,
// disconnects and relays must give the same outcomes, in order, from every implementation.
package hubtest

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"duet/internal/room"
	"duet/internal/signal"
)

type step struct {
	op, room string
	key      string // for resume: the key presented
	member   room.Member
	data     string
	err      error
	want     []signal.Outcome
}

func out(k signal.Kind, name string, m, peer room.Member, data string) signal.Outcome {
	o := signal.Outcome{Kind: k, Room: name, Member: m, Peer: peer}
	if data != "" {
		o.Data = json.RawMessage(data)
	}
	return o
}

// keyOf is the resume key the cases give each member's seat.
func keyOf(m room.Member) string { return string(m) + ".secret-of-" + string(m) }

// Run drives a fresh hub from newHub through each case; room names carry prefix so that runs
// against a shared store do not meet.
func Run(t *testing.T, prefix string, newHub signal.NewHub) {
	r := func(name string) string { return prefix + name }
	offer := `{"type":"offer","sdp":"v=0\r\n","n":1.0}`
	cases := []struct {
		name  string
		steps []step
	}{
		{"pair, relay, leave", []step{
			{op: "join", room: r("a"), member: "m1", want: []signal.Outcome{out(signal.Joined, r("a"), "m1", "", "")}},
			{op: "join", room: r("a"), member: "m2", want: []signal.Outcome{out(signal.Joined, r("a"), "m2", "m1", "")}},
			{op: "relay", room: r("a"), member: "m1", data: offer, want: []signal.Outcome{out(signal.Relayed, r("a"), "m1", "m2", offer)}},
			{op: "join", room: r("a"), member: "m3", want: []signal.Outcome{out(signal.Full, r("a"), "m3", "", "")}},
			{op: "relay", room: r("a"), member: "m3", data: offer, err: room.ErrNotInRoom},
			{op: "leave", room: r("a"), member: "m1", want: []signal.Outcome{out(signal.Left, r("a"), "m1", "m2", "")}},
			{op: "relay", room: r("a"), member: "m2", data: offer},
			{op: "join", room: r("a"), member: "m3", want: []signal.Outcome{out(signal.Joined, r("a"), "m3", "m2", "")}},
			{op: "disconnect", member: "m3", want: []signal.Outcome{out(signal.Gone, r("a"), "m3", "m2", "")}},
			{op: "disconnect", member: "m2", want: []signal.Outcome{out(signal.Gone, r("a"), "m2", "", "")}},
			{op: "disconnect", member: "m2"},
		}},
		{"a seat taken back", []step{
			{op: "join", room: r("d"), member: "p1", want: []signal.Outcome{out(signal.Joined, r("d"), "p1", "", "")}},
			{op: "join", room: r("d"), member: "p2", want: []signal.Outcome{out(signal.Joined, r("d"), "p2", "p1", "")}},
			{op: "resume", room: r("d"), key: "p1.wrong", member: "p3", err: signal.ErrNoSeat},
			{op: "resume", room: r("d"), key: "nobody.secret", member: "p3", err: signal.ErrNoSeat},
			{op: "resume", room: r("e"), key: keyOf("p1"), member: "p3", err: signal.ErrNoSeat},
			{op: "resume", room: r("d"), key: keyOf("p1"), member: "p2", err: room.ErrAlreadyJoined},
			{op: "resume", room: r("d"), key: keyOf("p1"), member: "p3", want: []signal.Outcome{
				out(signal.Replaced, r("d"), "p1", "", ""), out(signal.Resumed, r("d"), "p3", "p2", "")}},
			{op: "disconnect", member: "p1"}, // the dead socket's end changes nothing
			{op: "relay", room: r("d"), member: "p2", data: offer, want: []signal.Outcome{out(signal.Relayed, r("d"), "p2", "p3", offer)}},
			{op: "resume", room: r("d"), key: keyOf("p1"), member: "p4", err: signal.ErrNoSeat}, // used up
			{op: "resume", room: r("d"), key: keyOf("p3"), member: "p4", want: []signal.Outcome{
				out(signal.Replaced, r("d"), "p3", "", ""), out(signal.Resumed, r("d"), "p4", "p2", "")}},
			{op: "disconnect", member: "p2", want: []signal.Outcome{out(signal.Gone, r("d"), "p2", "p4", "")}},
			{op: "resume", room: r("d"), key: keyOf("p2"), member: "p5", err: signal.ErrNoSeat}, // gone with its socket
			{op: "leave", room: r("d"), member: "p4", want: []signal.Outcome{out(signal.Left, r("d"), "p4", "", "")}},
			{op: "resume", room: r("d"), key: keyOf("p4"), member: "p5", err: signal.ErrNoSeat},
		}},
		{"refusals", []step{
			{op: "join", room: r("b"), member: "n1", want: []signal.Outcome{out(signal.Joined, r("b"), "n1", "", "")}},
			{op: "join", room: r("b"), member: "n1", err: room.ErrAlreadyJoined},
			{op: "join", room: r("c"), member: "n1", err: room.ErrInOtherRoom},
			{op: "leave", room: r("c"), member: "n1", err: room.ErrNotInRoom},
			{op: "relay", room: r("c"), member: "n1", data: offer, err: room.ErrNotInRoom},
			{op: "leave", room: r("b"), member: "n1", want: []signal.Outcome{out(signal.Left, r("b"), "n1", "", "")}},
			{op: "leave", room: r("b"), member: "n1", err: room.ErrNotInRoom},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := make(chan signal.Outcome, 16)
			hub, err := newHub(func(o signal.Outcome) { got <- o })
			if err != nil {
				t.Fatal(err)
			}
			defer hub.Close()
			for i, s := range tc.steps {
				var err error
				switch s.op {
				case "join":
					err = hub.Join(s.room, s.member, keyOf(s.member))
				case "resume":
					err = hub.Resume(s.room, s.key, s.member, keyOf(s.member))
				case "leave":
					err = hub.Leave(s.room, s.member)
				case "relay":
					err = hub.Relay(s.room, s.member, json.RawMessage(s.data))
				case "disconnect":
					hub.Disconnect(s.member)
				}
				if !errors.Is(err, s.err) {
					t.Fatalf("step %d %s(%s, %s): error %v, want %v", i, s.op, s.room, s.member, err, s.err)
				}
				for _, want := range s.want {
					select {
					case o := <-got:
						if o.Kind != want.Kind || o.Room != want.Room || o.Member != want.Member || o.Peer != want.Peer || string(o.Data) != string(want.Data) {
							t.Fatalf("step %d %s(%s, %s): outcome %+v, want %+v", i, s.op, s.room, s.member, o, want)
						}
					case <-time.After(5 * time.Second):
						t.Fatalf("step %d %s(%s, %s): no outcome, want %+v", i, s.op, s.room, s.member, want)
					}
				}
				select { // nothing more than wanted
				case o := <-got:
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
