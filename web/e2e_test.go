package web_test

// End-to-end: real duet binary, real headless Chromium pages with fake camera and microphone, real WebRTC between them.

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// statsJS summarizes the page's current RTCPeerConnection stats: what the tests assert on.
const statsJS = `(async () => {
	const pc = window.duet && window.duet.pc();
	if (!pc) return null;
	const r = await pc.getStats();
	const out = { conn: pc.connectionState, framesDecoded: 0, frameWidth: 0, frameHeight: 0,
		audioPackets: 0, audioEnergy: 0, localType: '', remoteType: '', localURL: '' };
	let pair = null;
	r.forEach((s) => {
		if (s.type === 'inbound-rtp' && s.kind === 'video') {
			out.framesDecoded = s.framesDecoded || 0;
			out.frameWidth = s.frameWidth || 0;
			out.frameHeight = s.frameHeight || 0;
		}
		if (s.type === 'inbound-rtp' && s.kind === 'audio') {
			out.audioPackets = s.packetsReceived || 0;
			out.audioEnergy = s.totalAudioEnergy || 0;
		}
		if (s.type === 'transport' && s.selectedCandidatePairId) pair = r.get(s.selectedCandidatePairId);
	});
	if (pair) {
		const l = r.get(pair.localCandidateId), rc = r.get(pair.remoteCandidateId);
		out.localType = l ? l.candidateType : '';
		out.remoteType = rc ? rc.candidateType : '';
		out.localURL = (l && l.url) || '';
	}
	return out;
})()`

var regexpRoom = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

type rtcStats struct {
	Conn          string  `json:"conn"`
	FramesDecoded int     `json:"framesDecoded"`
	FrameWidth    int     `json:"frameWidth"`
	FrameHeight   int     `json:"frameHeight"`
	AudioPackets  int     `json:"audioPackets"`
	AudioEnergy   float64 `json:"audioEnergy"`
	LocalType     string  `json:"localType"`
	RemoteType    string  `json:"remoteType"`
	LocalURL      string  `json:"localURL"`
}

func (p *tab) stats() rtcStats {
	p.t.Helper()
	s := evalJS[*rtcStats](p, statsJS)
	if s == nil {
		p.t.Fatalf("%s: no RTCPeerConnection to read stats from%s", p.name, p.debug())
	}
	return *s
}

// join opens the room page and presses Join, as a user would.
func (p *tab) join(u string) {
	p.t.Helper()
	p.open(u)
	p.click("connserver")
}

// waitMediaFlowing proves the page receives the other side: the remote video has a size, and decoded video frames and
// received audio packets both grow from one stats read to a later one on the same connection.
func (p *tab) waitMediaFlowing() {
	p.t.Helper()
	p.waitFor("remote video with a size", `document.getElementById('remotevideo').videoWidth > 0`)
	p.waitFor("a connected peer connection", `window.duet.pc() && window.duet.pc().connectionState === 'connected'`)
	first := p.stats()
	p.waitFor("decoded frames and audio packets increasing", fmt.Sprintf(
		`(%s).then((s) => s && s.framesDecoded > %d && s.audioPackets > %d)`,
		statsJS, first.FramesDecoded+5, first.AudioPackets+5))
}

func newRoom(t *testing.T) string {
	return strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
}

// callOf starts two pages in one room and waits for the call to be up on both sides.
func callOf(t *testing.T, s *server, room string, extra url.Values) (*tab, *tab) {
	t.Helper()
	b := newBrowser(t)
	alice := newPage(t, b, "alice")
	alice.join(s.roomURL(room, extra))
	alice.waitState("joined")
	return alice, alice.joinedBy(b, "bob", s.roomURL(room, extra))
}

// joinedBy opens a new page at roomURL, the room p waits in, and waits for the call between them to
// be up on both sides.
func (p *tab) joinedBy(browser context.Context, name, roomURL string) *tab {
	p.t.Helper()
	return p.joinedWith(browser, name, roomURL, (*tab).waitMediaFlowing)
}

// joinedWith is joinedBy with the newcomer's own check of what it receives.
func (p *tab) joinedWith(browser context.Context, name, roomURL string, received func(*tab)) *tab {
	p.t.Helper()
	peer := newPage(p.t, browser, name)
	peer.join(roomURL)
	peer.waitState("joined_conn")
	p.waitState("joined_conn")
	p.waitMediaFlowing()
	received(peer)
	return peer
}

func TestTwoPagesCall(t *testing.T) {
	s := startServer(t)
	alice, bob := callOf(t, s, newRoom(t), nil)
	for _, p := range []*tab{alice, bob} {
		if got := p.state(); got != "joined_conn" {
			t.Errorf("%s: #state = %q, want joined_conn", p.name, got)
		}
		// duet serves a strict CSP: no inline script or style may have been blocked.
		if v := evalJS[[]string](p, `window.__cspViolations`); len(v) > 0 {
			t.Errorf("%s: Content-Security-Policy violations: %v", p.name, v)
		}
		// The stats panel shows what getStats says.
		p.waitFor("stats panel filled", `document.getElementById('stat-conn').textContent === 'connected' &&
			document.getElementById('stat-local').textContent === 'host' && /\d+×\d+/.test(document.getElementById('stat-res').textContent)`)
		// People see the connection in words, never the protocol state.
		p.waitFor("the indicator saying connected", `document.getElementById('linktext').textContent === 'Connected'`)
		if visible := evalJS[bool](p, `(() => { const r = document.getElementById('state').getBoundingClientRect(); return r.width > 1 && r.height > 1; })()`); visible {
			t.Errorf("%s: the protocol state is visible", p.name)
		}
	}
}

func TestRelayOnlyCallUsesEmbeddedTURN(t *testing.T) {
	s := startServer(t)
	alice, bob := callOf(t, s, newRoom(t), url.Values{"relay": {"1"}})
	turnPort := fmt.Sprintf(":%d", s.turnPort)
	for _, p := range []*tab{alice, bob} {
		st := p.stats()
		if st.LocalType != "relay" || st.RemoteType != "relay" {
			t.Errorf("%s: selected pair is %s → %s, want relay → relay", p.name, st.LocalType, st.RemoteType)
		}
		// The relay candidate names the TURN server it came from: it must be duet's own.
		if st.LocalURL != "" && !strings.Contains(st.LocalURL, turnPort) {
			t.Errorf("%s: local relay candidate came from %q, not duet's TURN port %s", p.name, st.LocalURL, turnPort)
		}
		t.Logf("%s: selected pair %s → %s via %q", p.name, st.LocalType, st.RemoteType, st.LocalURL)
		p.waitFor("the indicator saying relayed", `document.getElementById('linktext').textContent === 'Relayed'`)
	}
}

// TestRateLimitedICEServersWait: a few reloads in a row use up the address's /api/ice-servers
// allowance; the page waits as the 429 says instead of calling without TURN, so a relay-only call
// still connects through duet's relay.
func TestRateLimitedICEServersWait(t *testing.T) {
	s := startServer(t, "--ice-rate", "0.25") // a burst of 2.5 requests, then one every 4 s
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	limited := false
	for range 10 {
		res, err := client.Get(s.baseURL("127.0.0.1") + "/api/ice-servers")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if limited = res.StatusCode == http.StatusTooManyRequests; limited {
			break
		}
	}
	if !limited {
		t.Fatal("ten requests never hit the rate limit")
	}
	b := newBrowser(t)
	alice := newPage(t, b, "alice")
	room := newRoom(t)
	alice.join(s.roomURL(room, url.Values{"relay": {"1"}}))
	alice.waitState("joined")
	// The page joins only once it has its ICE servers, or has given up on them and said so.
	if n := evalJS[any](alice, `window.duet.notice()`); n == "notice.noIce" {
		t.Fatalf("alice gave up on the ICE servers: notice %v", n)
	}
	bob := alice.joinedBy(b, "bob", s.roomURL(room, url.Values{"relay": {"1"}}))
	for _, p := range []*tab{alice, bob} {
		if st := p.stats(); st.LocalType != "relay" || st.RemoteType != "relay" {
			t.Errorf("%s: selected pair is %s → %s, want relay → relay", p.name, st.LocalType, st.RemoteType)
		}
	}
}

// waitUnbound checks the page that stayed: it waits for the next peer with no remote video.
func waitUnbound(p *tab) {
	p.t.Helper()
	p.waitState("joined_unbind")
	p.waitFor("remote video cleared", `document.getElementById('remotevideo').srcObject === null && window.duet.pc() === null`)
}

func TestPeerLeavesAndAnotherJoins(t *testing.T) {
	s := startServer(t)
	room := newRoom(t)
	alice, bob := callOf(t, s, room, nil)
	b := alice.ctx

	// Bob hangs up with the button.
	bob.click("leave")
	bob.waitState("leaved")
	bob.waitFor("bob's camera released", `window.__capturedTracks.length > 0 && window.__capturedTracks.every((t) => t.readyState === 'ended')`)
	waitUnbound(alice)

	// Carol takes his place: alice offers again and the call is back.
	carol := alice.joinedBy(b, "carol", s.roomURL(room, nil))

	// Carol closes her tab without hanging up: the server's bye does the same.
	carol.close()
	waitUnbound(alice)

	dave := alice.joinedBy(b, "dave", s.roomURL(room, nil))

	// Dave reloads his page: it joins again by itself and alice gets a fresh connection.
	evalJS[bool](alice, `(window.__oldPC = window.duet.pc(), true)`)
	dave.do("reload", chromedp.Reload())
	dave.waitFor("page script loaded", `!!window.duet`)
	alice.waitFor("a new connection after dave's reload", `window.duet.pc() !== null && window.duet.pc() !== window.__oldPC &&
		document.getElementById('state').textContent === 'joined_conn'`)
	dave.waitState("joined_conn")
	alice.waitMediaFlowing()
	dave.waitMediaFlowing()
}

func TestThirdPageIsToldRoomIsFull(t *testing.T) {
	s := startServer(t)
	room := newRoom(t)
	alice, _ := callOf(t, s, room, nil)

	carol := newPage(t, alice.ctx, "carol")
	carol.join(s.roomURL(room, nil))
	carol.waitFor("a visible 'room is full' message", `(() => {
		const n = document.getElementById('notice');
		return /room is full/i.test(n.textContent) && n.offsetParent !== null && n.getClientRects().length > 0;
	})()`)
	carol.waitFor("the camera released", `window.__capturedTracks.length > 0 &&
		window.__capturedTracks.every((t) => t.readyState === 'ended') && window.duet.localStream() === null`)
	if st := carol.state(); st == "joined" || st == "joined_conn" || st == "joined_unbind" {
		t.Errorf("carol: #state = %q after a full room, want it not joined", st)
	}
	if got := evalJS[bool](carol, `document.getElementById('connserver').disabled`); got {
		t.Errorf("carol: Join is disabled after a full room; the user cannot try again")
	}
	// The two already in the call keep it.
	alice.waitMediaFlowing()
}

// energyDeltaJS measures the audio energy the page receives over one second.
const energyDeltaJS = `(async () => {
	const e = async () => { const s = await (` + statsJS + `); return s ? s.audioEnergy : 0; };
	const a = await e();
	await new Promise((r) => setTimeout(r, 1000));
	return (await e()) - a;
})()`

// receivedSizeIs waits until the page decodes video of the given size.
func receivedSizeIs(p *tab, w, h int) {
	p.t.Helper()
	p.waitFor(fmt.Sprintf("received video of %dx%d", w, h), fmt.Sprintf(
		`(%s).then((s) => s && s.frameWidth === %d && s.frameHeight === %d)`, statsJS, w, h))
}

// receivedCameraSized waits until the page decodes video of the camera's shape and at most its size: the sender's
// bandwidth adaptation may scale the camera down (to 480x360 say) but never up to the screen's size.
func receivedCameraSized(p *tab, camW, camH, scrW, scrH int) {
	p.t.Helper()
	p.waitFor(fmt.Sprintf("received video shaped like the %dx%d camera", camW, camH), fmt.Sprintf(
		`(%s).then((s) => s && s.frameWidth > 0 && s.frameWidth <= %d && s.frameHeight <= %d &&
			Math.abs(s.frameWidth * %d - s.frameHeight * %d) <= %d &&
			!(s.frameWidth === %d && s.frameHeight === %d))`,
		statsJS, camW, camH, camH, camW, 8*camW, scrW, scrH))
}

func TestMuteAndScreenShareReachThePeer(t *testing.T) {
	s := startServer(t)
	alice, bob := callOf(t, s, newRoom(t), nil)

	// Mute: alice's microphone track is disabled and bob hears silence; unmute brings the sound back.
	bob.waitFor("alice's audio has energy", energyDeltaJS+`.then((d) => d > 1e-4)`)
	alice.click("mute")
	if got := evalJS[bool](alice, `window.duet.localStream().getAudioTracks().every((t) => !t.enabled)`); !got {
		t.Fatalf("alice: audio track still enabled after Mute")
	}
	if got := evalJS[string](alice, `document.getElementById('mute').getAttribute('aria-pressed')`); got != "true" {
		t.Errorf("alice: mute button aria-pressed = %q, want true", got)
	}
	bob.waitFor("silence from alice", energyDeltaJS+`.then((d) => d < 1e-6)`)
	alice.click("mute")
	bob.waitFor("alice's audio back", energyDeltaJS+`.then((d) => d > 1e-4)`)

	// Camera off disables the camera track (black frames go on flowing, so the call stays up); on again restores it.
	alice.click("camera")
	if got := evalJS[bool](alice, `window.duet.localStream().getVideoTracks().every((t) => !t.enabled)`); !got {
		t.Errorf("alice: camera track still enabled after Turn camera off")
	}
	alice.click("camera")
	if got := evalJS[bool](alice, `window.duet.localStream().getVideoTracks().every((t) => t.enabled)`); !got {
		t.Errorf("alice: camera track still disabled after Turn camera on")
	}

	// Screen share: bob receives the screen's size instead of the camera's, then the camera's again.
	camW := evalJS[int](alice, `window.duet.localStream().getVideoTracks()[0].getSettings().width`)
	camH := evalJS[int](alice, `window.duet.localStream().getVideoTracks()[0].getSettings().height`)
	receivedCameraSized(bob, camW, camH, 0, 0)
	alice.click("share")
	alice.waitFor("screen track sent", `(() => {
		const s = window.duet.pc().getSenders().find((x) => x.track && x.track.kind === 'video');
		return s && s.track.getSettings().displaySurface !== undefined;
	})()`)
	scrW := evalJS[int](alice, `window.duet.pc().getSenders().find((x) => x.track && x.track.kind === 'video').track.getSettings().width`)
	scrH := evalJS[int](alice, `window.duet.pc().getSenders().find((x) => x.track && x.track.kind === 'video').track.getSettings().height`)
	if scrW == camW && scrH == camH {
		t.Fatalf("the fake screen (%dx%d) has the camera's size; the test cannot tell them apart", scrW, scrH)
	}
	receivedSizeIs(bob, scrW, scrH)
	alice.click("share") // stop sharing
	alice.waitFor("camera track sent again", `(() => {
		const s = window.duet.pc().getSenders().find((x) => x.track && x.track.kind === 'video');
		return s && s.track === window.duet.localStream().getVideoTracks()[0];
	})()`)
	receivedCameraSized(bob, camW, camH, scrW, scrH)
	bob.waitMediaFlowing()
}

func TestServerRestartRejoinsAutomatically(t *testing.T) {
	s := startServer(t)
	alice, bob := callOf(t, s, newRoom(t), nil)
	for _, p := range []*tab{alice, bob} {
		evalJS[bool](p, `(window.__oldPC = window.duet.pc(), true)`)
	}

	s.stop()
	alice.waitFor("the page to notice the server is gone", `/server/i.test(document.getElementById('notice').textContent)`)
	s.start()

	// No clicks from here: both pages rejoin and build a new connection by themselves.
	for _, p := range []*tab{alice, bob} {
		p.waitFor("a new peer connection after the restart", `window.duet.pc() !== null && window.duet.pc() !== window.__oldPC &&
			document.getElementById('state').textContent === 'joined_conn'`)
	}
	alice.waitMediaFlowing()
	bob.waitMediaFlowing()
	for _, p := range []*tab{alice, bob} {
		if got := p.state(); got != "joined_conn" {
			t.Errorf("%s: #state = %q after the restart, want joined_conn", p.name, got)
		}
	}
}

// noHorizontalScroll is true when nothing on the page is wider than the viewport.
const noHorizontalScroll = `document.documentElement.scrollWidth <= window.innerWidth`

func TestLandingPageAndPhoneWidth(t *testing.T) {
	s := startServer(t)
	b := newBrowser(t)
	p := newPage(t, b, "phone")
	p.do("phone viewport", chromedp.EmulateViewport(375, 740))
	p.do("open /", chromedp.Navigate(s.baseURL("localhost")+"/"), chromedp.WaitVisible(chromedp.ID("generate")))

	// A bad name is refused on the page, with a reason.
	p.do("type a bad name", chromedp.SendKeys(chromedp.ID("room"), "no spaces!"), chromedp.Click(chromedp.ID("go")))
	p.waitFor("an error for the bad name", `document.getElementById('roomerror').textContent.length > 0 && location.pathname === '/'`)
	p.waitFor("no horizontal scroll on the landing page", noHorizontalScroll)

	// Generate makes a valid name, and Open goes to its room page.
	p.click("generate")
	name := evalJS[string](p, `document.getElementById('room').value`)
	if !regexpRoom.MatchString(name) {
		t.Fatalf("generated room name %q is not 1-64 of [A-Za-z0-9_-]", name)
	}
	p.click("go")
	p.waitFor("the room page", fmt.Sprintf(`location.pathname === '/room.html' && new URLSearchParams(location.search).get('room') === %q && !!window.duet`, name))
	p.click("connserver")
	p.waitState("joined")
	p.waitFor("no horizontal scroll on the room page", noHorizontalScroll)
	// Every control is a real button with a name a screen reader can say.
	unnamed := evalJS[[]string](p, `[...document.querySelectorAll('button')].filter((b) => !(b.getAttribute('aria-label') || b.textContent.trim())).map((b) => b.id)`)
	if len(unnamed) > 0 {
		t.Errorf("buttons without an accessible name: %v", unnamed)
	}
}
