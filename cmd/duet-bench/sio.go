package main

// The generator's Socket.IO clients are internal/sio's, the codec duet serves with and `duet check`
// talks with: a websocket straight to Engine.IO 4 (where socket.io-client 4 ends up, and what it
// sends with transports: ['websocket']), one read goroutine and a small event buffer per client.

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"time"

	"duet/internal/sio"
)

// eventBuffer: a load client awaits one answer at a time; the most that can queue is joined,
// other_joined and its alias otherjoin.
const eventBuffer = 8

// dialSIO connects to wss://addr/socket.io/ from local address src (nil: any) within timeout.
func dialSIO(ctx context.Context, addr string, src net.IP, timeout time.Duration) (*sio.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	d := net.Dialer{}
	if src != nil {
		d.LocalAddr = &net.TCPAddr{IP: src}
	}
	return sio.Dial(ctx, sio.DialConfig{
		Host:   addr,
		TLS:    &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // loopback, self-signed
		Dial:   func(ctx context.Context) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) },
		Events: eventBuffer,
	})
}

// expect waits for the named event; an `error` event or any other event is a failure (otherjoin,
// the classic alias of other_joined, is skipped).
func expect(c *sio.Client, name string, timeout time.Duration) (sio.Event, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case e, ok := <-c.Events():
			switch {
			case !ok:
				return e, fmt.Errorf("waiting for %s: connection ended: %w", name, c.Err())
			case e.Name == name:
				return e, nil
			case e.Name == "otherjoin":
				continue
			case e.Name == "error" && len(e.Args) > 0:
				return e, fmt.Errorf("waiting for %s: error event %.400s", name, e.Args[0])
			}
			return e, fmt.Errorf("waiting for %s: got %s", name, e.Name)
		case <-t.C:
			return sio.Event{}, fmt.Errorf("waiting for %s: no event within %v", name, timeout)
		}
	}
}

// stamp is the "seq" and "ts" (unix ns) that payload wrote last into a relayed message(room,
// payload); read from the end, not decoded, so the generator spends little per message.
type stamp struct{ seq, ts int64 }

func stampOf(e sio.Event) (stamp, error) {
	if len(e.Args) != 2 {
		return stamp{-1, -1}, fmt.Errorf("message with %d arguments, want room and payload", len(e.Args))
	}
	p := e.Args[1]
	s := stamp{intAfter(p, `"seq":`), intAfter(p, `"ts":`)}
	if s.seq < 0 || s.ts < 0 {
		return s, fmt.Errorf("no seq and ts in %.120s", p)
	}
	return s, nil
}

// intAfter is the whole number after the last key in b, -1 without one.
func intAfter(b []byte, key string) int64 {
	i := bytes.LastIndex(b, []byte(key))
	if i < 0 {
		return -1
	}
	digits := b[i+len(key):]
	n := 0
	for n < len(digits) && digits[n] >= '0' && digits[n] <= '9' {
		n++
	}
	v, err := strconv.ParseInt(string(digits[:n]), 10, 64)
	if err != nil {
		return -1
	}
	return v
}
