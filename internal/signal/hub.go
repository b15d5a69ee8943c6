package signal

import (
	"encoding/json"
	"errors"
	"strings"
	"time"

	"duet/internal/access"
	"duet/internal/room"
)

// Hub holds the room table and carries the changes it makes to every node with a member concerned.
// The in-memory hub serves one node; a shared one (Redis) lets the two people of a room sit on
// different nodes. Every change is handed to the apply function given to the hub's constructor, on
// each node concerned, in the order the changes were made.
type Hub interface {
	// Lock reads the password hash of room ("" for an open room) and how many people are in it.
	// Errors: ErrUnavailable.
	Lock(name string) (lock access.Hash, members int, err error)
	// Join puts m in room if the room's lock is still lock: an empty room takes lock as its own
	// ("" opens it), a room with people in it takes m only under the lock it has (else
	// ErrLockChanged and nothing changes). The outcome is Joined or Full. A joined member's seat is
	// kept with key, which Resume wants. Errors: room.ErrInOtherRoom, room.ErrAlreadyJoined,
	// ErrLockChanged, ErrUnavailable.
	Join(name string, m room.Member, lock access.Hash, key string) error
	// Resume gives the seat held in room under key to m, who is in no room, and keeps it under
	// newKey: a page back on a new socket before its dead one was noticed. The outcomes are Replaced
	// (to the old member's node, which closes its socket) then Resumed (to m's); the peer hears
	// nothing, it is the same person. ErrNoSeat when no seat is held under key (the old socket is gone
	// or the key is wrong): join instead. The room's lock and start are untouched. Other errors as
	// for Join.
	Resume(name string, key string, m room.Member, newKey string) error
	// Leave takes m out of room (outcome Left); room.ErrNotInRoom if it is not there.
	Leave(name string, m room.Member) error
	// Disconnect takes m out of whatever room it is in (outcome Gone).
	Disconnect(m room.Member)
	// Relay hands data to the other member of room (outcome Relayed, none when m is alone).
	Relay(name string, from room.Member, data json.RawMessage) error
	// Occupancy counts the rooms by the number of people in them.
	Occupancy() [room.Capacity + 1]int
	Close() error
}

// ErrUnavailable means the shared room store cannot be reached.
var ErrUnavailable = errors.New("room store unavailable")

// ErrLockChanged means the room's lock is no longer the one the joiner was checked against (the room
// emptied and someone else opened it meanwhile): read it again.
var ErrLockChanged = errors.New("the room's password changed meanwhile")

// ErrNoSeat means no seat is held under a resume key.
var ErrNoSeat = errors.New("no seat held under this resume key")

// KeyOwner is the member a resume key was made for: keys are "<member>.<secret>", so a store looks
// the seat up by member and compares the whole key.
func KeyOwner(key string) (room.Member, bool) {
	i := strings.LastIndexByte(key, '.')
	if i <= 0 || i == len(key)-1 {
		return "", false
	}
	return room.Member(key[:i]), true
}

// Kind says what changed.
type Kind uint8

const (
	Joined   Kind = iota + 1 // Member joined Room; Peer was already there ("" if none)
	Full                     // Member was refused: Room holds two
	Left                     // Member left Room; Peer stays
	Gone                     // Member disconnected from Room; Peer stays
	Relayed                  // Member sent Data to Peer in Room
	Evicted                  // the store lost Member's seat in Room (its data was lost and the room filled)
	Resumed                  // Member took its own seat back in Room, where Peer is ("" if none)
	Replaced                 // Member's seat in Room went to its owner's new socket: close Member
)

// Outcome is one change of the room table, with the members it concerns.
type Outcome struct {
	Kind         Kind
	Room         string
	Member, Peer room.Member
	Data         json.RawMessage
	// Started is when the room got its first member, as the store recorded it (Joined, Left, Gone).
	Started time.Time
	// Own: Member is connected to this node, which therefore reports the change outside
	// (webhooks), once across nodes (Joined, Left, Gone).
	Own bool
}

// Apply delivers an outcome's events to the members connected to this node.
type Apply func(Outcome)

// NewHub makes a hub that calls apply for each change; nil in Config means the in-memory hub.
type NewHub func(apply Apply) (Hub, error)
