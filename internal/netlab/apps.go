package netlab

import (
	"context"
	"net"
	"net/netip"
	"net/url"
	"os/exec"
	"syscall"
	"testing"

	"duet/internal/chromium"
	"duet/internal/duettest"

	"github.com/chromedp/chromedp"
)

// Duet ports in the public namespace; the namespace is the test's own, so fixed ports cannot clash.
const (
	DuetPort = 8443
	TURNPort = 3478
)

// StartDuet runs the duet binary bin in the public namespace, serving at l.Public.Addr, with the
// relay announcing l.PublicIP and allowed to send anywhere in the lab; extra flags come last and win.
// It is killed when the test ends.
func (l *Lab) StartDuet(t testing.TB, bin string, extra ...string) *duettest.Duet {
	t.Helper()
	args := append([]string{"netns", "exec", l.Public.Name, bin,
		"--listen", netip.AddrPortFrom(l.Public.Addr, DuetPort).String(),
		"--turn-listen", netip.AddrPortFrom(l.Public.Addr, TURNPort).String(),
		"--public-ip", l.PublicIP.String(),
		"--turn-allow-peer", l.Range,
	}, extra...)
	d := duettest.Start(t, "ip", args...)
	// Homes reach duet at its public address; behind a cloud NAT it listens on its private one.
	if u, err := url.Parse(d.URL); err == nil {
		u.Host = net.JoinHostPort(l.PublicIP.String(), u.Port())
		d.URL = u.String()
	}
	return d
}

// Chromium starts the tests' headless Chromium (internal/chromium) inside n; cancel closes it.
// chromedp talks to it over the pipe it inherits, so no debugging port has to cross namespaces.
func (n Namespace) Chromium(ctx context.Context, userDataDir string) (browser context.Context, cancel context.CancelFunc, err error) {
	return chromium.Start(ctx, userDataDir, chromedp.ModifyCmdFunc(func(cmd *exec.Cmd) {
		cmd.Args = append([]string{"ip", "netns", "exec", n.Name, cmd.Path}, cmd.Args[1:]...)
		cmd.Path, cmd.Err = exec.LookPath("ip")
		// What chromedp does by default, replaced by this func: the browser dies with the test.
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	}))
}
