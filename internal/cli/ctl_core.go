package cli

import (
	"crypto/tls"

	"github.com/drover-sh/drover/internal/supervisor"

	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"

	"github.com/drover-sh/drover/internal/pyrepr"
	"github.com/drover-sh/drover/internal/rpc"
)

// LSB init-script exit statuses, which supervisorctl uses.
const (
	exitOK            = 0
	exitGeneric       = 1
	exitInvalidArgs   = 2
	exitUnimplemented = 3
	exitNoPrivilege   = 4 // supervisorctl's code for a refused connection
	exitNotInstalled  = 5
	exitNotRunning    = 7
	// status has its own codes.
	exitStatusNotRunning = 3
	exitStatusUnknown    = 4
)

// apiVersion is the API version supervisorctl insists on.
const apiVersion = "3.0"

// ctl runs supervisorctl's commands against one server. Like
// supervisorctl's Controller it keeps one exit status, which each command
// may set; everything it prints goes to stdout, except that with --json
// the messages that are not JSON go to stderr.
type ctl struct {
	o      ctlOptions
	prog   string // program name for usage messages
	out    *bufio.Writer
	errw   io.Writer
	in     *lineReader
	client *rpc.Client
	exit   int
	// tty: stdout is a terminal (status then shows CPU and RSS).
	tty bool
}

func newCtl(o ctlOptions, prog string, stdin io.Reader, stdout, stderr io.Writer) *ctl {
	return &ctl{o: o, prog: prog, out: bufio.NewWriterSize(stdout, 64<<10), errw: stderr, in: newLineReader(stdin),
		tty: isTerminal(stdout)}
}

// println writes one output line.
func (c *ctl) println(s string) {
	c.out.WriteString(s)
	c.out.WriteByte('\n')
}

// note writes a message line: to stdout, or to stderr when the command
// prints JSON so that stdout stays parseable.
func (c *ctl) note(s string) {
	if c.o.json {
		c.out.Flush()
		fmt.Fprintln(c.errw, s)
		return
	}
	c.println(s)
}

func (c *ctl) flush() { c.out.Flush() }

// rpcClient returns the client for the current server URL, creating it
// on first use.
func (c *ctl) rpcClient() (*rpc.Client, error) {
	if c.client == nil {
		tc, err := c.o.tlsConfig()
		if err != nil {
			return nil, err
		}
		cl, err := rpc.NewClientAuth(c.o.serverURL, rpc.ClientAuth{Username: c.o.username, Password: c.o.password,
			Calls: c.o.rpcAuth, Streams: c.o.password != "", TLS: tc})
		if err != nil {
			return nil, err
		}
		c.client = cl
	}
	return c.client, nil
}

// tlsConfig is what https:// needs: the CA that signs the server's
// certificate (the system's roots without --cacert) and a client
// certificate for mutual TLS.
func (o ctlOptions) tlsConfig() (*tls.Config, error) {
	if !strings.HasPrefix(o.serverURL, "https://") {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.cacert != "" {
		pool, err := rpc.LoadCertPool(o.cacert)
		if err != nil {
			return nil, fmt.Errorf("--cacert: %w", err)
		}
		tc.RootCAs = pool
	}
	if (o.cert == "") != (o.key == "") {
		return nil, errors.New("--cert and --key go together")
	}
	if o.cert != "" {
		pair, err := tls.LoadX509KeyPair(o.cert, o.key)
		if err != nil {
			return nil, fmt.Errorf("--cert/--key: %w", err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	return tc, nil
}

// call invokes supervisor.<method> (or a full "ns.method" name).
func (c *ctl) call(ctx context.Context, method string, args ...any) (any, error) {
	cl, err := c.rpcClient()
	if err != nil {
		return nil, err
	}
	if !strings.Contains(method, ".") {
		method = "supervisor." + method
	}
	return cl.Call(ctx, method, args...)
}

// close releases the connection.
func (c *ctl) close() {
	if c.client != nil {
		c.client.Close()
	}
}

// upcheck is supervisorctl's check before most commands: the server must
// answer getVersion with API 3.0. It prints the problem and sets the exit
// status when not; errors it does not recognise are returned.
func (c *ctl) upcheck(ctx context.Context) (bool, error) {
	v, err := c.call(ctx, "getVersion")
	if err != nil {
		return c.upcheckFailed(err)
	}
	if s, _ := v.(string); s != apiVersion {
		c.note(fmt.Sprintf("Sorry, this version of supervisorctl expects to talk to a server with API version %s, but the remote version is %v.", apiVersion, v))
		c.exit = exitNotInstalled
		return false, nil
	}
	return true, nil
}

// upcheckFailed reports an error of a command's first call as the
// up-check does.
func (c *ctl) upcheckFailed(err error) (bool, error) {
	var f *supervisor.Fault
	if errors.As(err, &f) && f.Code == supervisor.CodeUnknownMethod {
		c.note("Sorry, supervisord responded but did not recognize the supervisor namespace commands that supervisorctl uses to control it.  Please check that the [rpcinterface:supervisor] section is enabled in the configuration file (see sample.conf).")
		c.exit = exitUnimplemented
		return false, nil
	}
	switch noFile, refused := connProblem(err); {
	case refused:
		c.note(c.o.serverURL + " refused connection")
		c.exit = exitNoPrivilege
		return false, nil
	case noFile:
		c.note(c.o.serverURL + " no such file")
		c.exit = exitNotRunning
		return false, nil
	}
	c.exit = exitGeneric
	return false, err
}

// connProblem classifies a transport error the way supervisorctl's
// up-check does: a missing socket file or a refused connection.
func connProblem(err error) (noFile, refused bool) {
	return errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.ECONNREFUSED)
}

// faultString is the faultString the server sent for f.
func faultString(f *supervisor.Fault) string { return f.Error() }

// deadFaults are the faults that mean "program is not running" (exit 7).
func isDeadFault(code supervisor.Code) bool {
	return code == supervisor.CodeSpawnError || code == supervisor.CodeAbnormalTermination || code == supervisor.CodeNotRunning
}

// setExitFromFault is supervisorctl's rule for result codes: success and
// the ignored code change nothing, a dead-program fault gives 7, any
// other fault 1. The last such code wins.
func (c *ctl) setExitFromFault(code, ignored supervisor.Code) {
	switch {
	case code == supervisor.CodeSuccess || code == ignored:
	case isDeadFault(code):
		c.exit = exitNotRunning
	default:
		c.exit = exitGeneric
	}
}

// runVerb runs one command and turns an unexpected error into an
// "error: …" line and exit status 1, as supervisorctl does with
// exceptions. A 401 answer asks for credentials in the interactive shell
// and retries, as supervisorctl does.
func (c *ctl) runVerb(ctx context.Context, v *ctlVerb, args []string) {
	defer c.flush()
	for {
		err := v.run(c, ctx, args)
		if err == nil {
			return
		}
		var he *rpc.HTTPError
		if errors.As(err, &he) && he.StatusCode == 401 {
			c.note("Server requires authentication")
			if c.o.interactive && c.askCredentials(ctx) {
				continue
			}
			c.exit = exitGeneric
			return
		}
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			c.println("")
			return
		}
		c.note(c.describe(err))
		c.exit = exitGeneric
		return
	}
}

// describe words an unexpected error for the "error: …" line.
func (c *ctl) describe(err error) string {
	var f *supervisor.Fault
	var he *rpc.HTTPError
	switch noFile, refused := connProblem(err); {
	case noFile:
		return "error: " + c.o.serverURL + " no such file"
	case refused:
		return "error: " + c.o.serverURL + " refused connection"
	case errors.As(err, &f):
		return fmt.Sprintf("error: <Fault %d: %s>", f.Code, pyrepr.Str(faultString(f)))
	case errors.As(err, &he):
		return fmt.Sprintf("error: <ProtocolError for %s/RPC2: %s>", c.o.serverURL, he.Status)
	}
	return "error: " + err.Error()
}

// askCredentials prompts for a user name and password (without echo on
// a terminal) and installs them; false on end of input.
func (c *ctl) askCredentials(ctx context.Context) bool {
	c.out.WriteString("Username:")
	c.flush()
	user, err := c.in.readLine(ctx)
	if err != nil {
		return false
	}
	c.out.WriteString("Password:")
	c.flush()
	restore := noEcho(os.Stdin)
	pass, err := c.in.readLine(ctx)
	restore()
	c.println("")
	if err != nil {
		return false
	}
	c.o.username, c.o.password, c.o.rpcAuth = user, pass, true
	c.close()
	c.client = nil
	return true
}

// confirm asks a y/N question; only an answer starting with y or Y is
// yes (end of input is no).
func (c *ctl) confirm(ctx context.Context, question string) bool {
	c.out.WriteString(question)
	c.flush()
	ans, err := c.in.readLine(ctx)
	if err != nil {
		return false
	}
	return strings.HasPrefix(strings.ToLower(ans), "y")
}

// usage prints a verb's help after a wrong argument list.
func (c *ctl) usage(v string) {
	if verb := findVerb(v); verb != nil {
		for _, l := range verb.help {
			c.println(l)
		}
	}
}
