package web_test

// The harness: builds duet once, runs it on loopback ports of its own, and drives headless Chromium pages against it.

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"duet/internal/chromium"
	"duet/internal/duettest"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

const (
	// Generous: two browsers encode and decode video on a 2-core machine, under -race.
	waitTimeout = 20 * time.Second
)

var (
	duetBinary string
	// browser is the one headless Chromium every test of the package opens its tabs in.
	browser context.Context
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "duet-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if duetBinary, err = duettest.Build(dir); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	b, cancel, err := startBrowser(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer cancel()
	browser = b
	return m.Run()
}

// ---- the server ----

type server struct {
	t        *testing.T
	httpPort int
	turnPort int
	secret   string
	args     []string // extra flags, after the defaults so they win
	duet     *duettest.Duet
}

// startServer runs duet with its HTTPS listener and embedded TURN relay on free loopback ports, and stops it when the test ends.
func startServer(t *testing.T, args ...string) *server {
	t.Helper()
	s := &server{
		t:        t,
		httpPort: duettest.FreePort(t),
		turnPort: duettest.FreeTURNPort(t),
		secret:   "e2e-secret",
		args:     args,
	}
	s.start()
	return s
}

// start runs duet on the server's ports (again, after stop); it is killed when the test ends.
func (s *server) start() {
	s.t.Helper()
	s.duet = duettest.Start(s.t, duetBinary, append([]string{
		"--listen", fmt.Sprintf("127.0.0.1:%d", s.httpPort),
		"--turn-listen", fmt.Sprintf("127.0.0.1:%d", s.turnPort),
		"--public-ip", "127.0.0.1",
		"--turn-allow-peer", "127.0.0.0/8",
		"--turn-secret", s.secret,
		// Every page comes from 127.0.0.1: the per-address limits are not what these tests test.
		"--ice-rate", "1000", "--turn-max-allocations-per-ip", "100000",
		// Debug logs cost nothing here: they are shown only when a test fails.
		"--log-level", "debug",
	}, s.args...)...)
}

// stop kills the server outright, as a crash would, and waits for the process to be gone.
func (s *server) stop() { s.duet.Kill() }

func (s *server) baseURL(host string) string {
	return fmt.Sprintf("https://%s:%d", host, s.httpPort)
}

// roomURL is on localhost, so getUserMedia sees a secure context.
func (s *server) roomURL(room string, extra url.Values) string {
	q := url.Values{"room": {room}}
	for k, v := range extra {
		q[k] = v
	}
	return s.baseURL("localhost") + "/room.html?" + q.Encode()
}

// ---- the browser ----

// startBrowser launches the package's Chromium with internal/chromium's flags and three fake cameras, so a
// test can switch between them (the second one gives Y16 depth frames, which no encoder takes; the third, MJPEG,
// behaves like a webcam). Tests share it: each server has its own port, hence its own origin and storage.
func startBrowser(dir string) (context.Context, context.CancelFunc, error) {
	if _, err := os.Stat(chromium.Path); err != nil {
		return nil, nil, fmt.Errorf("chromium is required (%v): make test-deps installs it", err)
	}
	opts := append(chromium.Options(filepath.Join(dir, "profile")),
		chromedp.Flag("use-fake-device-for-media-stream", "device-count=3"),
		// A window as large as the largest emulated viewport: a click below the window's own edge can be lost.
		chromedp.WindowSize(1920, 1080),
		// Parallel tests share the browser: a tab behind the newest one must go on as if in front.
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.Flag("disable-background-timer-throttling", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	cancel := func() {
		cancelBrowser()
		cancelAlloc()
	}
	if err := chromedp.Do(bctx); err != nil {
		cancel()
		return nil, nil, fmt.Errorf("starting chromium: %w", err)
	}
	return bctx, cancel, nil
}

// newBrowser is the shared browser; the name stays from when each test started its own.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	return browser
}

// tab is one tab of a browser.
type tab struct {
	t      *testing.T
	name   string
	ctx    context.Context
	cancel context.CancelFunc
}

func newPage(t *testing.T, browser context.Context, name string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	p := &tab{t: t, name: name, ctx: ctx, cancel: cancel}
	t.Cleanup(cancel)
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument,
		page.AddScriptToEvaluateOnNewDocumentParams{Source: recordTracksJS}); err != nil {
		t.Fatalf("%s: opening a tab: %v", name, err)
	}
	// Every tab of the shared browser behaves as the focused one, as each user's own window would.
	if _, err := chromedp.Call(ctx, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true}); err != nil {
		t.Fatalf("%s: focus emulation: %v", name, err)
	}
	return p
}

// recordTracksJS keeps every track the page captures, so a test can check that the camera was really released,
// and every Content-Security-Policy violation, since duet serves its pages with a strict policy.
const recordTracksJS = `(() => {
	window.__cspViolations = [];
	window.__consoleLog = [];
	for (const level of ['warn', 'error']) {
		const orig = console[level].bind(console);
		console[level] = (...args) => {
			window.__consoleLog.push(level + ': ' + args.map((a) => (a && a.message) || String(a)).join(' ').slice(0, 300));
			if (window.__consoleLog.length > 20) window.__consoleLog.shift();
			orig(...args);
		};
	}
	for (const type of ['error', 'unhandledrejection']) {
		window.addEventListener(type, (e) => {
			const err = e.error || e.reason;
			window.__consoleLog.push(type + ': ' + String((err && err.message) || err || e.message).slice(0, 300));
		});
	}
	document.addEventListener('securitypolicyviolation', (e) => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));
	const md = navigator.mediaDevices;
	if (!md) return;
	window.__capturedTracks = [];
	for (const name of ['getUserMedia', 'getDisplayMedia']) {
		const orig = md[name] && md[name].bind(md);
		if (!orig) continue;
		md[name] = async (...args) => {
			const stream = await orig(...args);
			window.__capturedTracks.push(...stream.getTracks());
			return stream;
		};
	}
})();`

// close closes the tab without any goodbye from the page, as a user closing it would.
func (p *tab) close() {
	p.cancel()
}

func (p *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, waitTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.t.Fatalf("%s: %s: %v%s", p.name, what, err, p.debug())
	}
}

func (p *tab) open(u string) {
	p.t.Helper()
	p.do("open "+u, chromedp.Navigate(u), chromedp.WaitVisible(chromedp.ID("connserver")))
	// The module has loaded once the test hook exists.
	p.waitFor("page script loaded", `!!window.duet`)
}

func (p *tab) click(id string) {
	p.t.Helper()
	p.do("click #"+id, chromedp.WaitEnabled(chromedp.ID(id)), chromedp.Click(chromedp.ID(id)))
}

// eval runs a JavaScript expression (promises awaited) and decodes its value.
func evalJS[T any](p *tab, expr string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, waitTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("%s: evaluating %q: %v%s", p.name, expr, err, p.debug())
	}
	return v
}

// waitFor polls a JavaScript predicate (promises awaited) until it is truthy.
func (p *tab) waitFor(what, predicate string) {
	p.t.Helper()
	p.waitForWithin(what, predicate, waitTimeout)
}

// waitForWithin is waitFor with a bound of its own, for what the protocol lets take longer.
func (p *tab) waitForWithin(what, predicate string, timeout time.Duration) {
	p.t.Helper()
	start := time.Now()
	if err := p.poll(predicate, timeout); err != nil {
		p.t.Fatalf("%s: waiting for %s: %v%s", p.name, what, err, p.debug())
	}
	if d := time.Since(start); d > 2*time.Second {
		p.t.Logf("%s: %s took %v", p.name, what, d.Round(100*time.Millisecond))
	}
}

func (p *tab) poll(predicate string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	fn := fmt.Sprintf(`async () => { try { return !!(await (%s)); } catch (e) { return false; } }`, predicate)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return chromedp.ErrPollingTimeout
		}
		ctx, cancel := context.WithTimeout(p.ctx, left+5*time.Second)
		_, err := chromedp.Run(ctx, chromedp.PollFunction[bool](fn,
			chromedp.WithPollingInterval(250*time.Millisecond),
			chromedp.WithPollingTimeout(left)))
		cancel()
		if err == nil || errors.Is(err, chromedp.ErrPollingTimeout) || p.ctx.Err() != nil {
			return err
		}
		// The page navigated under the poll (its JavaScript context went away): poll the new page.
		time.Sleep(100 * time.Millisecond)
	}
}

func (p *tab) state() string {
	p.t.Helper()
	return evalJS[string](p, `document.getElementById('state').textContent`)
}

func (p *tab) waitState(want string) {
	p.t.Helper()
	p.waitFor("#state "+want, fmt.Sprintf(`document.getElementById('state').textContent === %q`, want))
}

// debug describes what the page shows, for failure messages.
func (p *tab) debug() string {
	ctx, cancel := context.WithTimeout(p.ctx, 3*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
		const t = (id) => { const e = document.getElementById(id); return e ? e.textContent : '(none)'; };
		const pc = window.duet && window.duet.pc();
		return 'state=' + t('state') + ' notice=' + JSON.stringify(t('notice')) +
			' pc=' + (pc ? pc.connectionState + '/' + pc.signalingState : 'none') +
			' socket=' + (window.duet ? (window.duet.connected() ? 'connected' : 'disconnected') : '?') +
			' lobby=' + (document.getElementById('lobby') && !document.getElementById('lobby').hidden ? 'shown' : 'hidden') +
			' join=' + (document.getElementById('connserver') && document.getElementById('connserver').disabled ? 'disabled' : 'enabled') +
			' preview=' + JSON.stringify(t('previewnote')) +
			' console=' + JSON.stringify(window.__consoleLog || []);
	})()`))
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return ""
		}
		return fmt.Sprintf(" (page state unavailable: %v)", err)
	}
	return " [" + v + "]"
}
