package sio

import (
	"runtime"
	"testing"
	"time"
)

// TestIdleParksNoGoroutine: connected, idle websockets cost the server no goroutine each.
func TestIdleParksNoGoroutine(t *testing.T) {
	_, h, url := serve(t, time.Minute)
	const n = 100
	base := runtime.NumGoroutine()
	for range n {
		ws, _ := connectWS(t, url)
		send(t, ws, `42["echo","idle"]`)
		if got := read(t, ws); got != `42["echo","idle"]` {
			t.Fatalf("echo %q", got)
		}
		<-h.sockets
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > base+n/10 {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines for %d idle websockets (%d before)", runtime.NumGoroutine(), n, base)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
