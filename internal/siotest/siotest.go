// Package siotest drives a duet server with the real socket.io JavaScript client (4.x or 2.x from
// npm) through a plan of steps, for tests in any package. plan.cjs documents the steps.
package siotest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// Step is one step of a plan; the constructors below build the common ones.
type Step map[string]any

// Play executes the steps with socket.io-client version 4 or 2 over transports; the first step that
// does not hold is the error.
func Play(url string, client int, transports []string, steps ...Step) error {
	_, self, _, _ := runtime.Caller(0)
	plan, err := json.Marshal(map[string]any{"url": url, "client": client, "transports": transports, "steps": steps})
	if err != nil {
		return err
	}
	cmd := exec.Command("node", filepath.Join(filepath.Dir(self), "plan.cjs"))
	cmd.Stdin = bytes.NewReader(plan)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("socket.io-client %d over %v: %v\n%s", client, transports, err, stderr.String())
	}
	return nil
}

// Run is Play for a test, failing t on the first step that does not hold.
func Run(t testing.TB, url string, client int, transports []string, steps ...Step) {
	t.Helper()
	if err := Play(url, client, transports, steps...); err != nil {
		t.Fatal(err)
	}
}

func Connect(name string) Step { return Step{"connect": name} }
func Close(name string) Step   { return Step{"close": name} }

// ConnectTo connects name to another server than the plan's (another node sharing the rooms).
func ConnectTo(name, url string) Step { return Step{"connect": name, "url": url} }
func Quiet(name string) Step          { return Step{"quiet": name, "ms": 200} }
func Emit(name, event string, args ...any) Step {
	return Step{"emit": name, "event": event, "args": args}
}

// Expect waits for name's next event; "$x" in args is client x's socket id, "*" any value.
func Expect(name, event string, args ...any) Step {
	return Step{"expect": name, "event": event, "args": args}
}

// Refused is the error event body for event and code, with any reason.
func Refused(event, code string) json.RawMessage {
	return json.RawMessage(`{"event":"` + event + `","code":"` + code + `","reason":"*"}`)
}
