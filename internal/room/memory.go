package room

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"duet/internal/access"
)

// memoryHub is the single-node hub: the room table in this process. Its lock covers the table only;
// the outcomes go back to the caller, and each room's deliveries follow one another (Delivery).
type memoryHub struct {
	mu    sync.RWMutex
	rooms *Rooms
	meta  map[string]roomMeta // of every room with someone in it
	keys  map[Member]string   // resume key of each seated member
	turns map[string]*turn    // of every room with someone in it

	incoming chan Outcome // nothing comes from elsewhere: closed by Close
	closing  sync.Once
}

// roomMeta is what a room keeps beside its members, for its life.
type roomMeta struct {
	lock    access.Hash
	started time.Time
}

// NewMemoryHub is the default hub, the room table of a single node.
func NewMemoryHub() (Hub, error) {
	return &memoryHub{rooms: New(), meta: map[string]roomMeta{}, keys: map[Member]string{},
		turns: map[string]*turn{}, incoming: make(chan Outcome)}, nil
}

// deliver queues outs behind the room's earlier deliveries (h.mu held). A room left empty forgets its
// turn: its next change concerns none of the members this one goes to.
func (h *memoryHub) deliver(name string, outs ...Outcome) Delivery {
	t := h.turns[name]
	if t == nil {
		t = newTurn()
		h.turns[name] = t
	}
	d := Delivery{Outcomes: outs, turn: t, ticket: t.issued.Add(1) - 1}
	if h.rooms.Count(name) == 0 {
		delete(h.turns, name)
	}
	return d
}

// wait returns d once the room's earlier deliveries are done (h.mu not held).
func wait(d Delivery, err error) (Delivery, error) {
	if d.turn != nil {
		d.turn.wait(d.ticket)
	}
	return d, err
}

func (h *memoryHub) Lock(name string) (access.Hash, int, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.meta[name].lock, h.rooms.Count(name), nil
}

func (h *memoryHub) Join(name string, m Member, lock access.Hash, key string) (Delivery, error) {
	h.mu.Lock()
	d, err := h.join(name, m, lock, key)
	h.mu.Unlock()
	return wait(d, err)
}

func (h *memoryHub) join(name string, m Member, lock access.Hash, key string) (Delivery, error) {
	n := h.rooms.Count(name)
	if n > 0 && h.meta[name].lock != lock {
		return Delivery{}, ErrLockChanged
	}
	peer, err := h.rooms.Join(name, m)
	switch {
	case errors.Is(err, ErrFull):
		return h.deliver(name, Outcome{Kind: Full, Room: name, Member: m, Own: true}), nil
	case err != nil:
		return Delivery{}, err
	}
	if n == 0 {
		h.meta[name] = roomMeta{lock: lock, started: time.Now()}
	}
	h.keys[m] = key
	return h.deliver(name, Outcome{Kind: Joined, Room: name, Member: m, Peer: peer, Started: h.meta[name].started, Own: true}), nil
}

func (h *memoryHub) Resume(name, key string, m Member, newKey string) (Delivery, error) {
	h.mu.Lock()
	d, err := h.resume(name, key, m, newKey)
	h.mu.Unlock()
	return wait(d, err)
}

func (h *memoryHub) resume(name, key string, m Member, newKey string) (Delivery, error) {
	old, ok := KeyOwner(key)
	if !ok || h.keys[old] == "" || subtle.ConstantTimeCompare([]byte(h.keys[old]), []byte(key)) != 1 {
		return Delivery{}, ErrNoSeat
	}
	peer, err := h.rooms.Replace(name, old, m)
	if errors.Is(err, ErrNotInRoom) {
		return Delivery{}, ErrNoSeat
	} else if err != nil {
		return Delivery{}, err
	}
	delete(h.keys, old)
	h.keys[m] = newKey
	return h.deliver(name, Outcome{Kind: Replaced, Room: name, Member: old},
		Outcome{Kind: Resumed, Room: name, Member: m, Peer: peer}), nil
}

func (h *memoryHub) Leave(name string, m Member) (Delivery, error) {
	h.mu.Lock()
	d, err := h.leave(name, m)
	h.mu.Unlock()
	return wait(d, err)
}

func (h *memoryHub) leave(name string, m Member) (Delivery, error) {
	peer, err := h.rooms.Leave(name, m)
	if err != nil {
		return Delivery{}, err
	}
	delete(h.keys, m)
	return h.deliver(name, Outcome{Kind: Left, Room: name, Member: m, Peer: peer, Started: h.ended(name), Own: true}), nil
}

func (h *memoryHub) Disconnect(m Member) Delivery {
	h.mu.Lock()
	var d Delivery
	if name, peer, ok := h.rooms.LeaveAll(m); ok {
		delete(h.keys, m)
		d = h.deliver(name, Outcome{Kind: Gone, Room: name, Member: m, Peer: peer, Started: h.ended(name), Own: true})
	}
	h.mu.Unlock()
	d, _ = wait(d, nil)
	return d
}

// ended returns the room's start and forgets its lock once nobody is left (h.mu held).
func (h *memoryHub) ended(name string) time.Time {
	started := h.meta[name].started
	if h.rooms.Count(name) == 0 {
		delete(h.meta, name)
	}
	return started
}

// Relay reads the table only, so relays run in parallel; a room with two members has its turn from
// the joins.
func (h *memoryHub) Relay(name string, from Member, data json.RawMessage) (Delivery, error) {
	h.mu.RLock()
	peer, err := h.rooms.Peer(name, from)
	var d Delivery
	if err == nil && peer != "" {
		t := h.turns[name]
		d = Delivery{Outcomes: []Outcome{{Kind: Relayed, Room: name, Member: from, Peer: peer, Data: data}}, turn: t, ticket: t.issued.Add(1) - 1}
	}
	h.mu.RUnlock()
	return wait(d, err)
}

func (h *memoryHub) Occupancy() [Capacity + 1]int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.rooms.Occupancy()
}

func (h *memoryHub) Incoming() <-chan Outcome { return h.incoming }

func (h *memoryHub) Close() error {
	h.closing.Do(func() { close(h.incoming) })
	return nil
}
