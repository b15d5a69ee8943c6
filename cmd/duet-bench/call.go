package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"duet/internal/chromium"
	"duet/internal/duettest"

	"github.com/chromedp/chromedp"
)

// armJS runs in the second page before its Join click: it stamps the click (capture phase, so before
// the page's own handler), the first remote frame presented (requestVideoFrameCallback) and the first
// decoded remote frame reported by getStats, all on the page's performance.now() clock.
const armJS = `(() => {
	window.__bench = { click: 0, frame: 0, decoded: 0 };
	document.getElementById('connserver').addEventListener('click', () => { window.__bench.click = performance.now(); }, { capture: true, once: true });
	const v = document.getElementById('remotevideo');
	if (v.requestVideoFrameCallback) v.requestVideoFrameCallback((now) => { window.__bench.frame = now; });
	const iv = setInterval(async () => {
		const pc = window.duet && window.duet.pc && window.duet.pc();
		if (!pc) return;
		const stats = await pc.getStats();
		stats.forEach((r) => {
			if (r.type === 'inbound-rtp' && r.kind === 'video' && r.framesDecoded > 0 && !window.__bench.decoded) window.__bench.decoded = performance.now();
		});
		if (window.__bench.decoded) clearInterval(iv);
	}, 5);
	return true;
})()`

type callTiming struct {
	Click   float64 `json:"click"`
	Frame   float64 `json:"frame"`
	Decoded float64 `json:"decoded"`
}

// callSetup opens two pages of one room and times the second page's Join to its first remote frame.
func callSetup(ctx context.Context, browser context.Context, base, room string, relay bool) (frame, decoded time.Duration, err error) {
	q := url.Values{"room": {room}}
	if relay {
		q.Set("relay", "1")
	}
	u := base + "/room.html?" + q.Encode()
	a, cancelA := chromedp.NewContext(browser)
	defer cancelA()
	b, cancelB := chromedp.NewContext(browser)
	defer cancelB()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { cancelA(); cancelB() })
	defer stop()
	loaded := func(c context.Context) error {
		if err := chromedp.Do(c, chromedp.Navigate(u), chromedp.WaitVisible(chromedp.ID("connserver"))); err != nil {
			return err
		}
		_, err := chromedp.Run(c, chromedp.Poll[bool](`!!window.duet`, chromedp.WithPollingInterval(10*time.Millisecond)))
		return err
	}
	if err := loaded(a); err != nil {
		return 0, 0, fmt.Errorf("first page: %w", err)
	}
	if err := chromedp.Do(a, chromedp.WaitEnabled(chromedp.ID("connserver")), chromedp.Click(chromedp.ID("connserver"))); err != nil {
		return 0, 0, fmt.Errorf("first page join: %w", err)
	}
	if _, err := chromedp.Run(a, chromedp.Poll[bool](`document.getElementById('state').textContent === 'joined'`, chromedp.WithPollingInterval(10*time.Millisecond))); err != nil {
		return 0, 0, fmt.Errorf("first page join: %w", err)
	}
	if err := loaded(b); err != nil {
		return 0, 0, fmt.Errorf("second page: %w", err)
	}
	if err := chromedp.Do(b, chromedp.WaitEnabled(chromedp.ID("connserver"))); err != nil {
		return 0, 0, fmt.Errorf("second page join: %w", err)
	}
	if _, err := chromedp.Run(b, chromedp.Evaluate[bool](armJS)); err != nil {
		return 0, 0, fmt.Errorf("second page: %w", err)
	}
	if err := chromedp.Do(b, chromedp.Click(chromedp.ID("connserver"))); err != nil {
		return 0, 0, fmt.Errorf("second page join: %w", err)
	}
	t, err := chromedp.Run(b, chromedp.Poll[callTiming](`window.__bench.click > 0 && window.__bench.decoded > 0 && (window.__bench.frame > 0 || !HTMLVideoElement.prototype.requestVideoFrameCallback) && window.__bench`,
		chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil {
		state, _ := chromedp.Run(b, chromedp.Evaluate[string](`document.getElementById('state').textContent + ' ' + JSON.stringify(window.__bench)`))
		return 0, 0, fmt.Errorf("waiting for the first remote frame: %w (second page: %s)", err, state)
	}
	ms := func(x float64) time.Duration { return time.Duration(x * float64(time.Millisecond)) }
	// Leave both pages so the next set-up starts from nothing.
	_ = chromedp.Do(a, chromedp.Navigate("about:blank"))
	_ = chromedp.Do(b, chromedp.Navigate("about:blank"))
	return ms(t.Frame - t.Click), ms(t.Decoded - t.Click), nil
}

// startBrowser launches the suite's headless Chromium in a fresh profile under the run's folder.
func (e *env) startBrowser(ctx context.Context) (context.Context, context.CancelFunc, error) {
	dir, err := os.MkdirTemp(e.tmp, "chromium-")
	if err != nil {
		return nil, nil, err
	}
	return chromium.Start(ctx, dir)
}

func callSuite(ctx context.Context, e *env, c suiteConfig) (string, error) {
	turnPort, err := duettest.FreeUDPTCPPort()
	if err != nil {
		return "", err
	}
	p, err := e.startDuet("--turn-listen", fmt.Sprintf("127.0.0.1:%d", turnPort), "--turn-secret", turnSecret,
		"--public-ip", "127.0.0.1", "--turn-allow-peer", "127.0.0.0/8",
		// Every page comes from 127.0.0.1: the per-address limits would slow the calls down.
		"--ice-rate", "1000", "--turn-max-allocations-per-ip", "100000")
	if err != nil {
		return "", err
	}
	defer p.stop()
	_, port, _ := strings.Cut(p.addr, ":")
	base := "https://localhost:" + port

	browser, cancelBrowser, err := e.startBrowser(ctx)
	if err != nil {
		return "", err
	}
	defer cancelBrowser()
	// One warm-up call, not counted: the first one pays for Chromium's media and codec start-up.
	if _, _, err := callSetup(ctx, browser, base, "warmup", false); err != nil {
		return "", fmt.Errorf("warm-up call: %w", err)
	}

	var b strings.Builder
	b.WriteString("## 3. Call set-up (headless Chromium, fake camera, loopback)\n\n")
	fmt.Fprintf(&b, "Two pages of `/room.html?room=NAME` in one headless Chromium (`%s`), fake devices. Time from the second page's `button#connserver` click (stamped in the page, capture phase) to the first remote video frame it presents (`requestVideoFrameCallback` on `video#remotevideo`) and to `getStats()` inbound-rtp video `framesDecoded > 0` (polled every 5 ms in the page). Alternating direct and `relay=1` (`iceTransportPolicy: 'relay'` through duet's embedded TURN); one warm-up call not counted; %d calls each.\n\n", chromium.Path, c.callReps)
	t := table{head: []string{"mode", "first frame p50", "first frame min / max", "framesDecoded>0 p50", "target", "calls"}}
	res := map[bool][][2]time.Duration{}
	for i := range 2 * c.callReps {
		relay := i%2 == 1
		f, d, err := callSetup(ctx, browser, base, "bench-"+strconv.Itoa(i), relay)
		if err != nil {
			return b.String(), fmt.Errorf("call %d (relay=%v): %w", i, relay, err)
		}
		fmt.Fprintf(os.Stderr, "call %d relay=%v: first frame %v, framesDecoded>0 %v\n", i, relay, f.Round(time.Millisecond), d.Round(time.Millisecond))
		res[relay] = append(res[relay], [2]time.Duration{f, d})
	}
	for _, relay := range []bool{false, true} {
		rs := res[relay]
		get := func(k int) func([2]time.Duration) float64 {
			return func(x [2]time.Duration) float64 { return x[k].Seconds() }
		}
		lo, hi := rs[0][0], rs[0][0]
		for _, x := range rs {
			lo, hi = min(lo, x[0]), max(hi, x[0])
		}
		name, target := "direct", "< 1 s"
		if relay {
			name, target = "relay=1 (TURN)", "< 1.5 s"
		}
		t.add(name, ms(medianOf(rs, get(0))), fmt.Sprintf("%s / %s", ms(lo.Seconds()), ms(hi.Seconds())), ms(medianOf(rs, get(1))), target, strconv.Itoa(len(rs)))
	}
	b.WriteString(t.String())
	return b.String(), nil
}
