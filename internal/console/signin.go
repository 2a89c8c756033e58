package console

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"strings"

	"github.com/wharf-ecs/wharf/internal/auth"
)

// signinView is what the sign-in page shows.
type signinView struct {
	Token   string
	Next    string
	KeyID   string
	Problem string
}

func (c *Console) signinForm(w http.ResponseWriter, r *http.Request) {
	if c.creds == nil {
		http.Redirect(w, r, Prefix+"/", http.StatusSeeOther)
		return
	}
	c.showSignin(w, r, http.StatusOK, signinView{Next: safeNext(r.URL.Query().Get("next"))})
}

// showSignin draws the sign-in form with a fresh form token.
func (c *Console) showSignin(w http.ResponseWriter, r *http.Request, status int, v signinView) {
	v.Token = randomToken()
	http.SetCookie(w, c.cookie(r, signinCookie, v.Token, 900))
	q := &rq{c: c, w: w, r: r}
	q.render(status, "signin", "Sign in", nil, v)
}

func (c *Console) signin(w http.ResponseWriter, r *http.Request) {
	if c.creds == nil {
		http.Redirect(w, r, Prefix+"/", http.StatusSeeOther)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	v := signinView{Next: safeNext(r.PostFormValue("next")), KeyID: strings.TrimSpace(r.PostFormValue("accessKeyId"))}
	if !c.limiter.allow(clientAddr(r)) {
		v.Problem = "Too many sign-in attempts from your address. Wait a minute, then try again."
		c.showSignin(w, r, http.StatusTooManyRequests, v)
		return
	}
	ck, err := r.Cookie(signinCookie)
	if err != nil || !sameToken(r.PostFormValue("token"), ck.Value) || !sameOrigin(r) {
		v.Problem = "The sign-in form expired or came from another page. Try again with this one."
		c.showSignin(w, r, http.StatusForbidden, v)
		return
	}
	p := c.verify(v.KeyID, r.PostFormValue("secretAccessKey"))
	if p == nil {
		v.Problem = "The access key ID and secret access key do not match a user of this server."
		c.showSignin(w, r, http.StatusUnauthorized, v)
		return
	}
	ss := c.sessions.create(v.KeyID, p.Name, p.Kind.String())
	c.log.Info("console sign-in", "user", p.Name, "access_key_id", v.KeyID, "address", clientAddr(r))
	http.SetCookie(w, c.cookie(r, signinCookie, "", -1))
	http.SetCookie(w, c.cookie(r, sessionCookie, ss.id, 0))
	http.Redirect(w, r, v.Next, http.StatusSeeOther)
}

// verify returns the root or user principal whose key is id with secret, or
// nil. Agents' keys are not among the console's credentials.
func (c *Console) verify(id, secret string) *auth.Principal {
	want, p, ok := c.creds.Lookup(id)
	if !ok || p == nil {
		// Compare anyway, so that an unknown key costs what a known one
		// does.
		want = "not-a-secret-of-any-user-of-this-server"
	}
	same := subtle.ConstantTimeCompare([]byte(want), []byte(secret)) == 1
	if !ok || p == nil || !same || secret == "" || (p.Kind != auth.Root && p.Kind != auth.User) {
		return nil
	}
	return p
}

func (c *Console) signout(w http.ResponseWriter, r *http.Request) {
	q, ok := c.begin(w, r)
	if !ok {
		return
	}
	if !q.checkPost() {
		return
	}
	c.sessions.remove(q.ss.id)
	http.SetCookie(w, c.cookie(r, sessionCookie, "", -1))
	if c.creds == nil {
		http.Redirect(w, r, Prefix+"/", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, Prefix+"/signin", http.StatusSeeOther)
}

// safeNext is where to go after signing in: a console path, never another
// site.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || next == "" || u.IsAbs() || u.Host != "" || !strings.HasPrefix(u.Path, Prefix+"/") ||
		strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return Prefix + "/"
	}
	return next
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
