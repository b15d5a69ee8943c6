package room

import (
	"errors"
	"strings"
	"testing"
)

// step is one operation on the table and what it must return.
type step struct {
	op      string // join, leave, leaveall, peer, replace
	room    string
	old     Member // for replace: the seat's holder
	member  Member
	peer    Member
	err     error
	gotRoom string // for leaveall
}

func TestRooms(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
		occ   [Capacity + 1]int
	}{
		{"first join is alone", []step{
			{op: "join", room: "r1", member: "a"},
		}, [3]int{0, 1, 0}},
		{"second join sees the first", []step{
			{op: "join", room: "r1", member: "a"},
			{op: "join", room: "r1", member: "b", peer: "a"},
			{op: "peer", room: "r1", member: "a", peer: "b"},
			{op: "peer", room: "r1", member: "b", peer: "a"},
		}, [3]int{0, 0, 1}},
		{"third join is refused and not admitted", []step{
			{op: "join", room: "r1", member: "a"},
			{op: "join", room: "r1", member: "b", peer: "a"},
			{op: "join", room: "r1", member: "c", err: ErrFull},
			{op: "peer", room: "r1", member: "c", err: ErrNotInRoom},
			{op: "leaveall", member: "c"},
		}, [3]int{0, 0, 1}},
		{"leave tells who stays", []step{
			{op: "join", room: "r1", member: "a"},
			{op: "join", room: "r1", member: "b", peer: "a"},
			{op: "leave", room: "r1", member: "a", peer: "b"},
			{op: "peer", room: "r1", member: "b"},
		}, [3]int{0, 1, 0}},
		{"last leave removes the room", []step{
			{op: "join", room: "r1", member: "a"},
			{op: "leave", room: "r1", member: "a"},
			{op: "peer", room: "r1", member: "a", err: ErrNotInRoom},
		}, [3]int{}},
		{"disconnect leaves the room", []step{
			{op: "join", room: "r1", member: "a"},
			{op: "join", room: "r1", member: "b", peer: "a"},
			{op: "leaveall", member: "b", gotRoom: "r1", peer: "a"},
			{op: "leaveall", member: "b"},
		}, [3]int{0, 1, 0}},
		{"rejoin after bye", []step{
			{op: "join", room: "r1", member: "a"},
			{op: "join", room: "r1", member: "b", peer: "a"},
			{op: "leaveall", member: "b", gotRoom: "r1", peer: "a"},
			{op: "join", room: "r1", member: "c", peer: "a"},
			{op: "peer", room: "r1", member: "a", peer: "c"},
		}, [3]int{0, 0, 1}},
		{"messages to foreign rooms are refused", []step{
			{op: "join", room: "r1", member: "a"},
			{op: "join", room: "r2", member: "b"},
			{op: "peer", room: "r2", member: "a", err: ErrNotInRoom},
			{op: "leave", room: "r2", member: "a", err: ErrNotInRoom},
			{op: "peer", room: "r2", member: "b"},
		}, [3]int{0, 2, 0}},
		{"one room at a time", []step{
			{op: "join", room: "r1", member: "a"},
			{op: "join", room: "r2", member: "a", err: ErrInOtherRoom},
			{op: "join", room: "r1", member: "a", err: ErrAlreadyJoined},
		}, [3]int{0, 1, 0}},
		{"a seat taken back keeps the peer", []step{
			{op: "join", room: "r1", member: "a"},
			{op: "join", room: "r1", member: "b", peer: "a"},
			{op: "replace", room: "r1", old: "a", member: "a2", peer: "b"},
			{op: "peer", room: "r1", member: "b", peer: "a2"},
			{op: "peer", room: "r1", member: "a", err: ErrNotInRoom},
			{op: "leaveall", member: "a"},
			{op: "replace", room: "r1", old: "a", member: "a3", err: ErrNotInRoom},
			{op: "join", room: "r2", member: "c"},
			{op: "replace", room: "r1", old: "a2", member: "c", err: ErrInOtherRoom},
			{op: "replace", room: "r1", old: "a2", member: "b", err: ErrAlreadyJoined},
			{op: "replace", room: "r2", old: "c", member: "c2"},
			{op: "join", room: "r2", member: "d", peer: "c2"},
		}, [3]int{0, 0, 2}},
		{"rooms are independent", []step{
			{op: "join", room: "r1", member: "a"},
			{op: "join", room: "r1", member: "b", peer: "a"},
			{op: "join", room: "r2", member: "c"},
			{op: "join", room: "r2", member: "d", peer: "c"},
			{op: "leave", room: "r1", member: "a", peer: "b"},
			{op: "peer", room: "r2", member: "c", peer: "d"},
		}, [3]int{0, 1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New()
			for i, s := range tt.steps {
				var peer Member
				var err error
				var room string
				switch s.op {
				case "join":
					peer, err = r.Join(s.room, s.member)
				case "leave":
					peer, err = r.Leave(s.room, s.member)
				case "peer":
					peer, err = r.Peer(s.room, s.member)
				case "replace":
					peer, err = r.Replace(s.room, s.old, s.member)
				case "leaveall":
					var ok bool
					room, peer, ok = r.LeaveAll(s.member)
					if ok != (s.gotRoom != "") {
						t.Fatalf("step %d %s(%s): ok = %v", i, s.op, s.member, ok)
					}
				}
				if !errors.Is(err, s.err) || peer != s.peer || room != s.gotRoom {
					t.Fatalf("step %d %s(%q, %q) = (%q, %q, %v), want (%q, %q, %v)",
						i, s.op, s.room, s.member, room, peer, err, s.gotRoom, s.peer, s.err)
				}
			}
			if got := r.Occupancy(); got != tt.occ {
				t.Fatalf("occupancy = %v, want %v", got, tt.occ)
			}
		})
	}
}

func TestValidName(t *testing.T) {
	long := strings.Repeat("r", MaxNameLen)
	tests := []struct {
		name string
		ok   bool
	}{
		{"a", true}, {"k4pxq-93tqa_7mz2b", true}, {long, true},
		{"", false}, {long + "r", false}, {"a b", false}, {"a/b", false}, {`a"b`, false}, {"é", false}, {"a\\u0041", false},
	}
	for _, tc := range tests {
		if got := ValidName(tc.name); got != tc.ok {
			t.Errorf("ValidName(%q) = %v, want %v", tc.name, got, tc.ok)
		}
	}
}
