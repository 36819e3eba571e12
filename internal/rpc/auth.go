package rpc

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/drover-sh/drover/internal/access"
	"github.com/drover-sh/drover/internal/httpwire"
	"golang.org/x/crypto/bcrypt"
)

// Credentials are a listener's HTTP Basic auth settings (username= and
// password= of its section). An empty Username disables auth.
type Credentials struct {
	Username string
	Password string // cleartext, "{SHA}<hex sha1>" or a bcrypt hash
}

// Enabled reports whether requests must authenticate.
func (c Credentials) Enabled() bool { return c.Username != "" }

// NetUser is a network user of [user:x]: its name and stored password.
type NetUser struct {
	Name     string
	Password string
}

// passwordOK compares a given password with a stored one: a bcrypt hash,
// "{SHA}" and a hex SHA-1, or cleartext. The comparisons take constant
// time, so timing does not reveal how much of a guess was right.
func passwordOK(stored, given string) bool {
	if strings.HasPrefix(stored, "$2") {
		return bcryptOK(stored, given)
	}
	if hash, isSHA := strings.CutPrefix(stored, "{SHA}"); isSHA {
		sum := sha1.Sum([]byte(given))
		got := hex.EncodeToString(sum[:])
		return subtle.ConstantTimeCompare([]byte(got), []byte(strings.ToLower(hash))) == 1
	}
	return subtle.ConstantTimeCompare([]byte(given), []byte(stored)) == 1
}

// bcryptOK checks a bcrypt hash, remembering the pairs that matched: a
// check costs ~75 ms of CPU at cost 10, and clients send the same
// credentials with every request (a CLI verb makes several, a monitor
// polls). Failures are never remembered, so guessing stays slow. The key
// is a SHA-256 of the stored hash (salted) and the password, so the table
// holds no password and goes stale by itself when the password changes.
func bcryptOK(stored, given string) bool {
	key := sha256.Sum256([]byte(stored + "\x00" + given))
	verified.mu.Lock()
	_, hit := verified.ok[key]
	verified.mu.Unlock()
	if hit {
		return true
	}
	if bcrypt.CompareHashAndPassword([]byte(stored), []byte(given)) != nil {
		return false
	}
	verified.mu.Lock()
	defer verified.mu.Unlock()
	if verified.ok == nil || len(verified.ok) >= maxVerified {
		verified.ok = map[[32]byte]struct{}{}
	}
	verified.ok[key] = struct{}{}
	return true
}

// verified holds the bcrypt checks that matched (bcryptOK).
var verified struct {
	mu sync.Mutex
	ok map[[32]byte]struct{}
}

// maxVerified bounds verified: past it the table starts again.
const maxVerified = 1024

// identify says who sent r on a listener with credentials cred: the
// listener's own username= is an admin (the credential supervisord has);
// a [user:x] is the network user its rules name, and a wrong password
// for one is refused; a verified client certificate (mutual TLS) names
// its holder. ok is false when r must be refused (401). A listener
// without username= ignores other credentials, as supervisord does.
func identify(r *httpwire.Request, cred Credentials, unix bool, users []NetUser) (c access.Caller, ok bool) {
	if unix {
		if p, isPeer := peerFrom(r.Context()); isPeer {
			c = access.Caller{Unix: true, UID: p.UID, GID: p.GID, PID: p.PID}
		}
	} else {
		c.Addr = r.RemoteAddr
	}
	user, pass, sent := r.BasicAuth()
	if sent && cred.Enabled() && subtle.ConstantTimeCompare([]byte(user), []byte(cred.Username)) == 1 && passwordOK(cred.Password, pass) {
		c.Admin = true
		if !unix {
			c.User = user
		}
		return c, true
	}
	if sent && !unix {
		for _, u := range users {
			if u.Name == user {
				if !passwordOK(u.Password, pass) {
					return c, false
				}
				c.User = user
				return c, true
			}
		}
	}
	if name := tlsUser(r.Context()); name != "" && !sent {
		c.User = name
		return c, true
	}
	return c, !cred.Enabled()
}

// limiter refuses an address that failed to authenticate too often:
// authFailures within authWindow lock it out for the rest of the window.
type limiter struct {
	mu    sync.Mutex
	fails map[string]*failures
}

type failures struct {
	n     int
	since time.Time
}

const (
	authFailures = 10
	authWindow   = time.Minute
	// maxTracked bounds the table: past it, expired entries go first,
	// then everything (a flood of addresses must not grow memory).
	maxTracked = 4096
)

// host is the address without its port: the unit of the limit.
func host(remote string) string {
	if h, _, err := net.SplitHostPort(remote); err == nil {
		return h
	}
	return remote
}

// lockable reports whether failed logins from remote count against it:
// not from a loopback address, which every local user shares (a lock-out
// would let any of them lock the others out, the administrator too).
// Local users are told apart on the unix socket.
func lockable(remote string) bool {
	ip, err := netip.ParseAddr(host(remote))
	return err != nil || !ip.Unmap().IsLoopback()
}

// locked reports whether addr is locked out now.
func (l *limiter) locked(addr string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.fails[host(addr)]
	return f != nil && f.n >= authFailures && now.Sub(f.since) < authWindow
}

// failed counts a failure of addr.
func (l *limiter) failed(addr string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fails == nil {
		l.fails = map[string]*failures{}
	}
	h := host(addr)
	f := l.fails[h]
	if f == nil || now.Sub(f.since) >= authWindow {
		if len(l.fails) >= maxTracked {
			for k, v := range l.fails {
				if now.Sub(v.since) >= authWindow {
					delete(l.fails, k)
				}
			}
			if len(l.fails) >= maxTracked {
				clear(l.fails)
			}
		}
		f = &failures{since: now}
		l.fails[h] = f
	}
	f.n++
}
