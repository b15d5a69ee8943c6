// Package duettest runs the real parts duet's tests and its benchmark (cmd/duet-bench) drive: the
// duet binary and other processes, redis-server, free loopback ports, certificate files, /proc
// readings. The functions return errors; those taking a testing.TB fail the test instead.
package duettest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// Build compiles duet/cmd/duet into dir and returns the binary's path; for a TestMain.
func Build(dir string) (string, error) {
	bin := filepath.Join(dir, "duet")
	if out, err := exec.Command("go", "build", "-o", bin, "duet/cmd/duet").CombinedOutput(); err != nil {
		return "", fmt.Errorf("building duet (is web/vendor there? run make build): %v\n%s", err, out)
	}
	return bin, nil
}

// Binary builds duet for one test; the build cache makes all but the first cheap.
func Binary(t testing.TB) string {
	t.Helper()
	bin, err := Build(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// LogBuffer collects a process's output while it runs.
type LogBuffer struct {
	mu   sync.Mutex
	b    bytes.Buffer
	grew chan struct{} // closed by the next Write; nil while nobody waits
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.grew != nil {
		close(l.grew)
		l.grew = nil
	}
	return l.b.Write(p)
}

func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// next is the text so far and a channel closed when more is written.
func (l *LogBuffer) next() (string, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.grew == nil {
		l.grew = make(chan struct{})
	}
	return l.b.String(), l.grew
}

// WaitFor waits until re matches what was written and returns the match and its groups; ended
// closing first (the writer is gone), or timeout passing, is an error carrying the text.
func (l *LogBuffer) WaitFor(re *regexp.Regexp, timeout time.Duration, ended <-chan struct{}) ([]string, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		text, grew := l.next()
		if m := re.FindStringSubmatch(text); m != nil {
			return m, nil
		}
		select {
		case <-grew:
		case <-ended:
			if m := re.FindStringSubmatch(l.String()); m != nil { // written just before the end
				return m, nil
			}
			return nil, fmt.Errorf("ended before printing %q:\n%s", re, l)
		case <-deadline.C:
			return nil, fmt.Errorf("did not print %q within %v:\n%s", re, timeout, l)
		}
	}
}

// Listening is duet's log line once it serves HTTPS; its group is the address.
var Listening = regexp.MustCompile(`msg="https listening" addr=(\S+)`)

// Duet is a running duet process.
type Duet struct {
	*Process
	URL string // https://127.0.0.1:PORT
}

// LaunchDuet runs bin with args (give it --listen, e.g. 127.0.0.1:0) and waits up to 20 s until it
// serves HTTPS. DUET_ variables of the environment are dropped, so only args configure it.
func LaunchDuet(bin string, args ...string) (*Duet, error) {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DUET_") {
			env = append(env, kv)
		}
	}
	p, err := Launch("", env, append([]string{bin}, args...)...)
	if err != nil {
		return nil, err
	}
	m, err := p.WaitFor(Listening, 20*time.Second)
	if err != nil {
		p.Kill()
		return nil, err
	}
	return &Duet{Process: p, URL: "https://" + m[1]}, nil
}

// Start is LaunchDuet for a test: it kills duet when the test ends, showing its log if the test failed.
func Start(t testing.TB, bin string, args ...string) *Duet {
	t.Helper()
	d, err := LaunchDuet(bin, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.Kill()
		if t.Failed() {
			t.Logf("duet %s log:\n%s", d.URL, d.Logs)
		}
	})
	return d
}
