package web_test

import (
	"fmt"
	"testing"
	"time"
)

// inboundVideoJS reads the page's received video: bytes, the time of the reading and the decoded frame height.
const inboundVideoJS = `(async () => {
	const r = await window.duet.pc().getStats();
	let out = null;
	r.forEach((s) => {
		if (s.type === 'inbound-rtp' && s.kind === 'video') out = { bytes: s.bytesReceived || 0, ts: s.timestamp, height: s.frameHeight || 0 };
	});
	return out;
})()`

type inboundVideo struct {
	Bytes  float64 `json:"bytes"`
	TS     float64 `json:"ts"`
	Height int     `json:"height"`
}

// videoKbps measures the rate the page receives video at over two seconds, in kbit/s.
func (p *tab) videoKbps() float64 {
	p.t.Helper()
	a := evalJS[inboundVideo](p, inboundVideoJS)
	time.Sleep(2 * time.Second)
	b := evalJS[inboundVideo](p, inboundVideoJS)
	return (b.Bytes - a.Bytes) * 8 / (b.TS - a.TS)
}

// chooseQuality picks a send quality in the settings panel, as a user would.
func (p *tab) chooseQuality(q string) {
	p.t.Helper()
	evalJS[bool](p, fmt.Sprintf(`(() => { const s = document.getElementById('quality'); s.value = %q; s.dispatchEvent(new Event('change')); return true; })()`, q))
}

func TestSendQualityAppliesLive(t *testing.T) {
	s := startServer(t)
	alice, bob := callOf(t, s, newRoom(t), nil)
	full := evalJS[inboundVideo](alice, inboundVideoJS).Height
	sdp := evalJS[string](bob, `window.duet.pc().localDescription.sdp`)
	before := alice.videoKbps()
	t.Logf("auto: %d lines high, %.0f kbit/s", full, before)
	if full <= 180 {
		t.Fatalf("the fake camera arrives only %d lines high: nothing to scale down", full)
	}

	bob.click("more")
	bob.chooseQuality("180p")
	start := time.Now()
	alice.waitFor("the received video at 180 lines or fewer", fmt.Sprintf(`(%s).then((v) => v.height > 0 && v.height <= 180)`, inboundVideoJS))
	low := alice.videoKbps()
	t.Logf("180p: after %v, %.0f kbit/s", time.Since(start).Round(100*time.Millisecond), low)
	// 200 kbit/s is the preset's cap; packet headers add a little.
	if low > 260 || low > 0.8*before {
		t.Errorf("180p: received %.0f kbit/s (auto was %.0f), want at most 260", low, before)
	}

	bob.chooseQuality("audio")
	alice.waitFor("the video to stop arriving", fmt.Sprintf(`(async () => { const a = await (%[1]s); await new Promise((r) => setTimeout(r, 1500)); const b = await (%[1]s); return b.bytes - a.bytes < 2000; })()`, inboundVideoJS))

	bob.chooseQuality("auto")
	alice.waitFor("the full height back", fmt.Sprintf(`(%s).then((v) => v.height === %d)`, inboundVideoJS, full))
	if after := evalJS[string](bob, `window.duet.pc().localDescription.sdp`); after != sdp {
		t.Error("changing the quality renegotiated the call")
	}
}
