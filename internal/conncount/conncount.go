// Package conncount counts a net/http server's open connections, for
// the test and bench apps that stand in for users' servers: the drover
// binary itself does not link net/http (see internal/httpwire).
package conncount

import (
	"net"
	"net/http"
	"sync"
)

// Count counts a server's open connections and tells when none is
// left: the last step of a graceful stop that does not race keep-alive
// clients (http.Server.Shutdown closes idle connections at once, under a
// request the client may be sending). Set Track as http.Server.ConnState;
// the zero value is ready to use.
type Count struct {
	mu    sync.Mutex
	n     int
	empty chan struct{} // closed when n drops to 0; replaced when it rises
}

// Track is the http.Server.ConnState hook.
func (c *Count) Track(_ net.Conn, st http.ConnState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.empty == nil {
		c.empty = make(chan struct{})
	}
	switch st {
	case http.StateNew:
		if c.n == 0 {
			c.empty = make(chan struct{})
		}
		c.n++
	case http.StateClosed, http.StateHijacked:
		if c.n--; c.n == 0 {
			close(c.empty)
		}
	}
}

// Zero returns a channel closed once no connection is open.
func (c *Count) Zero() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == 0 {
		done := make(chan struct{})
		close(done)
		return done
	}
	return c.empty
}
