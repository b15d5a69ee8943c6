package duettest

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"time"
)

// Process is a child process whose output (stdout and stderr) is kept in Logs.
type Process struct {
	Logs *LogBuffer
	cmd  *exec.Cmd
	done chan struct{} // closed once it has exited and its output is all in Logs
}

// Launch starts argv in dir ("": the current directory) with env (nil: this process's environment).
func Launch(dir string, env []string, argv ...string) (*Process, error) {
	p := &Process{Logs: &LogBuffer{}, cmd: exec.Command(argv[0], argv[1:]...), done: make(chan struct{})}
	p.cmd.Dir, p.cmd.Env = dir, env
	p.cmd.WaitDelay = time.Second // a child it leaves behind may hold its output open
	p.cmd.Stdout, p.cmd.Stderr = p.Logs, p.Logs
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", argv[0], err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *Process) name() string { return filepath.Base(p.cmd.Path) }

// WaitFor waits until re matches the output and returns the match and its groups; the process
// exiting first, or timeout passing, is an error carrying the output.
func (p *Process) WaitFor(re *regexp.Regexp, timeout time.Duration) ([]string, error) {
	m, err := p.Logs.WaitFor(re, timeout, p.done)
	if err != nil {
		return nil, fmt.Errorf("%s %w", p.name(), err)
	}
	return m, nil
}

// PID is the process id, for reading /proc.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Kill ends the process at once, as a crash would, and waits for it.
func (p *Process) Kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Stop sends SIGTERM, as systemd does, and returns the exit error (nil for status 0).
func (p *Process) Stop(timeout time.Duration) error {
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-p.done:
		if st := p.cmd.ProcessState; !st.Success() {
			return fmt.Errorf("%s ended with %v", p.name(), st)
		}
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("%s did not exit %v after SIGTERM", p.name(), timeout)
	}
}
