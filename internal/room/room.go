// Package room says what a room is, apart from Socket.IO: the two-person state machine (Rooms), the
// contract of a room store (Hub: its calls, the Outcome of each change, its errors), the in-memory
// hub of a single node, and in roomtest the conformance suite every hub passes.
package room

import "errors"

// Capacity is how many people a room holds: duet makes 1-to-1 calls.
const Capacity = 2

// Errors a caller maps to the protocol's refusals.
var (
	ErrFull          = errors.New("room is full")
	ErrNotInRoom     = errors.New("not in this room")
	ErrInOtherRoom   = errors.New("already in another room")
	ErrAlreadyJoined = errors.New("already in this room")
)

// Member identifies one participant (a Socket.IO socket id).
type Member string

// Rooms is the in-memory room table. It is not safe for concurrent use: the caller serializes, so that
// it can also deliver the resulting events in the order the state changed.
type Rooms struct {
	members map[string][]Member // room name → members, in join order
	where   map[Member]string   // member → the one room it is in
}

// New returns an empty room table.
func New() *Rooms {
	return &Rooms{members: map[string][]Member{}, where: map[Member]string{}}
}

// Join puts m into room and returns the member already there, if any ("" when m is alone).
func (r *Rooms) Join(room string, m Member) (peer Member, err error) {
	if in, ok := r.where[m]; ok {
		if in == room {
			return "", ErrAlreadyJoined
		}
		return "", ErrInOtherRoom
	}
	ms := r.members[room]
	if len(ms) >= Capacity {
		return "", ErrFull
	}
	if len(ms) == 1 {
		peer = ms[0]
	}
	r.members[room] = append(ms, m)
	r.where[m] = room
	return peer, nil
}

// Count is how many people are in room.
func (r *Rooms) Count(room string) int { return len(r.members[room]) }

// Leave takes m out of room and returns the member who stays, if any.
func (r *Rooms) Leave(room string, m Member) (peer Member, err error) {
	if r.where[m] != room {
		return "", ErrNotInRoom
	}
	return r.remove(room, m), nil
}

// LeaveAll takes m out of whatever room it is in (on disconnect); ok is false when it was in none.
func (r *Rooms) LeaveAll(m Member) (room string, peer Member, ok bool) {
	room, ok = r.where[m]
	if !ok {
		return "", "", false
	}
	return room, r.remove(room, m), true
}

// Peer returns the other member of room, checking that m is in it; "" when m is alone.
func (r *Rooms) Peer(room string, m Member) (Member, error) {
	if r.where[m] != room {
		return "", ErrNotInRoom
	}
	for _, o := range r.members[room] {
		if o != m {
			return o, nil
		}
	}
	return "", nil
}

// Replace gives old's seat in room to m, who must be in no room (a page taking its own seat back
// from its dead socket), and returns the member who stays, if any.
func (r *Rooms) Replace(room string, old, m Member) (peer Member, err error) {
	if r.where[old] != room {
		return "", ErrNotInRoom
	}
	if in, ok := r.where[m]; ok {
		if in == room {
			return "", ErrAlreadyJoined
		}
		return "", ErrInOtherRoom
	}
	ms := r.members[room]
	for i, o := range ms {
		if o == old {
			ms[i] = m
		} else {
			peer = o
		}
	}
	delete(r.where, old)
	r.where[m] = room
	return peer, nil
}

// Occupancy returns how many rooms hold n members, for n from 1 to Capacity (index 0 is unused).
func (r *Rooms) Occupancy() [Capacity + 1]int {
	var o [Capacity + 1]int
	for _, ms := range r.members {
		o[len(ms)]++
	}
	return o
}

// remove deletes m from room (the caller holds mu) and drops the room when it becomes empty.
func (r *Rooms) remove(room string, m Member) (peer Member) {
	delete(r.where, m)
	var rest []Member
	for _, o := range r.members[room] {
		if o != m {
			rest = append(rest, o)
		}
	}
	if len(rest) == 0 {
		delete(r.members, room)
		return ""
	}
	r.members[room] = rest
	return rest[0]
}
