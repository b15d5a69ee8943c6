// Package chromium starts the headless Chromium that duet's browser tests and call set-up benchmark
// drive: Debian's own build, with fake camera, microphone and screen.
package chromium

import (
	"context"
	"fmt"
	"os"

	"github.com/chromedp/chromedp"
)

// Path is Debian's Chromium (apt-get install chromium); no test tool downloads a browser of its own.
const Path = "/usr/bin/chromium"

// Options are the launch flags: headless, fake media devices and pickers, nothing that calls home,
// duet's self-signed certificate accepted, and a fresh profile in userDataDir.
func Options(userDataDir string) []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(Path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true), // also answers getDisplayMedia with a fake screen
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.UserDataDir(userDataDir),
	}
}

// Start launches a browser, with extra allocator options after Options; cancel closes it. It fails
// with the install command when Chromium is missing.
func Start(ctx context.Context, userDataDir string, extra ...chromedp.ExecAllocatorOption) (browser context.Context, cancel context.CancelFunc, err error) {
	if _, err := os.Stat(Path); err != nil {
		return nil, nil, fmt.Errorf("chromium is required but %s is missing (%v): apt-get install chromium (make test-deps does)", Path, err)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, append(Options(userDataDir), extra...)...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	cancel = func() {
		cancelBrowser()
		cancelAlloc()
	}
	if err := chromedp.Do(bctx); err != nil {
		cancel()
		return nil, nil, fmt.Errorf("starting chromium: %w", err)
	}
	return bctx, cancel, nil
}
