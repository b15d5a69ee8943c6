package signal

import (
	"encoding/json"
	"errors"
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
	// ErrLockChanged and nothing changes). The outcome is Joined or Full. Errors: room.ErrInOtherRoom,
	// room.ErrAlreadyJoined, ErrLockChanged, ErrUnavailable.
	Join(name string, m room.Member, lock access.Hash) error
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

// Kind says what changed.
type Kind uint8

const (
	Joined  Kind = iota + 1 // Member joined Room; Peer was already there ("" if none)
	Full                    // Member was refused: Room holds two
	Left                    // Member left Room; Peer stays
	Gone                    // Member disconnected from Room; Peer stays
	Relayed                 // Member sent Data to Peer in Room
	Evicted                 // the store lost Member's seat in Room (its data was lost and the room filled)
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
