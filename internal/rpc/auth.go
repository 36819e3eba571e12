package rpc

import (
	"crypto/sha1"
	"crypto/subtle"
	"encoding/hex"
	"strings"

	"github.com/drover-sh/drover/internal/httpwire"
)

// Credentials are a listener's HTTP Basic auth settings. An empty
// Username disables auth. Password is cleartext or "{SHA}<hex sha1>".
type Credentials struct {
	Username string
	Password string
}

// Enabled reports whether requests must authenticate.
func (c Credentials) Enabled() bool { return c.Username != "" }

// allow reports whether r may be served. Comparisons are constant-time
// so timing does not reveal how much of a guess was right.
func (c Credentials) allow(r *httpwire.Request) bool {
	if !c.Enabled() {
		return true
	}
	user, pass, ok := r.BasicAuth()
	if !ok {
		return false
	}
	userOK := subtle.ConstantTimeCompare([]byte(user), []byte(c.Username)) == 1
	var passOK bool
	if hash, isSHA := strings.CutPrefix(c.Password, "{SHA}"); isSHA {
		sum := sha1.Sum([]byte(pass))
		got := hex.EncodeToString(sum[:])
		passOK = subtle.ConstantTimeCompare([]byte(got), []byte(strings.ToLower(hash))) == 1
	} else {
		passOK = subtle.ConstantTimeCompare([]byte(pass), []byte(c.Password)) == 1
	}
	return userOK && passOK
}
