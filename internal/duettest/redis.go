package duettest

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// LaunchRedis starts Debian's redis-server on a loopback port, empty and without persistence (files
// in dir), and waits up to 10 s until it answers PING.
func LaunchRedis(port int, dir string) (*Process, error) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return nil, fmt.Errorf("redis-server is not installed: apt-get install redis-server (`make test` installs it through scripts/test-deps.sh)")
	}
	p, err := Launch(dir, nil, "redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir)
	if err != nil {
		return nil, err
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		err := RedisPing(port)
		if err == nil {
			return p, nil
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("redis-server on port %d exited: %v\n%s", port, p.cmd.ProcessState, p.Logs)
		default:
		}
		if time.Now().After(deadline) {
			p.Kill()
			return nil, fmt.Errorf("redis-server on port %d did not answer PING: %v\n%s", port, err, p.Logs)
		}
	}
}

// RedisPing sends PING to the redis-server on a loopback port and wants +PONG back.
func RedisPing(port int) error {
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

// Redis is a redis-server of the test's own on a free loopback port.
type Redis struct {
	t    testing.TB
	Port int
	proc *Process // nil while killed
}

// StartRedis starts a redis-server for the test (the test fails, never skips, when it is missing)
// and stops it when the test ends.
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	r := &Redis{t: t, Port: FreePort(t)}
	r.Start()
	t.Cleanup(r.Kill)
	return r
}

// URL is what duet's --redis-url takes.
func (r *Redis) URL() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.Port) }

// Start (re)starts the server on its port, empty, and waits until it answers PING.
func (r *Redis) Start() {
	r.t.Helper()
	p, err := LaunchRedis(r.Port, r.t.TempDir())
	if err != nil {
		r.t.Fatal(err)
	}
	r.proc = p
}

// Kill stops the server at once, losing its data, as a crash would.
func (r *Redis) Kill() {
	if r.proc == nil {
		return
	}
	r.proc.Kill()
	r.proc = nil
}
