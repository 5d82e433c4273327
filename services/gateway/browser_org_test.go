package main

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chooseText picks the <select> option whose text is label and fires change.
func (d *driver) chooseText(sel, label string) {
	d.t.Helper()
	js := fmt.Sprintf(`(() => {
		const s = document.querySelector(%q);
		const o = [...s.options].find(o => o.textContent === %q);
		if (!o) return false;
		s.value = o.value; s.dispatchEvent(new Event('change')); return true })()`, sel, label)
	d.poll("choose "+sel+"="+label, js)
}

// status is what the page's own fetch of method path answers, with the
// page's cookie: a call past the UI's disabled buttons.
func (d *driver) status(method, path string) int {
	d.t.Helper()
	var code int
	js := fmt.Sprintf(`fetch(%q, {method: %q, credentials: 'same-origin'}).then(r => r.status)`, path, method)
	d.run(method+" "+path, chromedp.Evaluate(js, &code, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	return code
}

// taskID is the id of the listed task with this title.
func (d *driver) taskID(title string) string {
	d.t.Helper()
	var id string
	d.run("id of "+title, chromedp.Evaluate(fmt.Sprintf(`[...document.querySelectorAll('#task-list li')].find(li => li.querySelector('.title').textContent === %q)?.dataset.id || ''`, title), &id))
	if id == "" {
		d.t.Fatalf("no task %q listed", title)
	}
	return id
}

func (d *driver) screenshot(width, height int) []byte {
	d.t.Helper()
	var shot []byte
	d.run("screenshot", chromedp.EmulateViewport(int64(width), int64(height)), chromedp.FullScreenshot(&shot, 100)) // 100: PNG
	return shot
}

// sideBySide puts two screenshots next to each other on a grey ground.
func sideBySide(t *testing.T, left, right []byte) []byte {
	t.Helper()
	l, err := png.Decode(bytes.NewReader(left))
	if err != nil {
		t.Fatal(err)
	}
	r, err := png.Decode(bytes.NewReader(right))
	if err != nil {
		t.Fatal(err)
	}
	const gap = 16
	w := l.Bounds().Dx() + gap + r.Bounds().Dx()
	h := max(l.Bounds().Dy(), r.Bounds().Dy())
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(out, out.Bounds(), &image.Uniform{color.RGBA{0x8c, 0x95, 0x9f, 0xff}}, image.Point{}, draw.Src)
	draw.Draw(out, l.Bounds(), l, l.Bounds().Min, draw.Src)
	draw.Draw(out, r.Bounds().Add(image.Pt(l.Bounds().Dx()+gap, 0)), r, r.Bounds().Min, draw.Src)
	var buf bytes.Buffer
	if err := png.Encode(&buf, out); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestBrowserOrganization: two people in two browsers share an
// organization's tasks. Olga creates the organization (and one named with
// markup, shown as text), invites Bob by email; Bob follows the mailed link
// signed out, signs up and accepts. As a member Bob cannot delete Olga's
// task (the button is off and the API refuses it anyway); promoted to admin
// he can; demoted while his page still thinks him admin, his next delete is
// refused at once and the page says so. Then he leaves, joins again and is
// removed.
func TestBrowserOrganization(t *testing.T) {
	t.Parallel()
	outbox := filepath.Join(t.TempDir(), "outbox.jsonl")
	s := startStack(t, "AUTH_PLUGINS=organization", "MAIL_OUTBOX="+outbox, "MAIL_RESPONSE_FLOOR=0")
	dir := artifactsDir(t)
	a := &driver{t: t, ctx: newBrowser(t, 240*time.Second, 1100, 900), dir: dir}
	b := &driver{t: t, ctx: newBrowser(t, 240*time.Second, 1100, 900), dir: dir}
	const evil = `<img src=x onerror="window.__xss=1">Evil Corp`

	// Olga creates Acme Team; the slug follows the name until she edits it.
	a.run("open the site", chromedp.Navigate(s.URL), chromedp.WaitVisible("#sign-in-form"))
	a.signUp("Olga Owner", "olga@example.com", "password123")
	a.poll("the switcher says personal", `document.querySelector('#org-switch').value === '' && document.querySelector('#org-switch').options.length === 1`)
	a.run("to the organization page", chromedp.Click("#nav-org"), chromedp.WaitVisible("#org-form"))
	if a.visible("#org-card") || a.visible("#invite-form") {
		t.Error("members or invitations shown with no organization active")
	}
	a.fill("#org-new-name", "Acme Team")
	a.poll("the slug follows the name", `document.querySelector('#org-new-slug').value === 'acme-team'`)
	a.run("create", chromedp.Click("#org-submit"))
	a.waitText("#org-name", "Acme Team")
	a.textIs("#org-role", "owner")
	a.poll("Acme is active in the switcher", `document.querySelector('#org-switch').selectedOptions[0].textContent === 'Acme Team'`)
	a.fill("#org-new-name", "Other")
	a.fill("#org-new-slug", "acme-team")
	a.run("a taken slug", chromedp.Click("#org-submit"))
	a.waitText("#org-form-error", "slug is taken")

	// An organization named with markup is text everywhere it shows.
	a.fill("#org-new-name", evil)
	a.fill("#org-new-slug", "evil-corp")
	a.run("create the markup one", chromedp.Click("#org-submit"))
	a.poll("its name as text", fmt.Sprintf(`document.querySelector('#org-name').textContent === %q && document.querySelector('#org-switch').selectedOptions[0].textContent === %q && !document.querySelector('img') && window.__xss === undefined`, evil, evil))
	a.run("its tasks", chromedp.Click("#nav-tasks"), chromedp.WaitVisible("#tasks-view"))
	a.poll("its name in the title as text", fmt.Sprintf(`document.querySelector('#tasks-title').textContent === %q && !document.querySelector('img') && window.__xss === undefined`, "Tasks of "+evil))
	a.shot("30-org-markup-name")

	// Back to Acme with the switcher; Olga invites Bob with the keyboard.
	a.chooseText("#org-switch", "Acme Team")
	a.waitText("#tasks-title", "Tasks of Acme Team")
	a.waitTasks(0)
	a.addTask("Plan the launch", "high", "launch")
	a.addTask("Book the venue", "medium", "")
	a.run("to the organization page", chromedp.Click("#nav-org"), chromedp.WaitVisible("#invite-form"))
	a.fill("#inv-email", "bob@example.com")
	a.choose("#inv-role", "member")
	a.run("send with Enter", chromedp.SendKeys("#inv-email", "\r"))
	a.waitText("#inv-status", "Invitation sent to bob@example.com")
	a.poll("Bob's invitation waits", `document.querySelector('#pending-list li[data-email="bob@example.com"]') && !document.querySelector('#pending').hidden`)
	a.fill("#inv-email", "carol@example.com")
	a.run("invite Carol", chromedp.Click("#inv-submit"))
	a.waitText("#inv-status", "Invitation sent to carol@example.com")
	a.run("cancel Carol's", chromedp.Click(`button[aria-label="Cancel the invitation of carol@example.com"]`, chromedp.NodeVisible))
	a.waitText("#inv-status", "The invitation of carol@example.com is cancelled")
	a.poll("only Bob's waits", `document.querySelectorAll('#pending-list li').length === 1 && document.querySelector('#pending-list li').dataset.email === 'bob@example.com'`)
	link := linkIn(t, nthMail(t, outbox, "bob@example.com", 1), "/accept-invitation/")
	if !strings.HasPrefix(link, s.Public+"/accept-invitation/") {
		t.Fatalf("invitation link %q is not on the gateway's origin %s", link, s.Public)
	}
	a.shot("31-org-invited")

	// The link in someone else's hands, and a made-up one: refused in words,
	// nothing to accept.
	a.run("Bob's link in Olga's browser", chromedp.Navigate(link), chromedp.WaitVisible("#invite-view"))
	a.waitText("#invite-error", "sent to another email address")
	a.poll("nothing to accept", `document.querySelector('#invite-buttons').hidden`)
	a.run("a made-up invitation", chromedp.Navigate(s.URL+"/accept-invitation/madeup123"), chromedp.WaitVisible("#invite-view"))
	a.waitText("#invite-error", "no longer open")
	a.poll("nothing to accept", `document.querySelector('#invite-buttons').hidden`)

	// Bob follows the link signed out: he signs up and comes back to it.
	b.run("follow the invitation", chromedp.Navigate(link), chromedp.WaitVisible("#sign-in-form"))
	b.waitText("#banner", "invited to an organization")
	b.run("to sign-up", chromedp.Click("#switch-mode"), chromedp.WaitVisible("#sign-up-form"))
	b.fill("#su-name", "Bob Member")
	b.fill("#su-email", "bob@example.com")
	b.fill("#su-password", "password456")
	b.run("sign up", chromedp.Click("#sign-up-submit"), chromedp.WaitVisible("#invite-view"))
	b.waitText("#invite-text", "olga@example.com invites you to join Acme Team as member")
	b.poll("Accept has the focus", `document.activeElement === document.querySelector('#invite-accept')`)
	b.shot("32-org-invitation")
	b.run("accept with Enter", chromedp.KeyEvent("\r"), chromedp.WaitVisible("#tasks-view"))
	b.waitText("#tasks-title", "Tasks of Acme Team")
	b.waitTitles("Book the venue", "Plan the launch")
	b.waitText("#role-hint", "You are a member")
	b.poll("Olga's tasks cannot be changed by a member", `['Plan the launch', 'Book the venue'].every(t =>
		document.querySelector('button[aria-label="Delete ' + t + '"]').disabled && document.querySelector('button[aria-label="Edit ' + t + '"]').disabled)`)
	b.textContains("#task-list li .author", "added by Olga Owner")
	b.addTask("Bob's draft", "low", "")
	b.poll("his own task he may delete", `!document.querySelector('button[aria-label="Delete Bob\'s draft"]').disabled`)
	launch := b.taskID("Plan the launch")
	if code := b.status("DELETE", "/api/tasks/"+launch); code != 403 {
		t.Fatalf("a member's DELETE of another's task past the UI = %d, want 403", code)
	}
	// His personal list is apart from the organization's.
	b.choose("#task-scope", "personal")
	b.waitText("#tasks-title", "Your tasks")
	b.waitTasks(0)
	b.choose("#task-scope", "organization")
	b.waitTitles("Bob's draft", "Book the venue", "Plan the launch")

	// Olga sees Bob's task and the member list; she makes Bob an admin.
	a.run("to the tasks", chromedp.Click("#nav-tasks"), chromedp.WaitVisible("#tasks-view"))
	a.waitText("#tasks-title", "Tasks of Acme Team")
	a.waitTitles("Bob's draft", "Book the venue", "Plan the launch")
	a.poll("an owner may delete every task", `[...document.querySelectorAll('#task-list button.danger')].every(b => !b.disabled)`)
	if os.Getenv("UPDATE_SCREENSHOTS") == "1" {
		pic := sideBySide(t, a.screenshot(760, 900), b.screenshot(760, 900))
		if err := os.WriteFile(filepath.Join("..", "..", "docs", "img", "organization.png"), pic, 0o644); err != nil {
			t.Fatal(err)
		}
		a.run("back", chromedp.EmulateViewport(1100, 900))
		b.run("back", chromedp.EmulateViewport(1100, 900))
	}
	a.shot("33-org-owner-tasks")
	b.shot("34-org-member-tasks")
	a.run("to the organization page", chromedp.Click("#nav-org"), chromedp.WaitVisible("#org-card"))
	a.poll("two members", `document.querySelectorAll('#member-list li').length === 2`)
	a.poll("no invitation waits", `document.querySelector('#pending').hidden && document.querySelectorAll('#pending-list li').length === 0`)
	a.choose(`select[aria-label="Role of Bob Member"]`, "admin")
	a.run("set it", chromedp.Click(`button[aria-label="Set the role of Bob Member"]`))
	a.waitText("#members-status", "Bob Member is now admin")
	a.poll("the list shows it", `document.querySelector('#member-list li[data-email="bob@example.com"] .role').textContent === 'admin'`)
	a.shot("35-org-members")

	// Bob, now admin, deletes Olga's task.
	b.run("tasks again", chromedp.Click("#nav-tasks"), chromedp.WaitVisible("#tasks-view"))
	b.waitText("#role-hint", "You are admin")
	b.poll("Delete is on for an admin", `document.querySelectorAll('#task-list li').length === 3 && !document.querySelector('button[aria-label="Delete Book the venue"]').disabled`)
	b.run("delete Olga's task", chromedp.Click(`button[aria-label="Delete Book the venue"]`))
	b.waitTitles("Bob's draft", "Plan the launch")
	b.poll("no error", `document.querySelector('#banner').hidden`)

	// Olga demotes him; his page still offers Delete, and the first try is
	// refused at once (the gateway's cached admin token is gone with the
	// member event), with the refusal in words and the buttons off after it.
	b.poll("Delete is on before the demotion", `!document.querySelector('button[aria-label="Delete Plan the launch"]').disabled`)
	a.choose(`select[aria-label="Role of Bob Member"]`, "member")
	a.run("set it with the keyboard", chromedp.Focus(`button[aria-label="Set the role of Bob Member"]`), chromedp.KeyEvent("\r"))
	a.waitText("#members-status", "Bob Member is now member")
	demoted := time.Now()
	b.run("delete after the demotion", chromedp.Click(`button[aria-label="Delete Plan the launch"]`))
	b.waitText("#banner", "Not allowed (403)")
	refused := time.Since(demoted)
	t.Logf("demotion → the refusal on the other browser's page: %v", refused)
	if refused > 2*time.Second {
		t.Errorf("the demoted admin's delete was refused only after %v", refused)
	}
	b.waitText("#role-hint", "You are a member")
	b.poll("Delete is off now, the task is still there", `document.querySelector('button[aria-label="Delete Plan the launch"]').disabled`)
	b.textContains("#banner", "Your role in Acme Team is now member.")
	b.shot("36-org-demoted-refused")
	a.run("to the tasks", chromedp.Click("#nav-tasks"), chromedp.WaitVisible("#tasks-view"))
	a.waitTitles("Bob's draft", "Plan the launch")

	// At phone width the organization page fits; Bob leaves.
	b.run("phone width", chromedp.EmulateViewport(375, 740))
	b.poll("no horizontal scrolling on the organization's tasks at 375 px", `document.documentElement.scrollWidth <= 375`)
	b.run("to the organization page", chromedp.Click("#nav-org"), chromedp.WaitVisible("#org-card"))
	b.poll("a member is offered no invitations, role changes or removals", `document.querySelector('#invite-form').hidden && !document.querySelector('#member-list select, #member-list button')`)
	b.poll("no horizontal scrolling at 375 px", `document.documentElement.scrollWidth <= 375`)
	b.shot("37-org-member-phone")
	b.run("leave", chromedp.Click("#org-leave"))
	b.waitText("#banner", "You have left Acme Team")
	b.poll("personal again", `document.querySelector('#org-switch').value === '' && document.querySelector('#org-switch').options.length === 1`)
	b.run("to the tasks", chromedp.Click("#nav-tasks"), chromedp.WaitVisible("#tasks-view"))
	b.waitText("#tasks-title", "Your tasks")
	b.waitTasks(0)
	a.run("refresh", chromedp.Click("#nav-org"), chromedp.WaitVisible("#org-card"))
	a.poll("one member left", `document.querySelectorAll('#member-list li').length === 1`)

	// Invited again, Bob joins from his signed-in browser; Olga removes him
	// and his page finds itself personal again.
	b.run("desktop", chromedp.EmulateViewport(1100, 900))
	a.fill("#inv-email", "bob@example.com")
	a.run("invite again", chromedp.Click("#inv-submit"))
	a.waitText("#inv-status", "Invitation sent to bob@example.com")
	again := linkIn(t, nthMail(t, outbox, "bob@example.com", 2), "/accept-invitation/")
	b.run("follow it signed in", chromedp.Navigate(again), chromedp.WaitVisible("#invite-buttons"))
	b.run("accept", chromedp.Click("#invite-accept"), chromedp.WaitVisible("#tasks-view"))
	b.waitTitles("Bob's draft", "Plan the launch")
	a.run("refresh", chromedp.Click("#nav-tasks"), chromedp.WaitVisible("#tasks-view"), chromedp.Click("#nav-org"), chromedp.WaitVisible("#org-card"))
	a.poll("two members again", `document.querySelectorAll('#member-list li').length === 2`)
	a.run("remove Bob", chromedp.Click(`button[aria-label="Remove Bob Member"]`))
	a.waitText("#members-status", "Bob Member is no longer a member")
	a.poll("one member left", `document.querySelectorAll('#member-list li').length === 1`)
	b.run("tasks again", chromedp.Click("#nav-tasks"), chromedp.WaitVisible("#tasks-view"))
	b.waitText("#tasks-title", "Your tasks")
	b.poll("personal only", `document.querySelector('#org-switch').options.length === 1 && document.querySelector('#scope-box').hidden`)
	b.waitTasks(0)
}
