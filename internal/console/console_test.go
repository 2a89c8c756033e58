package console_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/wharf-ecs/wharf/internal/ecstest"
)

func TestSignInRequiredAndSessionCookie(t *testing.T) {
	e := start(t)
	b := newBrowser(t, e.URL())

	p := b.get("/console/clusters/prod?x=1")
	wantStatus(t, "GET a page signed out", p, http.StatusSeeOther)
	if want := "/console/signin?next=" + url.QueryEscape("/console/clusters/prod?x=1"); p.location != want {
		t.Fatalf("redirect to %q; want %q", p.location, want)
	}
	wantStatus(t, "wrong secret", b.trySignIn(ecstest.TestAccessKeyID, "not-the-secret"), http.StatusUnauthorized)
	wantStatus(t, "unknown key", b.trySignIn("AKIAUNKNOWN", ecstest.TestSecretAccessKey), http.StatusUnauthorized)
	wantStatus(t, "empty secret", b.trySignIn(ecstest.TestAccessKeyID, ""), http.StatusUnauthorized)

	// Sign in without the form's own token (login CSRF): refused.
	p = b.post("/console/signin", url.Values{"token": {"forged"}, "accessKeyId": {ecstest.TestAccessKeyID}, "secretAccessKey": {ecstest.TestSecretAccessKey}})
	wantStatus(t, "sign-in without the form token", p, http.StatusForbidden)

	form := b.get("/console/signin")
	m := signinField.FindStringSubmatch(form.body)
	p = b.post("/console/signin", url.Values{"token": {m[1]}, "accessKeyId": {ecstest.TestAccessKeyID},
		"secretAccessKey": {ecstest.TestSecretAccessKey}, "next": {"https://evil.example/x"}})
	wantStatus(t, "sign in", p, http.StatusSeeOther)
	if p.location != "/console/" {
		t.Fatalf("after sign-in with an outside next, Location %q; want /console/", p.location)
	}
	var session *http.Cookie
	for _, c := range (&http.Response{Header: p.header}).Cookies() {
		if c.Name == "wharf_console" && c.Value != "" {
			session = c
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Path != "/console" || session.Secure {
		t.Fatalf("session cookie = %+v; want HttpOnly, SameSite=Strict, Path=/console, not Secure over plain HTTP", session)
	}
	wantBody(t, "the clusters page", b.get("/console/"), "root", "Sign out")

	// Signing out ends the session on the server, not just in the browser.
	p = b.post("/console/signout", url.Values{"csrf": {b.csrf()}})
	wantStatus(t, "sign out", p, http.StatusSeeOther)
	replay := newBrowser(t, e.URL())
	u, _ := url.Parse(e.URL() + "/console/")
	replay.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "wharf_console", Value: session.Value}})
	wantStatus(t, "the old session cookie after sign-out", replay.get("/console/"), http.StatusSeeOther)
}

func TestSignInRateLimitedPerAddress(t *testing.T) {
	e := start(t)
	b := newBrowser(t, e.URL())
	limited := false
	for i := 0; i < 15 && !limited; i++ {
		p := b.trySignIn(ecstest.TestAccessKeyID, "guess-"+itoa(i))
		switch p.status {
		case http.StatusUnauthorized:
		case http.StatusTooManyRequests:
			limited = true
			if i < 10 {
				t.Fatalf("attempt %d limited; want a burst of 10", i+1)
			}
			wantBody(t, "the limited attempt", p, "Too many sign-in attempts")
		default:
			t.Fatalf("attempt %d: status %d", i+1, p.status)
		}
	}
	if !limited {
		t.Fatal("15 wrong sign-ins in a row were never limited")
	}
	// The right key is refused too while the address is limited.
	wantStatus(t, "the right key while limited", b.trySignIn(ecstest.TestAccessKeyID, ecstest.TestSecretAccessKey), http.StatusTooManyRequests)
}

func TestActionsNeedTheFormTokenAndConfirmation(t *testing.T) {
	e := start(t)
	e.fixture(t, "prod", 0)
	b := newBrowser(t, e.URL())
	b.signIn(ecstest.TestAccessKeyID, ecstest.TestSecretAccessKey)
	scale := "/console/clusters/prod/services/web/scale"

	wantStatus(t, "POST without csrf", b.post(scale, url.Values{"desiredCount": {"2"}, "confirm": {"yes"}}), http.StatusForbidden)
	wantStatus(t, "POST with a wrong csrf", b.post(scale, url.Values{"desiredCount": {"2"}, "confirm": {"yes"}, "csrf": {"x"}}), http.StatusForbidden)
	token := b.csrf()
	req, _ := http.NewRequest(http.MethodPost, e.URL()+scale, strings.NewReader(url.Values{"desiredCount": {"2"}, "confirm": {"yes"}, "csrf": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	wantStatus(t, "POST from another origin", b.do(req), http.StatusForbidden)
	if n := desired(t, e, "prod", "web"); n != 0 {
		t.Fatalf("desired count = %d after refused POSTs; want 0", n)
	}

	// The first POST only asks.
	p := b.post(scale, url.Values{"desiredCount": {"2"}, "csrf": {token}})
	wantStatus(t, "the confirmation", p, http.StatusOK)
	wantBody(t, "the confirmation", p, "Change the desired count of service web in cluster prod from 0 to 2?", `name="confirm" value="yes"`)
	if n := desired(t, e, "prod", "web"); n != 0 {
		t.Fatalf("desired count = %d before confirmation; want 0", n)
	}
	p = b.post(scale, url.Values{"desiredCount": {"2"}, "csrf": {token}, "confirm": {"yes"}})
	wantStatus(t, "the confirmed action", p, http.StatusSeeOther)
	if p.location != "/console/clusters/prod/services/web" {
		t.Fatalf("after the action, Location %q", p.location)
	}
	if n := desired(t, e, "prod", "web"); n != 2 {
		t.Fatalf("desired count = %d; want 2", n)
	}
	wantBody(t, "the page after the action", b.get(p.location), "Service web: desired count set to 2.")
	// The call went through the gate as root, and was audited.
	if a := e.auditLog(t); !strings.Contains(a, "UpdateService") || !strings.Contains(a, "root") {
		t.Fatalf("audit log lacks the console's UpdateService by root:\n%s", a)
	}
}

func TestPoliciesApply(t *testing.T) {
	e := start(t)
	e.fixture(t, "prod", 1)
	e.fixture(t, "secret", 0)

	reader := newBrowser(t, e.URL())
	reader.signIn(readerKey, readerSecret)
	wantBody(t, "reader's cluster list", reader.get("/console/"), "prod", "secret")
	wantBody(t, "reader's service page", reader.get("/console/clusters/prod/services/web"), "Deployments", "PRIMARY")

	// Denied a section: the rest of the page still shows, with the refusal
	// in its place.
	p := reader.get("/console/clusters/secret")
	wantStatus(t, "reader on cluster secret", p, http.StatusOK)
	wantBody(t, "reader on cluster secret", p, "AccessDeniedException", "ecs:ListTasks", "Services")

	// Denied an action: the API's message, nothing changed.
	token := reader.csrf()
	p = reader.post("/console/clusters/prod/services/web/scale", url.Values{"desiredCount": {"5"}, "csrf": {token}, "confirm": {"yes"}})
	wantStatus(t, "reader scaling", p, http.StatusForbidden)
	wantBody(t, "reader scaling", p, "AccessDeniedException", "User reader is not authorized to perform: ecs:UpdateService")
	if n := desired(t, e, "prod", "web"); n != 1 {
		t.Fatalf("desired count = %d after a denied update; want 1", n)
	}

	// The event stream needs wharf:GetEvents: the reader gets the events
	// the ECS API reports instead, and is told why.
	p = reader.get("/console/clusters/prod/events")
	wantStatus(t, "reader's events page", p, http.StatusOK)
	wantBody(t, "reader's events page", p, "not available to you", "wharf:GetEvents", "derived from what the ECS API reports")

	nobody := newBrowser(t, e.URL())
	nobody.signIn(nobodyKey, nobodySecret)
	p = nobody.get("/console/")
	wantStatus(t, "nobody's cluster list", p, http.StatusForbidden)
	wantBody(t, "nobody's cluster list", p, "not authorized to perform: ecs:ListClusters")
	wantStatus(t, "nobody's task definition", nobody.get("/console/taskdefs/web/1"), http.StatusForbidden)
}

func TestBadInputIsNeverAServerError(t *testing.T) {
	e := start(t)
	e.fixture(t, "prod", 0)
	b := newBrowser(t, e.URL())
	b.signIn(ecstest.TestAccessKeyID, ecstest.TestSecretAccessKey)
	token := b.csrf()
	gets := map[string]int{
		"/console/clusters/nope":                         http.StatusNotFound,
		"/console/clusters/a*b":                          http.StatusNotFound,
		"/console/clusters/prod/services/nope":           http.StatusNotFound,
		"/console/clusters/prod/services/x%2Fy":          http.StatusNotFound,
		"/console/clusters/prod/tasks/0123456789abcdef":  http.StatusNotFound,
		"/console/clusters/prod/tasks/bad%20id":          http.StatusNotFound,
		"/console/clusters/prod/tasks?desiredStatus=ALL": http.StatusBadRequest,
		"/console/clusters/prod/instances/nope":          http.StatusBadRequest,
		"/console/clusters/prod/tasks/abc/logs":          http.StatusNotFound,
		"/console/taskdefs/web/0":                        http.StatusBadRequest,
		"/console/taskdefs/web/x":                        http.StatusBadRequest,
		"/console/taskdefs/web/99":                       http.StatusBadRequest,
		"/console/taskdefs/we*b":                         http.StatusBadRequest,
		"/console/taskdefs?status=GONE":                  http.StatusBadRequest,
		"/console/nothing/here":                          http.StatusNotFound,
		"/console/static/nothing.css":                    http.StatusNotFound,
	}
	for path, want := range gets {
		p := b.get(path)
		if p.status != want {
			t.Errorf("GET %s: status %d; want %d\n%s", path, p.status, want, p.body)
		}
	}
	posts := []struct {
		path string
		form url.Values
		want int
	}{
		{"/console/clusters/prod/services/web/scale", url.Values{"desiredCount": {"many"}}, http.StatusBadRequest},
		{"/console/clusters/prod/services/web/scale", url.Values{"desiredCount": {"-1"}}, http.StatusBadRequest},
		{"/console/clusters/prod/services/web/scale", url.Values{"desiredCount": {"99999999999"}}, http.StatusBadRequest},
		{"/console/clusters/prod/services/nope/scale", url.Values{"desiredCount": {"1"}, "confirm": {"yes"}}, http.StatusNotFound},
		{"/console/clusters/prod/instances/x/state", url.Values{"status": {"GONE"}}, http.StatusBadRequest},
		{"/console/clusters/prod/instances/abc/state", url.Values{"status": {"DRAINING"}, "confirm": {"yes"}}, http.StatusBadRequest},
		{"/console/clusters/prod/tasks/abc/stop", url.Values{"reason": {strings.Repeat("r", 300)}}, http.StatusBadRequest},
		{"/console/clusters/prod/tasks/abc/stop", url.Values{"confirm": {"yes"}}, http.StatusBadRequest},
		{"/console/taskdefs/web/1/run", url.Values{"cluster": {"prod"}, "count": {"11"}}, http.StatusBadRequest},
		{"/console/taskdefs/web/1/run", url.Values{"cluster": {"pr od"}, "count": {"1"}}, http.StatusBadRequest},
		{"/console/taskdefs/web/1/run", url.Values{"cluster": {"nope"}, "count": {"1"}, "confirm": {"yes"}}, http.StatusNotFound},
		{"/console/taskdefs/web/1/run", url.Values{"cluster": {"prod"}, "count": {"1"}, "confirm": {"yes"}}, http.StatusBadRequest},
		{"/console/clusters/prod", url.Values{}, http.StatusMethodNotAllowed},
	}
	for _, c := range posts {
		c.form.Set("csrf", token)
		p := b.post(c.path, c.form)
		if p.status != c.want {
			t.Errorf("POST %s %v: status %d; want %d\n%s", c.path, c.form, p.status, c.want, p.body)
		}
	}
	// A body over the limit.
	p := b.post("/console/clusters/prod/tasks/abc/stop", url.Values{"csrf": {token}, "reason": {strings.Repeat("x", 100<<10)}})
	if p.status >= 500 {
		t.Errorf("an oversized form: status %d", p.status)
	}
}

func TestAuthenticationOffOpensTheConsole(t *testing.T) {
	srv := ecstest.StartWith(t, ecstest.Options{NoAuth: true})
	if _, err := srv.Client.CreateCluster(context.Background(), &ecs.CreateClusterInput{ClusterName: aws.String("open")}); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, srv.URL())
	p := b.get("/console/")
	wantStatus(t, "the clusters page without authentication", p, http.StatusOK)
	wantBody(t, "the clusters page without authentication", p, "open", "anonymous")
	if strings.Contains(p.body, "Sign out") {
		t.Error("an anonymous console offers to sign out")
	}
	wantStatus(t, "the sign-in page without authentication", b.get("/console/signin"), http.StatusSeeOther)
	// Forms still need the session's token.
	wantStatus(t, "POST without csrf", b.post("/console/taskdefs/x/1/run", url.Values{"cluster": {"open"}, "count": {"1"}}), http.StatusForbidden)
}

func TestLiveStreamSendsThePagesLivePart(t *testing.T) {
	e := start(t)
	e.fixture(t, "prod", 0)
	// Root may read the event stream, so its page follows the events;
	// the reader may not (no wharf:GetEvents), so its page is re-read
	// every two seconds. Both see the change.
	for i, u := range []struct{ name, key, secret string }{
		{"root", ecstest.TestAccessKeyID, ecstest.TestSecretAccessKey},
		{"reader", readerKey, readerSecret},
	} {
		t.Run(u.name, func(t *testing.T) {
			b := newBrowser(t, e.URL())
			b.signIn(u.key, u.secret)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.URL()+"/console/clusters/prod/services/web", nil)
			req.Header.Set("Accept", "text/event-stream")
			resp, err := b.hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "text/event-stream" {
				t.Fatalf("stream: status %d, Content-Type %q", resp.StatusCode, ct)
			}
			r := bufio.NewReader(resp.Body)
			// The first update is the live part as it is; scaling the
			// service brings another with the new desired count.
			want := int32(i) // 0 for the first user, 1 after root's turn
			first := readEvent(t, r, "update")
			if !strings.Contains(first, fmt.Sprintf(`data-count="desired">%d<`, want)) {
				t.Fatalf("first update lacks desired %d:\n%s", want, first)
			}
			following := eventStreams(t, e)
			if wantFollow := u.name == "root"; following != wantFollow {
				t.Errorf("the server's /events has a stream open: %v; want %v", following, wantFollow)
			}
			want++
			if _, err := e.Client.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), DesiredCount: aws.Int32(want)}); err != nil {
				t.Fatal(err)
			}
			for {
				if u := readEvent(t, r, "update"); strings.Contains(u, fmt.Sprintf(`data-count="desired">%d<`, want)) {
					break
				}
			}
		})
	}
	b := newBrowser(t, e.URL())
	b.signIn(ecstest.TestAccessKeyID, ecstest.TestSecretAccessKey)
	// A page without a live part refuses a stream.
	req, _ := http.NewRequest(http.MethodGet, e.URL()+"/console/taskdefs", nil)
	req.Header.Set("Accept", "text/event-stream")
	wantStatus(t, "a stream of a page without live part", b.do(req), http.StatusNotAcceptable)
	// Signed out: no stream.
	anon := newBrowser(t, e.URL())
	req, _ = http.NewRequest(http.MethodGet, e.URL()+"/console/clusters/prod", nil)
	req.Header.Set("Accept", "text/event-stream")
	wantStatus(t, "a stream signed out", anon.do(req), http.StatusUnauthorized)
}

// eventStreams reports whether the server's GET /events has a stream open
// (its wharf_events_streams metric).
func eventStreams(t *testing.T, e *env) bool {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.URL()+"/metrics", nil)
	req.SetBasicAuth(ecstest.TestAccessKeyID, ecstest.TestSecretAccessKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, "wharf_events_streams "); ok {
			return v != "0"
		}
	}
	t.Fatalf("/metrics (status %d) has no wharf_events_streams", resp.StatusCode)
	return false
}

// readEvent reads up to the next event named name and returns its data.
func readEvent(t *testing.T, r *bufio.Reader, name string) string {
	t.Helper()
	var ev string
	var data []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the stream: %v", err)
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "":
			if ev == name {
				return strings.Join(data, "\n")
			}
			ev, data = "", nil
		case strings.HasPrefix(line, "event: "):
			ev = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = append(data, strings.TrimPrefix(line, "data: "))
		}
	}
}
