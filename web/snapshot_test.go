package web_test

import (
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// downloads makes the tab's browser save downloads into a new folder, and returns it.
func (p *tab) downloads() string {
	p.t.Helper()
	dir := p.t.TempDir()
	if _, err := chromedp.Call(p.ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir}); err != nil {
		p.t.Fatalf("%s: allowing downloads: %v", p.name, err)
	}
	return dir
}

// waitDownload waits for a finished file ending in ext in dir and returns its path.
func waitDownload(t *testing.T, dir, ext string) string {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ext) {
				return filepath.Join(dir, e.Name())
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no %s download in %s after %v", ext, dir, waitTimeout)
	return ""
}

func TestSnapshotSavesTheRemoteFrame(t *testing.T) {
	s := startServer(t)
	alice, _ := callOf(t, s, newRoom(t), nil)
	dir := alice.downloads()
	alice.click("more")
	alice.click("snapshot")
	path := waitDownload(t, dir, ".png")
	w := evalJS[int](alice, `document.getElementById('remotevideo').videoWidth`)
	h := evalJS[int](alice, `document.getElementById('remotevideo').videoHeight`)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		t.Fatalf("%s is not a PNG: %v", filepath.Base(path), err)
	}
	if cfg.Width != w || cfg.Height != h || w == 0 {
		t.Errorf("snapshot is %d×%d, the remote video %d×%d", cfg.Width, cfg.Height, w, h)
	}
	if !strings.HasPrefix(filepath.Base(path), "duet-") {
		t.Errorf("snapshot named %q", filepath.Base(path))
	}
}
