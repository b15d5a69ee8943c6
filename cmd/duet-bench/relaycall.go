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

	"github.com/chromedp/chromedp"
)

// inboundJS sums the page's inbound RTP packets (audio and video) from getStats.
const inboundJS = `(async () => {
	const pc = window.duet && window.duet.pc && window.duet.pc();
	if (!pc || pc.connectionState !== 'connected') return -1;
	let n = 0;
	(await pc.getStats()).forEach((r) => { if (r.type === 'inbound-rtp') n += r.packetsReceived || 0; });
	return n;
})()`

// Relayed-call timing: media settles (bandwidth estimation ramps up) before the window is measured.
const (
	relayCallSettle = 8 * time.Second
	relayCallWindow = 15 * time.Second
)

// relayCallSample is one relayed call's server cost over the measuring window.
type relayCallSample struct {
	cpuPerSec, packetsPerSec float64 // relay process CPU seconds per second; packets both pages received per second
}

func (s relayCallSample) cpuPerPacket() float64 { return s.cpuPerSec / s.packetsPerSec * 1e6 }

// relayCallSuite runs a two-page call with relay=1 through duet's embedded relay and through coturn (duet
// then only serves the page and signaling, handing out coturn's URL), and reads the relay's CPU.
func relayCallSuite(ctx context.Context, e *env, c suiteConfig) (string, error) {
	browser, cancelBrowser, err := e.startBrowser(ctx)
	if err != nil {
		return "", err
	}
	defer cancelBrowser()
	res := map[string][]relayCallSample{}
	for i := range 2 * c.turnReps {
		side := []string{"duet", "coturn"}[i%2]
		if (i/2)%2 == 1 { // alternate which goes first
			side = []string{"coturn", "duet"}[i%2]
		}
		s, err := relayCall(ctx, e, browser, side, "relaycall-"+strconv.Itoa(i))
		if err != nil {
			return "", fmt.Errorf("relayed call %d through %s: %w", i, side, err)
		}
		fmt.Fprintf(os.Stderr, "relayed call through %s: %.2f ms CPU/s, %.0f packets/s, %.2f µs/packet\n", side, s.cpuPerSec*1e3, s.packetsPerSec, s.cpuPerPacket())
		res[side] = append(res[side], s)
	}
	var b strings.Builder
	b.WriteString("## 3b. A relayed browser call (headless Chromium, loopback)\n\n")
	fmt.Fprintf(&b, "Two pages of `/room.html?room=NAME&relay=1` in one headless Chromium (`%s`, fake camera and microphone, the page's default quality), so both directions go through the relay: duet's embedded one, or coturn (`turnserver` as in section 2) with duet serving only the page and signaling (`--turn-listen \"\" --turn-urls turn:127.0.0.1:P?transport=udp`). After the call connects and %v of media, the relay process's utime+stime over %v, and the inbound RTP packets both pages received (getStats) over the same window. %d calls each, alternating; medians.\n\n", chromium.Path, relayCallSettle, relayCallWindow, c.turnReps)
	t := table{head: []string{"metric", "duet", "coturn", "duet / coturn", "target"}}
	d, k := res["duet"], res["coturn"]
	cpu := func(s relayCallSample) float64 { return s.cpuPerSec * 1e3 }
	pps := func(s relayCallSample) float64 { return s.packetsPerSec }
	per := func(s relayCallSample) float64 { return s.cpuPerPacket() }
	for _, row := range []struct {
		name, unit, target string
		f                  func(relayCallSample) float64
	}{{"relay CPU per second", "ms", "", cpu}, {"packets relayed per second", "", "", pps}, {"relay CPU per packet", "µs", "≤ 0.8×", per}} {
		dv, kv := medianOf(d, row.f), medianOf(k, row.f)
		t.add(row.name, fmt.Sprintf("%.2f %s", dv, row.unit), fmt.Sprintf("%.2f %s", kv, row.unit), ratio(dv, kv), row.target)
	}
	b.WriteString(t.String())
	return b.String(), nil
}

// relayCall holds one relayed call through side's relay and measures it.
func relayCall(ctx context.Context, e *env, browser context.Context, side, room string) (relayCallSample, error) {
	relay, port, err := e.startTURN(side)
	if err != nil {
		return relayCallSample{}, err
	}
	defer relay.stop()
	web := relay
	if side != "duet" {
		if web, err = e.startDuet("--turn-listen", "", "--turn-secret", turnSecret,
			"--turn-urls", fmt.Sprintf("turn:127.0.0.1:%d?transport=udp", port)); err != nil {
			return relayCallSample{}, err
		}
		defer web.stop()
	}
	_, webPort, _ := strings.Cut(web.addr, ":")
	u := "https://localhost:" + webPort + "/room.html?" + url.Values{"room": {room}, "relay": {"1"}}.Encode()
	ctx, cancel := context.WithTimeout(ctx, relayCallSettle+relayCallWindow+60*time.Second)
	defer cancel()
	var pages []context.Context
	for range 2 {
		p, cancelPage := chromedp.NewContext(browser)
		defer cancelPage()
		stop := context.AfterFunc(ctx, cancelPage)
		defer stop()
		if err := chromedp.Do(p, chromedp.Navigate(u), chromedp.WaitEnabled(chromedp.ID("connserver")), chromedp.Click(chromedp.ID("connserver"))); err != nil {
			return relayCallSample{}, fmt.Errorf("join: %w", err)
		}
		pages = append(pages, p)
	}
	inbound := func() (float64, error) {
		sum := 0.0
		for _, p := range pages {
			n, err := chromedp.Run(p, chromedp.Poll[float64](`(`+inboundJS+`).then((n) => n >= 0 ? n : false)`,
				chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second)))
			if err != nil {
				return 0, fmt.Errorf("waiting for a connected call: %w", err)
			}
			sum += n
		}
		return sum, nil
	}
	if _, err := inbound(); err != nil {
		return relayCallSample{}, err
	}
	time.Sleep(relayCallSettle)
	p0, err := inbound()
	if err != nil {
		return relayCallSample{}, err
	}
	c0, t0 := cpuSeconds(relay.PID()), time.Now()
	time.Sleep(relayCallWindow)
	c1, t1 := cpuSeconds(relay.PID()), time.Now()
	p1, err := inbound()
	if err != nil {
		return relayCallSample{}, err
	}
	secs := t1.Sub(t0).Seconds()
	if p1 <= p0 {
		return relayCallSample{}, fmt.Errorf("no media relayed in the window (%v → %v packets)", p0, p1)
	}
	return relayCallSample{cpuPerSec: (c1 - c0) / secs, packetsPerSec: (p1 - p0) / secs}, nil
}
