package room

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"duet/internal/access"
)

// Hub holds the room table and carries the changes it makes to every node with a member concerned.
// The in-memory hub serves one node; a shared one (Redis) lets the two people of a room sit on
// different nodes. A change reaches this node either in the Delivery the call returns or, from a
// shared store, on Incoming; either way each member hears of the changes in the order they were made.
type Hub interface {
	// Lock reads the password hash of room ("" for an open room) and how many people are in it.
	// Errors: ErrUnavailable.
	Lock(name string) (lock access.Hash, members int, err error)
	// Join puts m in room if the room's lock is still lock: an empty room takes lock as its own
	// ("" opens it), a room with people in it takes m only under the lock it has (else
	// ErrLockChanged and nothing changes). The outcome is Joined or Full. A joined member's seat is
	// kept with key, which Resume wants. Errors: ErrInOtherRoom, ErrAlreadyJoined, ErrLockChanged,
	// ErrUnavailable.
	Join(name string, m Member, lock access.Hash, key string) (Delivery, error)
	// Resume gives the seat held in room under key to m, who is in no room, and keeps it under
	// newKey: a page back on a new socket before its dead one was noticed. The outcomes are Replaced
	// (to the old member's node, which closes its socket) then Resumed (to m's); the peer hears
	// nothing, it is the same person. ErrNoSeat when no seat is held under key (the old socket is gone
	// or the key is wrong): join instead. The room's lock and start are untouched. Other errors as
	// for Join.
	Resume(name string, key string, m Member, newKey string) (Delivery, error)
	// Leave takes m out of room (outcome Left); ErrNotInRoom if it is not there.
	Leave(name string, m Member) (Delivery, error)
	// Disconnect takes m out of whatever room it is in (outcome Gone).
	Disconnect(m Member) Delivery
	// Relay hands data to the other member of room (outcome Relayed, none when m is alone).
	Relay(name string, from Member, data json.RawMessage) (Delivery, error)
	// Occupancy counts the rooms by the number of people in them.
	Occupancy() [Capacity + 1]int
	// Incoming carries, in order, the outcomes that reach this node from a shared store; Close
	// closes it.
	Incoming() <-chan Outcome
	Close() error
}

// Delivery is what one call changed, for the caller to deliver to this node's members, in order,
// before calling Done: the room's next change waits for Done, so nobody hears of two changes in
// another order than they were made, and the hub holds no lock while they are delivered.
type Delivery struct {
	Outcomes []Outcome
	turn     *turn // of the room, in the in-memory hub
	ticket   uint64
}

// Done lets the room's next delivery go.
func (d Delivery) Done() {
	if d.turn != nil {
		d.turn.next()
	}
}

// turn orders the deliveries of one room: each change takes the next ticket under the hub's lock,
// and is handed back once the deliveries of every earlier ticket are done. Relays, which change
// nothing, take theirs under the shared lock: they may pass each other, never a change.
type turn struct {
	issued  atomic.Uint64 // tickets taken: under the hub's lock, which relays hold shared
	done    atomic.Uint64 // tickets whose delivery is done
	waiting atomic.Int32  // callers in wait's slow path
	mu      sync.Mutex
	cond    sync.Cond // on mu: done moved while someone waits
}

func newTurn() *turn {
	t := &turn{}
	t.cond.L = &t.mu
	return t
}

// wait returns once every ticket before ticket is done; at once, with nothing locked, when they are.
func (t *turn) wait(ticket uint64) {
	if t.done.Load() == ticket {
		return
	}
	t.mu.Lock()
	t.waiting.Add(1)
	for t.done.Load() != ticket {
		t.cond.Wait()
	}
	t.waiting.Add(-1)
	t.mu.Unlock()
}

// next ends a ticket's delivery; a waiter counted before done moved is woken, one counted after
// sees done moved.
func (t *turn) next() {
	t.done.Add(1)
	if t.waiting.Load() > 0 {
		t.mu.Lock()
		t.cond.Broadcast()
		t.mu.Unlock()
	}
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
func KeyOwner(key string) (Member, bool) {
	i := strings.LastIndexByte(key, '.')
	if i <= 0 || i == len(key)-1 {
		return "", false
	}
	return Member(key[:i]), true
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

// kindNames names every Kind; a shared store's scripts refer to the kinds by these names.
var kindNames = [...]string{Joined: "joined", Full: "full", Left: "left", Gone: "gone", Relayed: "relayed",
	Evicted: "evicted", Resumed: "resumed", Replaced: "replaced"}

// Kinds lists every Kind, in order.
func Kinds() []Kind {
	ks := make([]Kind, 0, len(kindNames)-1)
	for k := Joined; int(k) < len(kindNames); k++ {
		ks = append(ks, k)
	}
	return ks
}

// String is the kind's name, or kind(N) for a number that names none.
func (k Kind) String() string {
	if k >= Joined && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Outcome is one change of the room table, with the members it concerns.
type Outcome struct {
	Kind         Kind
	Room         string
	Member, Peer Member
	Data         json.RawMessage
	// Started is when the room got its first member, as the store recorded it (Joined, Left, Gone).
	Started time.Time
	// Own: Member is connected to this node, which therefore reports the change outside
	// (webhooks), once across nodes (Joined, Left, Gone).
	Own bool
}
