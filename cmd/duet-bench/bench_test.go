package main

// Smoke test: the generator against a real duet and the Node peer, tiny sizes, no errors allowed.

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"duet/internal/duettest"
	"duet/internal/sio"
)

func testEnv(t *testing.T) *env {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	e := &env{duet: duettest.Binary(t), root: root, tmp: dir}
	if e.cert, e.key, err = duettest.WriteCert(dir); err != nil {
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

// TestNodesSmoke: two duet nodes on one redis-server, every room split across them. A missing
// redis-server fails the test (never skips it).
func TestNodesSmoke(t *testing.T) {
	e := testEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	const n, m = 20, 5
	s := nodesSetup{k: 2, redis: true}
	res, err := oneNodesLoad(ctx, e, s, n, m, 0)
	if err != nil {
		t.Fatal(err)
	}
	printNodes(s.String(), res)
	if res.Errors != 0 || res.Relayed != n*m || res.Expected != n*m {
		t.Fatalf("errors %d %v, relayed %d of %d; want 0 errors and all %d relayed", res.Errors, res.FirstErrors, res.Relayed, res.Expected, n*m)
	}
	if len(res.duet) != 2 || res.redis.PID == 0 {
		t.Fatalf("want readings of 2 nodes and redis-server, got %+v / %+v", res.duet, res.redis)
	}
	for i, u := range append(res.duet, res.redis) {
		if u.PeakRSSKiB == 0 {
			t.Fatalf("process %d (pid %d): no peak RSS reading", i, u.PID)
		}
	}
	if res.JoinP50 <= 0 || res.RelayP50 <= 0 {
		t.Fatalf("missing readings: %+v", res)
	}
	// Both nodes carried clients: each of the 10 rooms has one member on each node.
	cfg := LoadConfig{Addrs: []string{"a", "b"}}
	for i := range n {
		if want := [2]string{"a", "b"}[(i/2+i%2)%2]; cfg.addrOf(i) != want {
			t.Fatalf("client %d on %s, want %s", i, cfg.addrOf(i), want)
		}
		if i%2 == 1 && cfg.addrOf(i) == cfg.addrOf(i-1) {
			t.Fatalf("room %d has both members on %s", i/2, cfg.addrOf(i))
		}
	}
	table := nodesTable([]nodesSetup{s}, [][]nodesResult{{res}})
	if !strings.Contains(table, "0 / 100 of 100") {
		t.Fatalf("table without the error row:\n%s", table)
	}
}

func TestStampOf(t *testing.T) {
	tests := []struct {
		args    []string
		seq, ts int64 // ts -2: any stamp
		wantErr bool
	}{
		{[]string{`"r-1"`, string(payload("offer", 0))}, 0, -2, false},
		{[]string{`"r-1"`, string(payload("candidate", 7))}, 7, -2, false},
		{[]string{`"r-1"`, `{"type":"answer","seq":3,"ts":123}`}, 3, 123, false},
		{[]string{`"r-1"`}, -1, -1, true},
		{[]string{`"r-1"`, `{"type":"answer","seq":3}`}, 3, -1, true},
		{[]string{`"r-1"`, `"not an object"`}, -1, -1, true},
	}
	for _, tt := range tests {
		e := sio.Event{Name: "message"}
		for _, a := range tt.args {
			e.Args = append(e.Args, json.RawMessage(a))
		}
		got, err := stampOf(e)
		if (err != nil) != tt.wantErr || got.seq != tt.seq || (tt.ts != -2 && got.ts != tt.ts) || (tt.ts == -2 && got.ts <= 0) {
			t.Errorf("stampOf(%.60v) = %+v, %v; want seq %d ts %d, error %v", tt.args, got, err, tt.seq, tt.ts, tt.wantErr)
		}
	}
}
