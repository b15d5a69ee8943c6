package web_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// makeFile writes size pseudo-random bytes (incompressible, reproducible) to a new file named name, and returns
// its path and SHA-256.
func makeFile(t *testing.T, name string, size int64) (string, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	src := rand.NewChaCha8([32]byte{1, 2, 3})
	if _, err := io.CopyN(io.MultiWriter(f, h), src, size); err != nil {
		t.Fatal(err)
	}
	return path, hex.EncodeToString(h.Sum(nil))
}

// offerFile picks a file in the page's file chooser, as a user would.
func (p *tab) offerFile(path string) {
	p.t.Helper()
	p.do("pick "+filepath.Base(path), chromedp.SetUploadFiles(chromedp.ID("fileinput"), []string{path}))
}

// press clicks the button for action on transfer id (the sender's count, from 1) going in direction dir (in or out).
func (p *tab) press(id int, dir, action string) {
	p.t.Helper()
	sel := fmt.Sprintf(`#file-%s-%d button[data-action=%s]`, dir, id, action)
	p.do("press "+action, chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Click(chromedp.CSS(sel)))
}

// waitTransfer waits until transfer id going in direction dir is in state.
func (p *tab) waitTransfer(id int, dir, state string) {
	p.t.Helper()
	p.waitFor(fmt.Sprintf("%s transfer %d %s", dir, id, state), transferIs(id, dir, state))
}

func transferIs(id int, dir, state string) string {
	return fmt.Sprintf(`document.getElementById('file-%s-%d').dataset.state === %q`, dir, id, state)
}

// heap is the page's JavaScript heap plus array buffers, in bytes.
func (p *tab) heap() float64 {
	p.t.Helper()
	u, err := chromedp.Call(p.ctx, cdpruntime.GetHeapUsage, cdp.Empty{})
	if err != nil {
		p.t.Fatalf("%s: heap usage: %v", p.name, err)
	}
	return u.UsedSize + u.BackingStorageSize
}

func TestFileTransfer(t *testing.T) {
	const size = 200 << 20
	path, sum := makeFile(t, "big.bin", size)
	s := startServer(t)
	for _, tc := range []struct {
		name  string
		extra url.Values
	}{{"direct", nil}, {"relay", url.Values{"relay": {"1"}}}} {
		t.Run(tc.name, func(t *testing.T) {
			alice, bob := callOf(t, s, newRoom(t), tc.extra)
			dir := bob.downloads()
			alice.click("chatbtn")
			alice.offerFile(path)
			bob.waitTransfer(1, "in", "offered")
			bob.press(1, "in", "accept")
			start := time.Now()
			peak := 0.0
			for {
				peak = max(peak, alice.heap())
				if evalJS[bool](bob, `document.getElementById('file-in-1').dataset.state !== 'receiving'`) {
					break
				}
				if time.Since(start) > 3*time.Minute {
					t.Fatal("200 MB not received within 3 minutes")
				}
				time.Sleep(time.Second)
			}
			took := time.Since(start)
			bob.waitTransfer(1, "in", "done")
			alice.waitTransfer(1, "out", "done")
			t.Logf("200 MB in %v (%.0f MB/s); sender's heap peaked at %.0f MB", took.Round(100*time.Millisecond), float64(size)/1e6/took.Seconds(), peak/1e6)
			if peak > 64<<20 {
				t.Errorf("the sender's heap reached %.0f MB for a %d MB file", peak/1e6, size>>20)
			}
			if got := evalJS[string](bob, `document.getElementById('file-in-1').dataset.sha256`); got != sum {
				t.Errorf("received SHA-256 %s, sent %s", got, sum)
			}
			bob.do("save", chromedp.Click(chromedp.CSS(`#file-in-1 a.save`)))
			saved := waitDownload(t, dir, "big.bin")
			waitComplete(t, saved, size)
			f, err := os.Open(saved)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			h := sha256.New()
			if _, err := io.Copy(h, f); err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(h.Sum(nil)); got != sum {
				t.Errorf("saved file's SHA-256 %s, sent %s", got, sum)
			}
		})
	}
}

// waitComplete waits until the file at path has size bytes (the browser may still be writing it).
func waitComplete(t *testing.T, path string, size int64) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		if st, err := os.Stat(path); err == nil && st.Size() == size {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s never reached %d bytes", path, size)
}

func TestFileDeclineAndCancel(t *testing.T) {
	small, smallSum := makeFile(t, "small.bin", 256<<10)
	big, _ := makeFile(t, "big.bin", 100<<20)
	s := startServer(t)
	alice, bob := callOf(t, s, newRoom(t), nil)
	alice.click("chatbtn")

	alice.offerFile(small)
	bob.waitTransfer(1, "in", "offered")
	bob.press(1, "in", "decline")
	alice.waitTransfer(1, "out", "declined")
	bob.waitTransfer(1, "in", "declined")

	// The sender cancels mid-way.
	alice.offerFile(big)
	bob.waitTransfer(2, "in", "offered")
	bob.press(2, "in", "accept")
	alice.waitFor("bytes moving", transferIs(2, "out", "sending"))
	alice.press(2, "out", "cancel")
	bob.waitTransfer(2, "in", "cancelled")
	alice.waitTransfer(2, "out", "cancelled")

	// The receiver cancels mid-way.
	alice.offerFile(big)
	bob.waitTransfer(3, "in", "offered")
	bob.press(3, "in", "accept")
	bob.waitFor("bytes arriving", transferIs(3, "in", "receiving"))
	bob.press(3, "in", "cancel")
	alice.waitTransfer(3, "out", "cancelled")

	// Both sides are ready again: the next file goes through whole.
	alice.offerFile(small)
	bob.waitTransfer(4, "in", "offered")
	bob.press(4, "in", "accept")
	bob.waitTransfer(4, "in", "done")
	if got := evalJS[string](bob, `document.getElementById('file-in-4').dataset.sha256`); got != smallSum {
		t.Errorf("after the cancels: received SHA-256 %s, sent %s", got, smallSum)
	}
	bob.fits("files-1920")
}
