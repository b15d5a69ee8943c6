package redishub

// The node's background work: receiving outcomes, the heartbeat, registering again after Redis lost
// its data, and the janitor that reaps dead nodes.

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"duet/internal/room"
)

// receive hands the outcomes published to this node's channel, in order, to Incoming.
func (h *Hub) receive(ctx context.Context) {
	defer h.done.Done()
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		msg, err := h.ps.ReceiveTimeout(ctx, h.cfg.Heartbeat)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			var ne interface{ Timeout() bool }
			if errors.As(err, &ne) && ne.Timeout() {
				// Quiet channel: a ping proves the connection (and makes go-redis reconnect if it is dead).
				pctx, cancel := context.WithTimeout(ctx, h.cfg.OpTimeout)
				if perr := h.ps.Ping(pctx); perr != nil {
					h.subscribed.Store(false)
					h.registered.Store(false)
				}
				cancel()
				continue
			}
			if h.subscribed.Swap(false) {
				h.log.Warn("lost the redis subscription; resubscribing", "err", err)
			}
			// Redis may come back empty: healthy again only after a heartbeat finds the node's key.
			h.registered.Store(false)
			select { // go-redis redials and resubscribes on the next receive
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, h.cfg.Heartbeat)
			continue
		}
		backoff = 50 * time.Millisecond
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" && m.Channel == h.channel() {
				if !h.subscribed.Swap(true) {
					h.log.Info("subscribed to the node's redis channel", "channel", m.Channel)
					h.wake()
				}
			}
		case *redis.Message:
			o, err := decode(m.Payload, h.cfg.NodeID)
			if err != nil {
				h.log.Error("undecodable outcome from redis", "err", err)
				continue
			}
			h.send(o)
		}
	}
}

// tick runs the heartbeat, the retries and the janitor every Heartbeat.
func (h *Hub) tick(ctx context.Context) {
	defer h.done.Done()
	t := time.NewTicker(h.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			h.maintain(ctx)
		case <-h.kick:
			h.maintain(ctx)
		}
	}
}

// wake asks the maintenance goroutine for a round now.
func (h *Hub) wake() {
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

// maintain is one round: refresh (or redo) the node's registration, retry failed disconnects, and
// reap the nodes whose key expired.
func (h *Hub) maintain(ctx context.Context) {
	err := h.heartbeat(ctx)
	if err == nil {
		h.retryPending()
		err = h.janitor(ctx)
	}
	if err != nil {
		if b := h.lastErr.Load().(errBox); b.err == nil {
			h.log.Warn("redis unavailable", "err", err)
		}
		h.lastErr.Store(errBox{unavailable(err)})
		return
	}
	if b := h.lastErr.Load().(errBox); b.err != nil && h.registered.Load() {
		h.log.Info("redis available")
	}
	h.lastErr.Store(errBox{})
}

func (h *Hub) heartbeat(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.OpTimeout)
	defer cancel()
	ttl := strconv.FormatInt(h.cfg.TTL.Milliseconds(), 10)
	n, err := heartbeatScript.Run(ctx, h.rdb, nil, h.cfg.Prefix, h.cfg.NodeID, ttl).Int()
	if err != nil {
		return err
	}
	if n == 1 {
		h.registered.Store(true)
		return nil
	}
	// The node's key is gone: first start, Redis restarted without its data, or this node was out of
	// touch longer than TTL and was reaped. Register only while outcomes can reach us.
	if h.registered.Swap(false) {
		h.log.Warn("this node's registration vanished from redis; registering again")
	}
	if !h.subscribed.Load() {
		return errNotSubscribed
	}
	return h.register(ctx, ttl)
}

// register puts this node's members back (where their rooms still have a seat) and recreates the
// node's key. Nothing is published: for both members of a room that Redis forgot, the room simply is
// as it was.
func (h *Hub) register(ctx context.Context, ttl string) error {
	h.mu.Lock()
	pairs := make([]string, 0, 2*len(h.local))
	for m, r := range h.local {
		pairs = append(pairs, string(m), r)
	}
	h.mu.Unlock()
	total, lost := len(pairs)/2, 0
	for {
		n := min(len(pairs), 2*registerBatch)
		last := "0"
		if n == len(pairs) {
			last = "1"
		}
		args := []any{h.cfg.Prefix, h.cfg.NodeID, ttl, room.Capacity, last}
		for _, p := range pairs[:n] {
			args = append(args, p)
		}
		dropped, err := registerScript.Run(ctx, h.rdb, nil, args...).StringSlice()
		if err != nil {
			return err
		}
		lost += len(dropped)
		if len(dropped) > 0 {
			h.log.Warn("members could not be put back: their rooms filled meanwhile", "members", dropped)
			h.mu.Lock()
			evicted := make([]room.Outcome, 0, len(dropped))
			for _, m := range dropped {
				evicted = append(evicted, room.Outcome{Kind: room.Evicted, Room: h.local[room.Member(m)], Member: room.Member(m)})
				delete(h.local, room.Member(m))
			}
			h.mu.Unlock()
			for _, o := range evicted {
				h.send(o)
			}
		}
		pairs = pairs[n:]
		if last == "1" {
			break
		}
	}
	if total > 0 {
		h.log.Info("registered this node's members again", "restored", total-lost, "dropped", lost)
	}
	h.registered.Store(true)
	return nil
}

func (h *Hub) retryPending() {
	h.mu.Lock()
	ms := make([]room.Member, 0, len(h.pending))
	for m := range h.pending {
		ms = append(ms, m)
	}
	h.mu.Unlock()
	for _, m := range ms {
		if _, err := h.run(goneScript, string(m)); err != nil {
			return
		}
		h.mu.Lock()
		delete(h.pending, m)
		h.mu.Unlock()
	}
}

// janitor reaps every registered node whose key expired.
func (h *Hub) janitor(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.OpTimeout)
	defer cancel()
	nodes, err := h.rdb.SMembers(ctx, h.cfg.Prefix+"nodes").Result()
	if err != nil {
		return err
	}
	pipe := h.rdb.Pipeline()
	alive := make([]*redis.IntCmd, len(nodes))
	for i, n := range nodes {
		alive[i] = pipe.Exists(ctx, h.cfg.Prefix+"alive:"+n)
	}
	if len(nodes) > 0 {
		if _, err := pipe.Exec(ctx); err != nil {
			return err
		}
	}
	for i, n := range nodes {
		if n == h.cfg.NodeID || alive[i].Val() == 1 {
			continue
		}
		h.log.Info("reaping a dead node's members", "dead", n)
		if err := h.reap(n, false); err != nil {
			return err
		}
	}
	return nil
}

// reap removes a dead node's members (or this node's, with force), in batches.
func (h *Hub) reap(node string, force bool) error {
	f := "0"
	if force {
		f = "1"
	}
	for {
		res, err := h.run(reapScript, node, reapBatch, f)
		if err != nil {
			return err
		}
		if n, _ := res.(int64); n <= 0 {
			return nil
		}
	}
}
