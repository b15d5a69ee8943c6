package netlab

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// Namespace is one network namespace of a lab.
type Namespace struct {
	Name string     // as `ip netns` knows it
	Addr netip.Addr // its address in the lab
}

// Command runs name inside the namespace (through `ip netns exec`).
func (n Namespace) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", n.Name, name}, args...)...)
}

// Run calls fn on an OS thread that has entered the namespace: sockets and devices fn creates
// belong to the namespace, and stay usable from any goroutine afterwards.
func (n Namespace) Run(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the thread ends with the goroutine instead of going back to Go's pool
		// while still inside the lab.
		runtime.LockOSThread()
		f, err := os.Open("/run/netns/" + n.Name)
		if err != nil {
			errc <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("entering %s: %w", n.Name, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// ip runs `ip args...` and returns its error with the command and output.
func ip(args ...string) error {
	return run(exec.Command("ip", args...), "")
}

// run runs cmd with stdin and wraps a failure with the command line and its output.
func run(cmd *exec.Cmd, stdin string) error {
	cmd.Stdin = strings.NewReader(stdin)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(cmd.Args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
