package web_test

// The call page's features against real Chromium: joining without a camera or without anything, adding the
// camera mid-call, switching cameras, the other person's state over the control channel, and the languages.

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// initScript runs src in every document the tab opens from now on, before the page's own scripts.
func (p *tab) initScript(src string) {
	p.t.Helper()
	if _, err := chromedp.Call(p.ctx, page.AddScriptToEvaluateOnNewDocument,
		page.AddScriptToEvaluateOnNewDocumentParams{Source: src}); err != nil {
		p.t.Fatalf("%s: init script: %v", p.name, err)
	}
}

// refuseMediaJS makes getUserMedia fail with errName for the kinds named (the browser's own error, as a
// missing or refused device gives) until the page sets window.__devicesBack.
func refuseMediaJS(errName string, video, audio bool) string {
	return fmt.Sprintf(`(() => {
	const md = navigator.mediaDevices;
	const orig = md.getUserMedia.bind(md);
	md.getUserMedia = async (c) => {
		if (!window.__devicesBack && ((%t && c && c.video) || (%t && c && c.audio))) throw new DOMException('refused by the test', %q);
		return orig(c);
	};
})();`, video, audio, errName)
}

// within polls predicate for at most d: the bound the page promises, not a timing measurement.
func (p *tab) within(d time.Duration, what, predicate string) {
	p.t.Helper()
	if err := p.poll(predicate, d); err != nil {
		p.t.Errorf("%s: %s not within %v: %v%s", p.name, what, d, err, p.debug())
	}
}

// framesGrowJS is true once the page decodes more video frames than it had when the expression was built.
func framesGrow(p *tab) string {
	p.t.Helper()
	s := evalJS[*rtcStats](p, statsJS)
	n := 0
	if s != nil {
		n = s.FramesDecoded
	}
	return fmt.Sprintf(`(%s).then((s) => s && s.framesDecoded > %d)`, statsJS, n+10)
}

const placeholderShown = `!document.getElementById('remoteempty').hidden`

// audioFlowing waits for growing audio packets from the other side (the page has no video of it to check).
func (p *tab) audioFlowing() {
	p.t.Helper()
	p.waitFor("a connected peer connection", `window.duet.pc() && window.duet.pc().connectionState === 'connected'`)
	first := p.stats()
	p.waitFor("audio packets increasing", fmt.Sprintf(`(%s).then((s) => s && s.audioPackets > %d)`, statsJS, first.AudioPackets+5))
}

func (p *tab) setName(name string) {
	p.t.Helper()
	p.do("type a name", chromedp.SetValue(chromedp.ID("displayname"), name))
}

// TestJoinWithoutCamera: the one waiting in the room has no camera: it joins audio-only, the other side shows its
// initial, and its camera, plugged in mid-call, reaches the other side through a new offer.
func TestJoinWithoutCamera(t *testing.T) {
	s := startServer(t)
	u := s.roomURL(newRoom(t), nil)
	alice := newPage(t, browser, "alice without camera")
	alice.initScript(refuseMediaJS("NotFoundError", true, false))
	alice.open(u)
	alice.waitFor("the lobby saying audio only", `/audio only/.test(document.getElementById('previewnote').textContent)`)
	alice.setName("Alice")
	alice.click("connserver")
	alice.waitState("joined")
	bob := alice.joinedByAudioOnly("bob", u)

	bob.waitFor("alice's initial instead of video", placeholderShown+` && document.getElementById('peeravatar').textContent === 'A' &&
		document.getElementById('peername').textContent === 'Alice'`)
	bob.shot("placeholder")
	alice.waitFor("alice's own tile saying audio only", `document.getElementById('selfnote').textContent === 'Audio only'`)
	alice.shot("audio-only")
	if got := evalJS[string](alice, `document.getElementById('camera').getAttribute('aria-pressed')`); got != "true" {
		t.Errorf("alice: camera button aria-pressed = %q without a camera, want true", got)
	}

	// The camera comes: alice (the offerer) sends it after a new offer, bob decodes it.
	grow := framesGrow(bob)
	evalJS[bool](alice, `window.__devicesBack = true`)
	alice.click("camera")
	alice.waitFor("a camera track sent", `window.duet.pc().getSenders().some((s) => s.track && s.track.kind === 'video')`)
	bob.waitFor("alice's video frames", grow)
	bob.waitFor("alice's video instead of the placeholder", `document.getElementById('remoteempty').hidden`)
}

// joinedByAudioOnly is joinedBy for a room whose first member sends no video: the newcomer checks audio only.
func (p *tab) joinedByAudioOnly(name, roomURL string) *tab {
	p.t.Helper()
	peer := newPage(p.t, browser, name)
	peer.join(roomURL)
	peer.waitState("joined_conn")
	p.waitState("joined_conn")
	p.waitMediaFlowing()
	peer.audioFlowing()
	return peer
}

// TestJoinReceiveOnly: the newcomer has neither camera nor microphone: it joins to watch and listen, and adds
// its camera later by asking the offerer for a new offer over the control channel.
func TestJoinReceiveOnly(t *testing.T) {
	s := startServer(t)
	u := s.roomURL(newRoom(t), nil)
	alice := newPage(t, browser, "alice")
	// Alice's tab is in the background while she waits (the page reads document.hidden, as for a real hidden tab).
	alice.initScript(`Object.defineProperty(Document.prototype, 'hidden', { get: () => window.__hidden === true });`)
	alice.join(u)
	alice.waitState("joined")
	evalJS[bool](alice, `window.__hidden = true`)

	bob := newPage(t, browser, "bob with nothing")
	bob.initScript(refuseMediaJS("NotAllowedError", true, true))
	bob.open(u)
	bob.waitFor("the lobby saying watch and listen", `/watch and listen/.test(document.getElementById('previewnote').textContent)`)
	bob.click("connserver")
	bob.waitState("joined_conn")
	bob.waitMediaFlowing()
	alice.waitFor("a connected peer connection", `window.duet.pc() && window.duet.pc().connectionState === 'connected'`)
	alice.waitFor("bob's placeholder", placeholderShown+` && document.getElementById('peernote').textContent === 'Camera off'`)
	alice.waitFor("the tab title telling of the arrival", `document.title === '● Someone joined — duet'`)
	evalJS[bool](alice, `window.__hidden = false, document.dispatchEvent(new Event('visibilitychange')), true`)
	alice.waitFor("the room's title back", `document.title === 'duet — TestJoinReceiveOnly'`)
	if n := evalJS[int](bob, `window.duet.pc().getTransceivers().filter((t) => t.currentDirection === 'recvonly').length`); n != 2 {
		t.Errorf("bob: %d recvonly transceivers, want 2 (audio and video)", n)
	}

	grow := framesGrow(alice)
	evalJS[bool](bob, `window.__devicesBack = true`)
	bob.click("camera")
	bob.waitFor("the video transceiver sending", `window.duet.pc().getTransceivers().some((t) => t.sender.track && t.sender.track.kind === 'video' && t.currentDirection === 'sendrecv')`)
	alice.waitFor("bob's video frames", grow)
	alice.waitFor("bob's video instead of the placeholder", `document.getElementById('remoteempty').hidden`)
}

// TestSwitchCamera: another fake camera (the last: an MJPEG one, see startBrowser) replaces the first mid-call;
// the other side keeps decoding frames, and watches it full screen, in picture in picture, at a lower volume.
func TestSwitchCamera(t *testing.T) {
	s := startServer(t)
	alice, bob := callOf(t, s, newRoom(t), nil)
	if n := evalJS[int](alice, `document.getElementById('camsel').options.length`); n < 3 {
		t.Fatalf("alice: %d cameras listed, want the browser's 3 fake ones", n)
	}
	first := evalJS[string](alice, `window.duet.localStream().getVideoTracks()[0].getSettings().deviceId`)
	other := evalJS[string](alice, `[...document.getElementById('camsel').options].pop().value`)
	if other == first {
		t.Fatalf("alice: the call started on the last camera; the test cannot switch away from it")
	}
	alice.click("more")
	alice.shot("settings")
	grow := framesGrow(bob)
	alice.do("pick the other camera", chromedp.SetValue(chromedp.ID("camsel"), other))
	evalJS[bool](alice, `document.getElementById('camsel').dispatchEvent(new Event('change')), true`)
	alice.waitFor("the other camera sent", fmt.Sprintf(`(() => {
		const s = window.duet.pc().getSenders().find((x) => x.track && x.track.kind === 'video');
		return s && s.track.getSettings().deviceId === %q && s.track === window.duet.localStream().getVideoTracks()[0];
	})()`, other))
	alice.waitFor("the first camera released", fmt.Sprintf(`window.__capturedTracks.filter((t) => t.kind === 'video' && t.getSettings().deviceId === %q).every((t) => t.readyState === 'ended')`, first))
	bob.waitFor("frames after the switch", grow)

	// Full screen from the button, and back with the F shortcut; picture in picture from the settings panel.
	bob.click("fullscreen")
	bob.waitFor("full screen", `document.fullscreenElement === document.documentElement && document.getElementById('fullscreen').getAttribute('aria-pressed') === 'true'`)
	bob.waitFor("the call fitting the screen", fitsJS)
	bob.do("press F", chromedp.KeyEvent("f"))
	bob.waitFor("full screen left", `document.fullscreenElement === null`)
	bob.click("more")
	bob.click("pip")
	bob.waitFor("picture in picture", `document.pictureInPictureElement === document.getElementById('remotevideo')`)
	bob.do("turn alice down", chromedp.SetValue(chromedp.ID("volume"), "0.3"))
	evalJS[bool](bob, `document.getElementById('volume').dispatchEvent(new Event('input')), true`)
	bob.waitFor("alice at 30 % volume", `Math.abs(document.getElementById('remotevideo').volume - 0.3) < 1e-6`)
}

// TestPeerStateReachesTheOther: mute, camera off and screen share on one side show on the other within a second.
func TestPeerStateReachesTheOther(t *testing.T) {
	s := startServer(t)
	alice, bob := callOf(t, s, newRoom(t), nil)
	bob.waitFor("alice's control channel", `window.duet.peer() !== null`)
	const bound = time.Second

	alice.click("mute")
	bob.within(bound, "alice's microphone off", `!document.getElementById('peermic').hidden && window.duet.peer().micOff`)
	bob.shot("muted-badge")
	// The keyboard shortcut listed on the page does the same as the button.
	alice.do("press M", chromedp.KeyEvent("m"))
	bob.within(bound, "alice's microphone on", `document.getElementById('peermic').hidden`)

	alice.click("camera")
	alice.shot("camera-off")
	bob.within(bound, "alice's camera off", placeholderShown+` && document.getElementById('peernote').textContent === 'Camera off'`)
	alice.click("camera")
	bob.within(bound, "alice's camera on", `document.getElementById('remoteempty').hidden`)

	alice.click("share")
	bob.within(bound, "alice sharing", `!document.getElementById('peershare').hidden && window.duet.peer().sharing`)
	alice.click("share")
	bob.within(bound, "alice no longer sharing", `document.getElementById('peershare').hidden`)
}

// TestChinesePage: a browser preferring Chinese gets the page in Chinese; the switch changes it without a reload.
func TestChinesePage(t *testing.T) {
	s := startServer(t)
	for i, v := range []viewport{viewports[0], viewports[2]} {
		p := newPage(t, browser, "zh "+v.name)
		if i == 1 {
			// The phone in dark mode: the other colour scheme fits the same way.
			if _, err := chromedp.Call(p.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}},
			}); err != nil {
				t.Fatal(err)
			}
		}
		p.initScript(`Object.defineProperty(Navigator.prototype, 'languages', { get: () => ['zh-CN', 'zh', 'en'] });
			Object.defineProperty(Navigator.prototype, 'language', { get: () => 'zh-CN' });`)
		p.resize(v)

		p.do("open /", chromedp.Navigate(s.baseURL("localhost")+"/"), chromedp.WaitVisible(chromedp.ID("generate")))
		p.waitFor("the landing page in Chinese", `document.getElementById('go').textContent === '打开房间'`)
		p.shot(v.name + "-landing")

		p.do("open a link without a valid room", chromedp.Navigate(s.roomURL("bad name!", nil)))
		p.waitFor("the error in Chinese", `/房间名/.test(document.getElementById('badroom').textContent) && !document.getElementById('badroom').hidden`)
		p.fits(v.name + "-error")

		p.open(s.roomURL(newRoom(t)+v.name, url.Values{"relay": {"1"}}))
		p.waitFor("the lobby in Chinese", `document.documentElement.lang === 'zh-CN' && document.getElementById('connserver').textContent === '加入'`)
		p.waitFor("the camera preview", `document.getElementById('previewvideo').videoWidth > 0`)
		p.fits(v.name + "-lobby")
		p.click("connserver")
		p.waitState("joined")
		p.waitFor("the indicator in Chinese", `document.getElementById('linktext').textContent === '正在等待对方'`)
		p.fits(v.name + "-waiting")

		evalJS[bool](p, `window.__samePage = true`)
		p.do("switch to English", chromedp.SetValue(chromedp.ID("lang"), "en"))
		evalJS[bool](p, `document.getElementById('lang').dispatchEvent(new Event('change')), true`)
		p.waitFor("the page in English", `document.documentElement.lang === 'en' && document.getElementById('linktext').textContent === 'Waiting for the other person' &&
			document.getElementById('mute').getAttribute('aria-label') === 'Mute microphone'`)
		if !evalJS[bool](p, `window.__samePage === true && window.duet.state() === 'joined'`) {
			t.Errorf("%s: switching the language reloaded the page or left the room", p.name)
		}
		// Back to Chinese for the next visit's first look, and the choice is remembered.
		p.do("switch to Chinese", chromedp.SetValue(chromedp.ID("lang"), "zh-CN"))
		evalJS[bool](p, `document.getElementById('lang').dispatchEvent(new Event('change')), true`)
		p.waitFor("the page in Chinese again", `document.getElementById('mute').getAttribute('aria-label') === '关闭麦克风'`)
		p.click("leave")
		p.waitState("leaved")
	}
}
