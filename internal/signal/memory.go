package signal

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"duet/internal/access"
	"duet/internal/room"
)

// memoryHub is the single-node hub: the room table in this process.
type memoryHub struct {
	apply Apply
	// mu orders every change with the delivery of its events, so a member never sees them out of
	// order; relays take it shared, so they cannot overtake a bye yet run in parallel.
	mu    sync.RWMutex
	rooms *room.Rooms
	meta  map[string]roomMeta    // of every room with someone in it
	keys  map[room.Member]string // resume key of each seated member
}

// roomMeta is what a room keeps beside its members, for its life.
type roomMeta struct {
	lock    access.Hash
	started time.Time
}

// NewMemoryHub is the default hub.
func NewMemoryHub(apply Apply) (Hub, error) {
	return &memoryHub{apply: apply, rooms: room.New(), meta: map[string]roomMeta{}, keys: map[room.Member]string{}}, nil
}

func (h *memoryHub) Lock(name string) (access.Hash, int, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.meta[name].lock, h.rooms.Count(name), nil
}

func (h *memoryHub) Join(name string, m room.Member, lock access.Hash, key string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := h.rooms.Count(name)
	if n > 0 && h.meta[name].lock != lock {
		return ErrLockChanged
	}
	peer, err := h.rooms.Join(name, m)
	switch {
	case errors.Is(err, room.ErrFull):
		h.apply(Outcome{Kind: Full, Room: name, Member: m, Own: true})
	case err != nil:
		return err
	default:
		if n == 0 {
			h.meta[name] = roomMeta{lock: lock, started: time.Now()}
		}
		h.keys[m] = key
		h.apply(Outcome{Kind: Joined, Room: name, Member: m, Peer: peer, Started: h.meta[name].started, Own: true})
	}
	return nil
}

func (h *memoryHub) Resume(name, key string, m room.Member, newKey string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	old, ok := KeyOwner(key)
	if !ok || h.keys[old] == "" || subtle.ConstantTimeCompare([]byte(h.keys[old]), []byte(key)) != 1 {
		return ErrNoSeat
	}
	peer, err := h.rooms.Replace(name, old, m)
	if errors.Is(err, room.ErrNotInRoom) {
		return ErrNoSeat
	} else if err != nil {
		return err
	}
	delete(h.keys, old)
	h.keys[m] = newKey
	h.apply(Outcome{Kind: Replaced, Room: name, Member: old})
	h.apply(Outcome{Kind: Resumed, Room: name, Member: m, Peer: peer})
	return nil
}

func (h *memoryHub) Leave(name string, m room.Member) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	peer, err := h.rooms.Leave(name, m)
	if err != nil {
		return err
	}
	delete(h.keys, m)
	h.apply(Outcome{Kind: Left, Room: name, Member: m, Peer: peer, Started: h.ended(name), Own: true})
	return nil
}

func (h *memoryHub) Disconnect(m room.Member) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if name, peer, ok := h.rooms.LeaveAll(m); ok {
		delete(h.keys, m)
		h.apply(Outcome{Kind: Gone, Room: name, Member: m, Peer: peer, Started: h.ended(name), Own: true})
	}
}

// ended returns the room's start and forgets its lock once nobody is left (h.mu held).
func (h *memoryHub) ended(name string) time.Time {
	started := h.meta[name].started
	if h.rooms.Count(name) == 0 {
		delete(h.meta, name)
	}
	return started
}

func (h *memoryHub) Relay(name string, from room.Member, data json.RawMessage) error {
	h.mu.RLock()
	defer h.mu.RUnlock()
	peer, err := h.rooms.Peer(name, from)
	if err != nil {
		return err
	}
	if peer != "" {
		h.apply(Outcome{Kind: Relayed, Room: name, Member: from, Peer: peer, Data: data})
	}
	return nil
}

func (h *memoryHub) Occupancy() [room.Capacity + 1]int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.rooms.Occupancy()
}

func (h *memoryHub) Close() error { return nil }
