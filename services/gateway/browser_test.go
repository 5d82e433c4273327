package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// artifactsDir is where the browser tests save their screenshots:
// BROWSER_ARTIFACTS, or a folder under the system's temporary directory,
// which the test log names.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("BROWSER_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "latch-browser-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots: %s", dir)
	return dir
}

// newBrowser starts headless Chromium for one test, at the given window
// size, and closes it when the test ends.
func newBrowser(t *testing.T, timeout time.Duration, width, height int) context.Context {
	t.Helper()
	chromium := chromiumPath(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox, // CI runs as root
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(width, height),
	)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelBrowser)
	// Start the browser on the test's context: the per-step timeouts must
	// not close it when they end.
	if err := chromedp.Run(browser); err != nil {
		t.Fatalf("start Chromium (%s): %v", chromium, err)
	}
	return browser
}

func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("headless Chromium is required for the browser tests and was not found on PATH: " +
		"install it with `apt-get update && apt-get install -y chromium` (.ci/run does)")
	return ""
}

// TestBrowser drives the real UI in headless Chromium against the real
// services: two people sign up, work on their tasks, and never see each
// other's.
func TestBrowser(t *testing.T) {
	t.Parallel()
	s := startStack(t)
	browser := newBrowser(t, 150*time.Second, 1100, 900)
	b := &driver{t: t, ctx: browser, dir: artifactsDir(t)}
	b.run("open the site", chromedp.Navigate(s.URL), chromedp.WaitVisible("#sign-in-form"))
	if b.visible("#social") {
		t.Error("the Google button shows although no provider is configured")
	}
	b.shot("01-sign-in")

	// Ann signs up and works on her tasks.
	b.signUp("Ann Example", "ann@example.com", "password123")
	b.textIs("#user-name", "Ann Example")
	b.addTask("Buy milk", "high", "home, errand")
	b.addTask("Write report", "medium", "work")
	b.addTask("Call plumber", "low", "home")
	b.waitTasks(3)
	b.shot("02-ann-tasks")

	b.choose("#f-priority", "high")
	b.waitTitles("Buy milk")
	b.choose("#f-priority", "")
	b.run("tag filter", chromedp.SendKeys("#f-tag", "work"))
	b.waitTitles("Write report")
	b.run("clear tag", clear("#f-tag"))
	b.waitTasks(3)
	b.run("search", chromedp.SendKeys("#f-search", "plumb"))
	b.waitTitles("Call plumber")
	b.run("clear search", clear("#f-search"))
	b.waitTasks(3)
	b.choose("#f-sort", "title:asc")
	b.waitTitles("Buy milk", "Call plumber", "Write report")

	b.run("toggle", chromedp.Click(`li[data-id] input[aria-labelledby]`, chromedp.NodeVisible)) // the first: Buy milk
	b.poll("Buy milk is done", `document.querySelector('#task-list li.done .title')?.textContent === 'Buy milk'`)
	b.choose("#f-status", "completed")
	b.waitTitles("Buy milk")
	b.choose("#f-status", "pending")
	b.waitTitles("Call plumber", "Write report")
	b.choose("#f-status", "all")

	b.run("edit", chromedp.Click(`button[aria-label="Edit Write report"]`, chromedp.NodeVisible),
		chromedp.WaitVisible("#task-cancel"), clear("#task-title"), chromedp.SendKeys("#task-title", "Write the report"),
		chromedp.Click("#task-submit"))
	b.waitTitles("Buy milk", "Call plumber", "Write the report")
	b.run("delete", chromedp.Click(`button[aria-label="Delete Call plumber"]`, chromedp.NodeVisible))
	b.waitTitles("Buy milk", "Write the report")
	b.shot("03-ann-after-edits")

	b.run("sign out", chromedp.Click("#sign-out"), chromedp.WaitVisible("#sign-in-form"))
	b.textContains("#banner", "signed out")
	if b.visible("#who") {
		t.Error("the signed-out page still shows who is signed in")
	}
	b.shot("04-signed-out")

	// Errors a person must understand: a taken email, a wrong password.
	b.run("switch to sign-up", chromedp.Click("#switch-mode"), chromedp.WaitVisible("#sign-up-form"))
	b.fill("#su-name", "Ann Again")
	b.fill("#su-email", "ann@example.com")
	b.fill("#su-password", "password123")
	b.run("duplicate sign-up", chromedp.Click("#sign-up-submit"))
	b.waitText("#sign-up-error", "already exists")
	b.run("back to sign-in", chromedp.Click("#switch-mode"), chromedp.WaitVisible("#sign-in-form"))
	b.fill("#si-email", "ann@example.com")
	b.fill("#si-password", "not-her-password")
	b.run("wrong password", chromedp.Click("#sign-in-submit"))
	b.waitText("#sign-in-error", "Wrong email or password")
	b.shot("05-wrong-password")

	// Bob signs up in the same browser: he sees none of Ann's tasks.
	b.run("to sign-up", chromedp.Click("#switch-mode"), chromedp.WaitVisible("#sign-up-form"))
	b.signUpHere("Bob Example", "bob@example.com", "password456")
	b.textIs("#user-name", "Bob Example")
	b.waitText("#count", "No tasks")
	b.waitTasks(0)
	b.addTask("Bob's only task", "medium", "")
	b.waitTitles("Bob's only task")
	b.run("search Ann's", chromedp.SendKeys("#f-search", "milk"))
	b.waitTasks(0)

	// A phone-width screen still works: the list and buttons stay usable.
	b.run("phone width", chromedp.EmulateViewport(390, 844), clear("#f-search"))
	b.waitTitles("Bob's only task")
	b.poll("no horizontal scrolling at phone width", `document.documentElement.scrollWidth <= 390`)
	b.shot("06-bob-phone")

	// The network goes away: the page says so instead of failing silently.
	b.run("go offline", network.Enable(), network.EmulateNetworkConditions(true, 0, -1, -1))
	b.choose("#f-status", "completed")
	b.waitText("#banner", "Cannot reach the server")
	b.shot("06b-offline")
	b.run("back online", network.EmulateNetworkConditions(false, 0, -1, -1))
	b.choose("#f-status", "all")
	b.waitTitles("Bob's only task")
	b.poll("the banner clears", `document.querySelector('#banner').hidden`)
	b.run("sign out bob", chromedp.Click("#sign-out"), chromedp.WaitVisible("#sign-in-form"))

	// Ann signs back in with the keyboard alone and finds her tasks.
	b.run("desktop", chromedp.EmulateViewport(1100, 900))
	b.fill("#si-email", "ann@example.com")
	b.fill("#si-password", "password123")
	b.run("submit with Enter", chromedp.SendKeys("#si-password", "\r"))
	b.run("tasks", chromedp.WaitVisible("#tasks-view"))
	b.waitTitles("Write the report", "Buy milk") // newest first: sign-out reset the filters
	b.shot("07-ann-back")
}

// clear empties a field as selecting all and deleting would, firing input.
func clear(sel string) chromedp.Action {
	var ok bool
	return chromedp.Evaluate(fmt.Sprintf(`(() => { const e = document.querySelector(%q); e.value = ''; e.dispatchEvent(new Event('input')); return true })()`, sel), &ok)
}

// driver wraps chromedp steps with failures that say which step broke.
type driver struct {
	t   *testing.T
	ctx context.Context
	dir string // screenshots
}

func (d *driver) run(step string, actions ...chromedp.Action) {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(d.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		d.shot("failed-" + strings.ReplaceAll(step, " ", "-"))
		d.t.Fatalf("browser step %q: %v", step, err)
	}
}

func (d *driver) poll(what, js string) {
	d.t.Helper()
	d.run(what, chromedp.Poll(js, nil, chromedp.WithPollingTimeout(10*time.Second)))
}

func (d *driver) fill(sel, value string) {
	d.t.Helper()
	d.run("fill "+sel, chromedp.WaitVisible(sel), clear(sel), chromedp.SendKeys(sel, value))
}

// choose picks a <select> option and fires change, as a person's pick does.
func (d *driver) choose(sel, value string) {
	d.t.Helper()
	js := fmt.Sprintf(`(() => { const s = document.querySelector(%q); s.value = %q; s.dispatchEvent(new Event('change')); return true })()`, sel, value)
	var ok bool
	d.run("choose "+sel+"="+value, chromedp.Evaluate(js, &ok))
}

func (d *driver) signUp(name, email, password string) {
	d.t.Helper()
	d.run("to sign-up", chromedp.Click("#switch-mode"), chromedp.WaitVisible("#sign-up-form"))
	d.signUpHere(name, email, password)
}

func (d *driver) signUpHere(name, email, password string) {
	d.t.Helper()
	d.fill("#su-name", name)
	d.fill("#su-email", email)
	d.fill("#su-password", password)
	d.run("sign up "+email, chromedp.Click("#sign-up-submit"), chromedp.WaitVisible("#tasks-view"))
}

func (d *driver) addTask(title, priority, tags string) {
	d.t.Helper()
	d.fill("#task-title", title)
	d.choose("#task-priority", priority)
	d.run("tags", clear("#task-tags"))
	if tags != "" {
		d.run("tags", chromedp.SendKeys("#task-tags", tags))
	}
	d.run("add "+title, chromedp.Click("#task-submit"))
	d.poll("task "+title+" listed", fmt.Sprintf(`[...document.querySelectorAll('#task-list .title')].some(e => e.textContent === %q)`, title))
}

func (d *driver) waitTasks(n int) {
	d.t.Helper()
	d.poll(fmt.Sprintf("%d tasks listed", n), fmt.Sprintf(`document.querySelectorAll('#task-list li').length === %d && document.querySelector('#count').textContent !== ''`, n))
}

// waitTitles waits for exactly these titles, in this order.
func (d *driver) waitTitles(titles ...string) {
	d.t.Helper()
	want := `["` + strings.Join(titles, `","`) + `"]`
	js := fmt.Sprintf(`JSON.stringify([...document.querySelectorAll('#task-list .title')].map(e => e.textContent)) === %q`, want)
	ctx, cancel := context.WithTimeout(d.ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, chromedp.Poll(js, nil)); err != nil {
		var got string
		_ = chromedp.Run(d.ctx, chromedp.Evaluate(`JSON.stringify([...document.querySelectorAll('#task-list .title')].map(e => e.textContent)) + ' ' + document.querySelector('#banner').textContent`, &got))
		d.shot("failed-titles")
		d.t.Fatalf("task list = %s, want %s", got, want)
	}
}

func (d *driver) waitText(sel, part string) {
	d.t.Helper()
	d.poll(sel+" says "+part, fmt.Sprintf(`(document.querySelector(%q)?.textContent || '').includes(%q)`, sel, part))
}

func (d *driver) textIs(sel, want string) {
	d.t.Helper()
	var got string
	d.run("read "+sel, chromedp.Text(sel, &got, chromedp.NodeVisible))
	if got != want {
		d.t.Fatalf("%s = %q, want %q", sel, got, want)
	}
}

func (d *driver) textContains(sel, part string) {
	d.t.Helper()
	var got string
	d.run("read "+sel, chromedp.Text(sel, &got, chromedp.NodeVisible))
	if !strings.Contains(got, part) {
		d.t.Fatalf("%s = %q, want it to contain %q", sel, got, part)
	}
}

func (d *driver) visible(sel string) bool {
	var shown bool // rendered, whatever the CSS: the hidden attribute alone is not enough
	d.run("check "+sel, chromedp.Evaluate(fmt.Sprintf(`document.querySelector(%q).getClientRects().length > 0`, sel), &shown))
	return shown
}

func (d *driver) shot(name string) {
	var png []byte
	ctx, cancel := context.WithTimeout(d.ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&png, 100)); err != nil {
		d.t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(d.dir, name+".png"), png, 0o644); err != nil {
		d.t.Logf("screenshot %s: %v", name, err)
	}
}
