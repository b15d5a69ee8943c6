package web_test

// Private rooms in the browser: New call, room passwords, calls through minted invite links.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"duet/internal/duettest"
)

// The shape internal/access and web/js/access.js document.
var generatedName = regexp.MustCompile(`^[0-9a-hjkmnp-tv-z]{5}(-[0-9a-hjkmnp-tv-z]{5}){3}$`)

// TestNewCall: the landing page's main action opens a room with an unguessable name and leaves its
// link on the clipboard.
func TestNewCall(t *testing.T) {
	s := startServer(t)
	b := newBrowser(t)
	p := newPage(t, b, "host")
	origin := s.baseURL("localhost")
	p.allowClipboard(origin)
	p.do("open /", chromedp.Navigate(origin+"/"), chromedp.WaitVisible(chromedp.ID("newcall")))
	p.click("newcall")
	p.waitFor("the room page", `location.pathname === '/room.html' && !!window.duet`)
	name := evalJS[string](p, `new URLSearchParams(location.search).get('room')`)
	if !generatedName.MatchString(name) {
		t.Fatalf("New call opened room %q, not a generated name", name)
	}
	if clip := evalJS[string](p, `navigator.clipboard.readText()`); clip != origin+"/room.html?room="+name {
		t.Errorf("clipboard holds %q, want the room's link", clip)
	}
	p.click("connserver")
	p.waitState("joined")
}

// allowClipboard lets pages of origin write and read the clipboard, as a user granting it would.
func (p *tab) allowClipboard(origin string) {
	p.t.Helper()
	for _, perm := range []string{"clipboard-read", "clipboard-write"} {
		if _, err := chromedp.CallBrowser(p.ctx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission: &cdpbrowser.PermissionDescriptor{Name: perm}, Setting: cdpbrowser.PermissionSettingGranted, Origin: origin}); err != nil {
			p.t.Fatal(err)
		}
	}
}

// setPassword types pw into the lobby's password field.
func (p *tab) setPassword(pw string) {
	p.t.Helper()
	evalJS[bool](p, fmt.Sprintf(`(document.getElementById('roompassword').value = %q, true)`, pw))
}

// refusedWith waits for the lobby to be back with a visible notice matching text, the camera released
// and the password field focused.
func (p *tab) refusedWith(text string) {
	p.t.Helper()
	p.waitFor("a notice: "+text, fmt.Sprintf(`(() => {
		const n = document.getElementById('notice');
		return new RegExp(%q, 'i').test(n.textContent) && n.getClientRects().length > 0;
	})()`, text))
	p.waitFor("the camera released", `window.duet.localStream() === null`)
	p.waitFor("the password asked for", `document.activeElement === document.getElementById('roompassword') && !document.getElementById('connserver').disabled`)
}

// TestRoomPassword: the first person sets a password; the second is told the room has one, then that
// a guess is wrong, and gets in with the right one.
func TestRoomPassword(t *testing.T) {
	s := startServer(t)
	u := s.roomURL(newRoom(t), nil)
	b := newBrowser(t)
	alice := newPage(t, b, "alice")
	alice.open(u)
	alice.setPassword("blue moon")
	alice.click("connserver")
	alice.waitState("joined")

	bob := newPage(t, b, "bob")
	bob.join(u)
	bob.refusedWith("has a password")
	bob.setPassword("red moon")
	bob.click("connserver")
	bob.refusedWith("wrong password")
	bob.setPassword("blue moon")
	bob.click("connserver")
	bob.waitState("joined_conn")
	alice.waitState("joined_conn")
	alice.waitMediaFlowing()
	bob.waitMediaFlowing()
}

// TestInviteLinkCall: with --rooms token, a link minted by POST /api/rooms carries the call, while
// the same room without the link's token is refused.
func TestInviteLinkCall(t *testing.T) {
	const key = "web-test-api-key-0123456789"
	s := startServer(t, "--rooms", "token", "--api-key", key)
	req, _ := http.NewRequest("POST", s.baseURL("localhost")+"/api/rooms", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := duettest.Insecure.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var minted struct{ Room, URL string }
	if err := json.NewDecoder(resp.Body).Decode(&minted); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /api/rooms: %s %v", resp.Status, err)
	}
	if !strings.Contains(minted.URL, "#token=") {
		t.Fatalf("minted link %q has no token in its fragment", minted.URL)
	}
	b := newBrowser(t)
	eve := newPage(t, b, "eve")
	eve.join(s.roomURL(minted.Room, nil))
	eve.waitFor("a notice: invited people only", `/invited people only/i.test(document.getElementById('notice').textContent)`)
	eve.close()

	alice := newPage(t, b, "alice")
	alice.join(minted.URL)
	alice.waitState("joined")
	alice.joinedBy(b, "bob", minted.URL)
	// The page's copy button hands on the invitation with the room.
	alice.allowClipboard(s.baseURL("localhost"))
	alice.click("copylink")
	if link := evalJS[string](alice, `navigator.clipboard.readText()`); link != minted.URL {
		t.Errorf("the page's copy button copied %q, want the minted %q", link, minted.URL)
	}
}
