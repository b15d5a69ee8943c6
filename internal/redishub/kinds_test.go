package redishub

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"duet/internal/duettest"
	"duet/internal/room"
)

// TestKindsAgree: for every room.Kind, the scripts' name for it publishes the frame Go decodes as
// that kind, and Evicted, never published, is refused.
func TestKindsAgree(t *testing.T) {
	r := duettest.StartRedis(t)
	opts, err := redis.ParseURL(r.URL())
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	ctx := context.Background()
	ps := rdb.Subscribe(ctx, "t:node:n1")
	defer ps.Close()
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	for _, k := range room.Kinds() {
		name := strings.ToUpper(k.String())
		t.Run(name, func(t *testing.T) {
			n, err := rdb.Eval(ctx, prelude+"return "+name, nil, "t:").Int()
			if err != nil || n != int(k) {
				t.Fatalf("Lua %s = %d, %v; Go says %d", name, n, err, k)
			}
			send := prelude + "send(" + name + ", 'r', 'm', 'p', 'n1', '', nil, {'n1'}) return 1"
			if err := rdb.Eval(ctx, send, nil, "t:").Err(); err != nil {
				t.Fatal(err)
			}
			msg, err := ps.ReceiveMessage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			o, err := decode(msg.Payload, "n1")
			if k == room.Evicted {
				if err == nil {
					t.Fatalf("Evicted, this node's own finding, decoded from Redis: %+v", o)
				}
				return
			}
			if err != nil || o.Kind != k || o.Room != "r" || o.Member != "m" || o.Peer != "p" || !o.Own {
				t.Fatalf("frame %q decoded as %+v, %v; want kind %v", msg.Payload, o, err, k)
			}
		})
	}
}

// TestScriptsNameKinds: every outcome a script publishes names its kind, never a bare number.
func TestScriptsNameKinds(t *testing.T) {
	src, err := os.ReadFile("scripts.go")
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, k := range room.Kinds() {
		known[strings.ToUpper(k.String())] = true
	}
	calls := regexp.MustCompile(`\bsend\(([^,]*),`).FindAllStringSubmatch(string(src), -1)
	if len(calls) < 9 {
		t.Fatalf("found %d send calls in scripts.go, expected at least 9", len(calls))
	}
	for _, c := range calls {
		if arg := strings.TrimSpace(c[1]); arg != "kind" && !known[arg] {
			t.Errorf("send(%s, …): not a room.Kind name", arg)
		}
	}
}
