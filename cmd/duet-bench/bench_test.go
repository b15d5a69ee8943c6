package main

// Smoke test: the generator against a real duet and the Node peer, tiny sizes, no errors allowed.

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"duet/internal/duettest"
)

func testEnv(t *testing.T) *env {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	e := &env{duet: duettest.Binary(t), root: root, tmp: dir}
	if e.cert, e.key, err = writeCert(dir); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestLoadSmoke(t *testing.T) {
	e := testEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	if err := ensureNodeDeps(ctx, e.root); err != nil {
		t.Fatal(err)
	}
	const n, m = 20, 5
	for _, side := range []string{"duet", "node"} {
		t.Run(side, func(t *testing.T) {
			res, err := oneLoad(ctx, e, side, n, m, 0)
			if err != nil {
				t.Fatal(err)
			}
			printLoad(os.Stderr, side, res)
			if res.Errors != 0 || res.Relayed != n*m || res.Expected != n*m {
				t.Fatalf("errors %d %v, relayed %d of %d; want 0 errors and all %d relayed", res.Errors, res.FirstErrors, res.Relayed, res.Expected, n*m)
			}
			if res.PeakRSSKiB == 0 || res.JoinP50 <= 0 || res.RelayP50 <= 0 {
				t.Fatalf("missing readings: %+v", res)
			}
		})
	}
}

func TestParseEvent(t *testing.T) {
	ev, err := parseEvent([]byte(`["message","r-1",{"type":"candidate","seq":7,"ts":123}]`))
	if err != nil || ev.name != "message" || ev.seq != 7 || ev.ts != 123 {
		t.Fatalf("got %+v, %v", ev, err)
	}
	if _, err := parseEvent([]byte(`{"x":1}`)); err == nil {
		t.Fatal("want an error for a non-event frame")
	}
}
