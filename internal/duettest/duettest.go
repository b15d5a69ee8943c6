// Package duettest runs the real parts duet's tests drive: the duet binary, redis-server, and free
// loopback ports for them. Only tests import it.
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
	"syscall"
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
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Listening finds the HTTPS address in duet's log; "" until it is there.
func Listening(log string) string {
	if m := listening.FindStringSubmatch(log); m != nil {
		return m[1]
	}
	return ""
}

var listening = regexp.MustCompile(`msg="https listening" addr=(\S+)`)

// Duet is a running duet process.
type Duet struct {
	URL  string // https://127.0.0.1:PORT
	Logs *LogBuffer
	cmd  *exec.Cmd
	done chan struct{}
}

// Start runs bin with args (give it --listen, e.g. 127.0.0.1:0), waits until it serves HTTPS, and
// kills it when the test ends, showing its log if the test failed. DUET_ variables of the
// environment are dropped, so only args configure it.
func Start(t testing.TB, bin string, args ...string) *Duet {
	t.Helper()
	d := &Duet{Logs: &LogBuffer{}, done: make(chan struct{})}
	d.cmd = exec.Command(bin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DUET_") {
			d.cmd.Env = append(d.cmd.Env, kv)
		}
	}
	d.cmd.Stdout, d.cmd.Stderr = d.Logs, d.Logs
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = d.cmd.Wait()
		close(d.done)
	}()
	t.Cleanup(func() {
		d.Kill()
		if t.Failed() {
			t.Logf("duet %s log:\n%s", d.URL, d.Logs)
		}
	})
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if addr := Listening(d.Logs.String()); addr != "" {
			d.URL = "https://" + addr
			return d
		}
		select {
		case <-d.done:
			t.Fatalf("duet exited before serving:\n%s", d.Logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("duet did not start within 20 s:\n%s", d.Logs)
		}
	}
}

// PID is the process id, e.g. to read its memory from /proc.
func (d *Duet) PID() int { return d.cmd.Process.Pid }

// Kill ends the process at once, as a crash would, and waits for it.
func (d *Duet) Kill() {
	_ = d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.done
}

// Stop sends SIGTERM, as systemd does, and returns the exit error (nil for status 0).
func (d *Duet) Stop(timeout time.Duration) error {
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-d.done:
		if st := d.cmd.ProcessState; !st.Success() {
			return fmt.Errorf("duet ended with %v", st)
		}
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("no exit %v after SIGTERM", timeout)
	}
}
