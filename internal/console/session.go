package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Sessions live in the server's memory only: a restart signs everyone out.
// The cookie holds a random ID and nothing else; the session holds the
// access key ID (whose secret the server's credentials already hold) and the
// form token that every POST must carry.

const (
	sessionCookie = "wharf_console"
	// signinCookie carries the sign-in form's token before there is a
	// session (a double-submit token against login CSRF).
	signinCookie = "wharf_console_signin"

	sessionIdle     = time.Hour      // signed out after an hour without a request
	sessionLifetime = 12 * time.Hour // and after twelve hours in any case
	maxSessions     = 10000

	// Sign-in attempts per client address: a burst of signinBurst, then
	// one every signinEvery.
	signinBurst = 10
	signinEvery = 6 * time.Second
	maxLimiters = 10000
)

// session is one signed-in browser.
type session struct {
	id      string
	key     string // access key ID; "" when authentication is off
	user    string // the principal's name, for display
	kind    string // root, user, anonymous
	csrf    string
	created time.Time
	seen    time.Time
	flash   *flash // one-shot message for the next page
}

// flash is a message shown once, on the page after an action.
type flash struct {
	Kind    string // ok, or warn when only part was done
	Message string
}

type sessions struct {
	mu   sync.Mutex
	byID map[string]*session
	now  func() time.Time
}

func newSessions(now func() time.Time) *sessions {
	return &sessions{byID: map[string]*session{}, now: now}
}

// create starts a session for key and returns it.
func (s *sessions) create(key, user, kind string) *session {
	now := s.now()
	ss := &session{id: randomToken(), key: key, user: user, kind: kind, csrf: randomToken(), created: now, seen: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.byID) >= maxSessions {
		s.sweepLocked(now)
	}
	if len(s.byID) >= maxSessions {
		// Still full of live sessions: drop the one idle longest rather
		// than refuse every new sign-in.
		var oldest *session
		for _, o := range s.byID {
			if oldest == nil || o.seen.Before(oldest.seen) {
				oldest = o
			}
		}
		delete(s.byID, oldest.id)
	}
	s.byID[ss.id] = ss
	return ss
}

// get returns the live session of id and marks it used, or nil.
func (s *sessions) get(id string) *session {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.byID[id]
	if ss == nil {
		return nil
	}
	if expired(ss, now) {
		delete(s.byID, id)
		return nil
	}
	ss.seen = now
	return ss
}

// alive reports whether the session still exists, without marking it used
// (a live stream must not keep an idle session alive).
func (s *sessions) alive(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.byID[id]
	return ss != nil && !expired(ss, s.now())
}

func (s *sessions) remove(id string) {
	s.mu.Lock()
	delete(s.byID, id)
	s.mu.Unlock()
}

// setFlash and takeFlash pass a result message to the next page.
func (s *sessions) setFlash(ss *session, f flash) {
	s.mu.Lock()
	ss.flash = &f
	s.mu.Unlock()
}

func (s *sessions) takeFlash(ss *session) *flash {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := ss.flash
	ss.flash = nil
	return f
}

func (s *sessions) sweepLocked(now time.Time) {
	for id, ss := range s.byID {
		if expired(ss, now) {
			delete(s.byID, id)
		}
	}
}

func expired(ss *session, now time.Time) bool {
	return now.Sub(ss.seen) > sessionIdle || now.Sub(ss.created) > sessionLifetime
}

// randomToken is 256 random bits, URL-safe.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// sameToken compares tokens in constant time.
func sameToken(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// cookie returns a console cookie: HttpOnly, SameSite=Strict, scoped to the
// console's path, Secure when served over TLS.
func (c *Console) cookie(r *http.Request, name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: Prefix, MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: c.secure || r.TLS != nil}
}

// signinLimiter bounds sign-in attempts per client address.
type signinLimiter struct {
	mu     sync.Mutex
	byAddr map[string]*rate.Limiter
	now    func() time.Time
}

func newSigninLimiter(now func() time.Time) *signinLimiter {
	return &signinLimiter{byAddr: map[string]*rate.Limiter{}, now: now}
}

// allow takes one attempt from addr's allowance.
func (l *signinLimiter) allow(addr string) bool {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.byAddr[addr]
	if lim == nil {
		if len(l.byAddr) >= maxLimiters {
			// Forget the addresses whose allowance is whole again: they
			// would start from a full one anyway.
			for a, o := range l.byAddr {
				if o.TokensAt(now) >= signinBurst {
					delete(l.byAddr, a)
				}
			}
		}
		if len(l.byAddr) >= maxLimiters {
			return false
		}
		lim = rate.NewLimiter(rate.Every(signinEvery), signinBurst)
		l.byAddr[addr] = lim
	}
	return lim.AllowN(now, 1)
}

// clientAddr is the address a request came from (no port).
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return strings.TrimSpace(r.RemoteAddr)
	}
	return host
}
