package e2e

// The browser tests use the marketplace as a person does: Debian's Chromium,
// driven by chromedp, loads the web client's server-rendered pages through the
// public origin, fills in its forms and presses its buttons. They find things
// by the ids and data-testid attributes of apps/client/templates, and they wait
// on selectors (or poll with a deadline), never for a fixed time.
//
// Every step is photographed: NN-<who>-<step>.png in
// $E2E_SCREENSHOTS/<TestName>/, by default <repo>/out/screenshots/<TestName>/.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's Chromium (apt-get install chromium).
const chromiumPath = "/usr/bin/chromium"

// browserStepTimeout bounds one step: a page load, a click and what it shows.
const browserStepTimeout = 30 * time.Second

func TestBrowserBuyerPaysAndOrderCompletes(t *testing.T) {
	b := newBrowser(t)
	seller := b.person("seller")
	seller.signUp()
	title := fmt.Sprintf("Browser gig %d", time.Now().UnixNano())
	ticketID := seller.sell(title, "42.50")

	buyer := b.person("buyer")
	buyer.signUp()
	buyer.open("open the ticket", "/tickets/"+ticketID, "#purchase")
	if got := buyer.text("#ticket-title"); got != title {
		t.Fatalf("ticket page shows %q, want %q", got, title)
	}
	buyer.shot("ticket")

	orderID := buyer.purchase()
	buyer.waitVisible("the test-mode payment form", "[data-testid=test-mode] #pay-button")
	buyer.shot("order-with-countdown")

	buyer.pressUntil("pay in test mode", "#pay-button", "#orders", 30*time.Second)
	buyer.shot("my-orders")
	status := `[data-order-id="` + orderID + `"] [data-testid=order-status]`
	buyer.reloadUntil("the order to be complete", 60*time.Second, func() bool { return buyer.textOf(status) == "complete" })
	if got := buyer.textOf(`[data-order-id="` + orderID + `"] [data-testid=order-link]`); got != title {
		t.Errorf("my orders show the order as %q, want the ticket's title %q", got, title)
	}
	buyer.shot("order-complete")

	buyer.pollUntil("the ticket to leave the landing page", 60*time.Second, func() bool { return !buyer.landingHas(ticketID) })
	buyer.shot("landing-without-the-ticket")

	seller.open("open the sold ticket", "/tickets/"+ticketID, "#ticket-reserved")
	if seller.exists("#edit-ticket") || seller.exists("#purchase") {
		t.Error("a sold ticket offers Edit or Purchase, want only Reserved")
	}
	seller.shot("ticket-reserved")
}

// A seller connects a payout account from "Get paid" (Stripe's hosted
// onboarding: the test-mode Stripe's page here), a buyer pays with a test
// card whose bank asks for 3-D Secure and completes it on the bank's page,
// and the seller's "My sales" shows the sale paid to their account, less the
// marketplace's fee.
func TestBrowserSellerConnectsAndIsPaid(t *testing.T) {
	b := newBrowser(t)
	seller := b.person("seller")
	seller.signUp()
	seller.open("open Get paid", "/sellers/me", `#payout-state[data-state="none"]`)
	seller.shot("get-paid-not-connected")
	seller.clickAndLoad("connect a payout account", "#connect-payouts")
	// The next page sends the seller to Stripe's onboarding, which sends
	// them back here once done.
	seller.do("come back from onboarding", chromedp.WaitVisible(chromedp.CSS(
		`#payout-state[data-state="ready"], #payout-state[data-state="incomplete"], `+browserErrorPage)))
	seller.failOnErrorPage("come back from onboarding")
	seller.reloadUntil("the payout account to be ready", 30*time.Second, func() bool {
		return seller.exists(`#payout-state[data-state="ready"]`)
	})
	if seller.exists("#connect-payouts") {
		t.Error("a connected seller is still offered to connect")
	}
	seller.shot("get-paid-connected")

	title := fmt.Sprintf("Browser connected gig %d", time.Now().UnixNano())
	ticketID := seller.sell(title, "42.50")

	buyer := b.person("buyer")
	buyer.signUp()
	buyer.open("open the ticket", "/tickets/"+ticketID, "#purchase")
	orderID := buyer.purchase()
	buyer.do("choose the test card that asks for 3-D Secure",
		chromedp.SetValue(chromedp.CSS("#test-card"), "pm_card_threeDSecure2Required"))
	buyer.shot("order-with-3ds-card")
	buyer.press("pay, and go to the bank", "#pay-button", "#bank-complete")
	buyer.shot("bank-page")
	buyer.press("complete the authentication", "#bank-complete", "[data-testid=order-detail]")
	if !strings.Contains(buyer.location(), "/orders/"+orderID) {
		t.Errorf("the bank sent the buyer to %s, want the order's page", buyer.location())
	}
	buyer.reloadUntil("the order to be paid", 30*time.Second, func() bool { return buyer.exists("#order-paid") })
	buyer.shot("order-paid")

	seller.open("open My sales", "/sales", "#sales")
	row := `[data-testid=sale][data-order-id="` + orderID + `"]`
	if got := seller.textOf(row + " [data-testid=sale-payout]"); got != "Paid to your account" {
		t.Errorf("the sale's payout says %q, want Paid to your account", got)
	}
	for sel, want := range map[string]string{"#sales-gross": "$42.50", "#sales-fees": "$4.25", "#sales-net": "$38.25", "#sales-pending": "$0.00"} {
		if got := seller.textOf(sel); got != want {
			t.Errorf("%s shows %q, want %q", sel, got, want)
		}
	}
	seller.shot("my-sales")
}

func TestBrowserUnpaidOrderExpires(t *testing.T) {
	b := newBrowser(t)
	seller := b.person("seller")
	seller.signUp()
	title := fmt.Sprintf("Browser unpaid gig %d", time.Now().UnixNano())
	ticketID := seller.sell(title, "15")

	buyer := b.person("buyer")
	buyer.signUp()
	buyer.open("open the ticket", "/tickets/"+ticketID, "#purchase")
	orderID := buyer.purchase()
	buyer.shot("order-with-countdown")

	// At zero the page says so and reloads itself once; the server then
	// renders the expired order (data-seconds="0"). The page reloads on its
	// own, so this polls rather than waiting on one document.
	buyer.pollUntil("the order page to show the order expired", 60*time.Second, func() bool {
		return buyer.exists(`#countdown[data-seconds="0"]`)
	})
	if got := buyer.textOf("#countdown"); !strings.Contains(got, "This order has expired") {
		t.Errorf("expired order says %q, want %q", got, "This order has expired")
	}
	if buyer.exists("#pay-button") {
		t.Error("an expired order still offers to pay")
	}
	buyer.shot("order-expired")

	buyer.reloadUntil("the order to be cancelled", 60*time.Second, func() bool { return buyer.textOf("#order-status") == "cancelled" })
	buyer.shot("order-cancelled")

	buyer.open("open my orders", "/orders", "#orders")
	if got := buyer.textOf(`[data-order-id="` + orderID + `"] [data-testid=order-status]`); got != "cancelled" {
		t.Errorf("my orders show the order %s as %q, want cancelled", orderID, got)
	}
	buyer.shot("my-orders")

	buyer.pollUntil("the ticket to be for sale again", 60*time.Second, func() bool { return buyer.landingHas(ticketID) })
	buyer.shot("landing-with-the-ticket-again")
}

// browser is one Chromium for one test. Each person in it has a browser
// context of their own, so their cookies are apart, as on two computers.
type browser struct {
	t     *testing.T
	ctx   context.Context
	shots *screenshots
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("skipping the browser test: %s is missing (apt-get install chromium)", chromiumPath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true), // the network here is closed
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// The first run starts the browser, which lives as long as the context
	// of that run: so no deadline here.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", chromiumPath, err)
	}
	return &browser{t: t, ctx: ctx, shots: newScreenshots(t)}
}

// person opens a tab in a fresh browser context: someone with no cookies.
func (b *browser) person(who string) *person {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		b.t.Fatalf("open a tab for the %s: %v", who, err)
	}
	return &person{t: b.t, who: who, ctx: ctx, shots: b.shots}
}

// person is someone using the site in their own tab.
type person struct {
	t     *testing.T
	who   string
	ctx   context.Context
	email string
	shots *screenshots
}

// browserErrorPage matches the client's error pages (404, 503, ...).
const browserErrorPage = "[data-testid=error-page]"

// signUp creates an account through the sign-up form; the header then shows
// the user's email.
func (p *person) signUp() {
	p.t.Helper()
	p.email = uniqueEmail("browser-" + p.who)
	p.open("open the sign-up form", "/auth/signup", "#auth-form")
	p.do("fill in the sign-up form",
		chromedp.SendKeys(chromedp.CSS("#email"), p.email),
		chromedp.SendKeys(chromedp.CSS("#password"), "password"),
	)
	p.shot("sign-up-form")
	p.press("sign up", "#auth-submit", "#nav-user")
	if got := p.textOf("#nav-user"); got != p.email {
		p.t.Fatalf("%s: the header shows %q, want the email %q", p.who, got, p.email)
	}
	for _, link := range []string{"#nav-sell", "#nav-orders", "#nav-signout"} {
		if !p.exists(link) {
			p.t.Errorf("%s: a signed-in header without %s", p.who, link)
		}
	}
	p.shot("signed-up")
}

// sell lists a ticket through the sell form and returns its id.
func (p *person) sell(title, price string) string {
	p.t.Helper()
	p.press("open the sell form", "#nav-sell", "#ticket-form")
	p.do("fill in the sell form",
		chromedp.SendKeys(chromedp.CSS("#title"), title),
		chromedp.SendKeys(chromedp.CSS("#price"), price),
	)
	p.shot("sell-form")
	p.press("list the ticket", "#ticket-submit", "[data-testid=ticket-detail]")
	if got := p.textOf("#ticket-title"); got != title {
		p.t.Fatalf("%s: the listed ticket is titled %q, want %q", p.who, got, title)
	}
	if !p.exists("#edit-ticket") {
		p.t.Errorf("%s: the seller's own ticket has no Edit link", p.who)
	}
	id := browserRun(p, "read the ticket id", chromedp.Evaluate[string](
		`document.querySelector("[data-testid=ticket-detail]").dataset.ticketId`))
	p.shot("listed")
	return id
}

// purchase presses Purchase on the open ticket page and returns the order's
// id, once its page shows the countdown.
func (p *person) purchase() string {
	p.t.Helper()
	p.pressUntil("purchase", "#purchase", "#countdown-time", 30*time.Second)
	if got := p.textOf("#countdown-time"); !regexp.MustCompile(`^\d+:\d\d$`).MatchString(got) {
		p.t.Errorf("%s: the countdown shows %q, want minutes:seconds", p.who, got)
	}
	if got := p.textOf("#order-status"); got != "created" {
		p.t.Errorf("%s: a new order's status is %q, want created", p.who, got)
	}
	return browserRun(p, "read the order id", chromedp.Evaluate[string](
		`document.querySelector("[data-testid=order-detail]").dataset.orderId`))
}

// landingHas says whether the landing page lists the ticket, on any of its
// pages (the tests of this package list many tickets).
func (p *person) landingHas(ticketID string) bool {
	p.t.Helper()
	p.open("open the landing page", "/", "#ticket-list, #no-tickets")
	for range 500 {
		if p.exists(`[data-ticket-id="` + ticketID + `"]`) {
			return true
		}
		next := browserRun(p, "read the next-page link", chromedp.Evaluate[string](
			`(document.getElementById("next-page") || {}).href || ""`))
		if next == "" {
			return false
		}
		p.load("open the next page", next, "#ticket-list, #no-tickets")
	}
	p.t.Fatalf("%s: the landing page has more than 500 pages", p.who)
	return false
}

// open loads a path of the site and waits until want is visible; an error
// page instead is fatal.
func (p *person) open(step, path, want string) {
	p.t.Helper()
	p.load(step, baseURL+path, want)
}

// load is open for a whole address.
func (p *person) load(step, url, want string) {
	p.t.Helper()
	p.do(step, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(want+", "+browserErrorPage)))
	p.failOnErrorPage(step)
}

// press clicks a link or a form's button, waits for the page it leads to, and
// then until want is visible; an error page instead is fatal.
func (p *person) press(step, button, want string) {
	p.t.Helper()
	p.clickAndLoad(step, button)
	p.do(step, chromedp.WaitVisible(chromedp.CSS(want+", "+browserErrorPage)))
	p.failOnErrorPage(step)
}

// pressUntil presses a form's button until the page that follows shows want.
// A service may not have heard yet of what another made a moment ago; the
// client then shows the form again with "try again in a moment", and a person
// presses again.
func (p *person) pressUntil(step, button, want string, within time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(within)
	for attempt := 1; ; attempt++ {
		p.clickAndLoad(step, button)
		p.do(step, chromedp.WaitVisible(chromedp.CSS(want+", #form-errors, "+browserErrorPage)))
		p.failOnErrorPage(step)
		if p.exists(want) {
			return
		}
		problem := p.textOf("#form-errors")
		if time.Now().After(deadline) || !p.exists(button) {
			p.shot("failed-" + step)
			p.t.Fatalf("%s: %s: attempt %d refused: %q", p.who, step, attempt, problem)
		}
		p.t.Logf("%s: %s: attempt %d refused (%q); pressing again", p.who, step, attempt, problem)
	}
}

func (p *person) clickAndLoad(step, button string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, browserStepTimeout)
	defer cancel()
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(button))); err != nil {
		p.shot("failed-" + step)
		p.t.Fatalf("%s: %s: press %s: %v (on %s)", p.who, step, button, err, p.location())
	}
}

func (p *person) failOnErrorPage(step string) {
	p.t.Helper()
	if p.exists(browserErrorPage) {
		p.shot("failed-" + step)
		p.t.Fatalf("%s: %s: the site shows an error page on %s: %q", p.who, step, p.location(), p.textOf(browserErrorPage))
	}
}

// waitVisible waits until an element of the page that is open now shows.
func (p *person) waitVisible(what, sel string) {
	p.t.Helper()
	p.do("wait for "+what, chromedp.WaitVisible(chromedp.CSS(sel)))
}

// reloadUntil reloads the open page until cond holds, for at most within.
func (p *person) reloadUntil(what string, within time.Duration, cond func() bool) {
	p.t.Helper()
	first := true
	p.pollUntil(what, within, func() bool {
		if !first {
			p.do("reload", chromedp.Reload())
		}
		first = false
		return cond()
	})
}

// pollUntil checks cond, pausing between checks, until it holds or within
// has passed (then the test fails with a screenshot).
func (p *person) pollUntil(what string, within time.Duration, cond func() bool) {
	p.t.Helper()
	deadline := time.Now().Add(within)
	pause := 200 * time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			p.shot("failed-waiting")
			p.t.Fatalf("%s: after %s still waiting for %s (on %s)", p.who, within, what, p.location())
		}
		time.Sleep(pause)
		pause = min(pause*2, time.Second)
	}
}

// do runs the actions of one step within browserStepTimeout; a failed step is
// photographed and fatal.
func (p *person) do(step string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, browserStepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.shot("failed-" + step)
		p.t.Fatalf("%s: %s: %v (on %s)", p.who, step, err, p.location())
	}
}

// browserRun runs an action that returns a value, as one step.
func browserRun[T any](p *person, step string, a chromedp.Action[T]) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, browserStepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		p.shot("failed-" + step)
		p.t.Fatalf("%s: %s: %v (on %s)", p.who, step, err, p.location())
	}
	return v
}

// exists says whether the page that is open now has an element for the
// selector. While a page is being replaced it says false.
func (p *person) exists(sel string) bool {
	ctx, cancel := context.WithTimeout(p.ctx, browserStepTimeout)
	defer cancel()
	found, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`document.querySelector(%q) !== null`, sel)))
	return err == nil && found
}

// textOf returns the visible text of the first element for the selector, or
// "" when there is none.
func (p *person) textOf(sel string) string {
	ctx, cancel := context.WithTimeout(p.ctx, browserStepTimeout)
	defer cancel()
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(
		`(function (e) { return e ? e.innerText.trim() : "" })(document.querySelector(%q))`, sel)))
	if err != nil {
		return ""
	}
	return text
}

// text returns the visible text of an element that must be there.
func (p *person) text(sel string) string {
	p.t.Helper()
	return strings.TrimSpace(browserRun(p, "read "+sel, chromedp.Text(chromedp.CSS(sel))))
}

// location is the address of the open page, for messages.
func (p *person) location() string {
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "an unknown page"
	}
	return loc
}

// shot saves a screenshot of the whole page as the next step of the test.
func (p *person) shot(step string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, browserStepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Logf("%s: screenshot %q: %v", p.who, step, err)
		return
	}
	p.shots.save(p.who+"-"+step, png)
}

// screenshots numbers and writes the screenshots of one test.
type screenshots struct {
	t   *testing.T
	dir string
	mu  sync.Mutex
	n   int
}

func newScreenshots(t *testing.T) *screenshots {
	t.Helper()
	base := os.Getenv("E2E_SCREENSHOTS")
	if base == "" {
		repo, err := repoDir()
		if err != nil {
			t.Fatal(err)
		}
		base = filepath.Join(repo, "out", "screenshots")
	}
	dir := filepath.Join(base, t.Name())
	if err := os.RemoveAll(dir); err != nil { // only this test's last run
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots: %s", dir)
	return &screenshots{t: t, dir: dir}
}

var unsafeInName = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

func (s *screenshots) save(step string, png []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	name := fmt.Sprintf("%02d-%s.png", s.n, strings.Trim(unsafeInName.ReplaceAllString(step, "-"), "-"))
	if err := os.WriteFile(filepath.Join(s.dir, name), png, 0o644); err != nil {
		s.t.Errorf("screenshot %s: %v", name, err)
	}
}
