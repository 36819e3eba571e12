//go:build e2e

package e2e

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drover-sh/drover/internal/testenv"
	"github.com/drover-sh/drover/internal/testpki"
	"golang.org/x/crypto/bcrypt"
)

// Seed 003: an admin host pushes a graceful restart of starman to app01 and
// app02 (there: ssh -t app0N 'sudo kill -HUP `cat /tmp/starman.pid`', with
// sudo for kill and cat on every host). Here each host runs drover, serving
// starman blue/green on a socket drover owns, and the admin reloads them
// one after the other over the network API: TLS with the fleet's CA, a
// deploy user whose only right is to control web, and no sudo or ssh.

// fleetHost is one host of the fleet.
type fleetHost struct {
	name   string
	addr   string   // its address, as the admin (the test) reaches it
	prefix []string // runs a command on the host: ip netns exec NS
	d      *daemon
	web    string // the base URL of its starman
	api    string // the https:// URL of its control API
	cert   string // its server certificate and key files
	key    string
	load   *load
	tags   []string // the generations that served, the first one first
}

// fleetNetwork makes the hosts: as root each is a network namespace joined
// to the admin's (the test's) by a veth pair, with an address of its own
// and a loopback of its own; otherwise each is a loopback address.
func fleetNetwork(t *testing.T, names ...string) []*fleetHost {
	t.Helper()
	var hosts []*fleetHost
	if os.Geteuid() != 0 {
		t.Log("not root: the hosts are loopback addresses")
		for i, name := range names {
			hosts = append(hosts, &fleetHost{name: name, addr: fmt.Sprintf("127.0.0.%d", 2+i)})
		}
		return hosts
	}
	ip := testenv.LookPath(t, "ip", "apt-get install iproute2")
	sh := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(ip, args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	tag := os.Getpid() % 100000
	for i, name := range names {
		ns := fmt.Sprintf("drover-e2e-%d-%s", tag, name)
		outer, inner := fmt.Sprintf("dv%d%ch", tag, 'a'+i), fmt.Sprintf("dv%d%cn", tag, 'a'+i)
		subnet := fmt.Sprintf("10.213.%d", (tag%100)*2+i)
		sh("netns", "add", ns)
		t.Cleanup(func() { exec.Command(ip, "netns", "del", ns).Run() })
		sh("link", "add", outer, "type", "veth", "peer", "name", inner, "netns", ns)
		sh("addr", "add", subnet+".1/24", "dev", outer)
		sh("link", "set", outer, "up")
		sh("-n", ns, "addr", "add", subnet+".2/24", "dev", inner)
		sh("-n", ns, "link", "set", inner, "up")
		sh("-n", ns, "link", "set", "lo", "up")
		hosts = append(hosts, &fleetHost{name: name, addr: subnet + ".2", prefix: []string{ip, "netns", "exec", ns}})
	}
	return hosts
}

// fleetStarman is the starman of the zero-downtime suite.
func fleetStarman(t *testing.T) zdServer {
	t.Helper()
	for _, s := range zdServers {
		if s.name == "starman" {
			return s
		}
	}
	t.Fatal("no starman in zdServers")
	return zdServer{}
}

// fleetRounds is how many times each tool reloads the fleet.
const fleetRounds = 3

// fleetStall is the longest a fast-path request may wait during the
// reloads. A graceful stop/start behind the held socket (stopsignal QUIT,
// `restart` instead of `reload`) fails nothing but holds new clients for
// the drain and the boot: 280 ms measured. The hand-offs measure 13-26 ms,
// with `make test` running beside them.
const fleetStall = 100 * time.Millisecond

func TestE2EFleetRollingReload(t *testing.T) {
	playbook := testenv.LookPath(t, "ansible-playbook", "apt-get install ansible-core")
	hosts := fleetNetwork(t, "app01", "app02")
	ca, other := testpki.New(t, "fleet"), testpki.New(t, "other")
	secrets := t.TempDir()
	write := func(name, text string) string {
		t.Helper()
		p := filepath.Join(secrets, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const deployPassword = "correct horse battery staple"
	hash, err := bcrypt.GenerateFromPassword([]byte(deployPassword), bcrypt.DefaultCost)
	if err != nil {
		t.Fatal(err)
	}
	passwordFile := write("deploy.password", deployPassword+"\n")

	starman := fleetStarman(t)
	for _, h := range hosts {
		h.cert, h.key = ca.Issue(h.name, true, time.Now().Add(-time.Minute), time.Hour, net.ParseIP(h.addr))
		webPort, apiPort := freePort(t), freePort(t)
		_, section := starman.setup(t, "drover", webPort)
		section = strings.ReplaceAll(section, "tcp://127.0.0.1:", "tcp://"+h.addr+":")
		raw := fmt.Sprintf(`
[inet_http_server]
port = %s:%d
username = admin
password = {SHA}%s
tls_cert = %s
tls_key = %s

[user:deploy]
password = %s

[access:deploy]
users = deploy
control = web
%s`, h.addr, apiPort, sha1Hex("admin-secret"), h.cert, h.key, hash, section)
		h.d = startDaemon(t, "drover", config{Bare: true, Raw: raw, Prefix: h.prefix})
		h.web = fmt.Sprintf("http://%s:%d", h.addr, webPort)
		h.api = fmt.Sprintf("https://%s:%d", h.addr, apiPort)
	}
	for _, h := range hosts {
		h.d.waitLog(0, `success: web entered RUNNING`)
		h.load = startLoad(t, h.web, zdTag, 10*time.Minute)
		tag, err := h.load.settle(10, 30*time.Second)
		if err != nil {
			t.Fatalf("%s: %v", h.name, err)
		}
		h.tags = []string{tag}
	}

	// Each host must serve a new generation after its reload.
	next := func(h *fleetHost, how string) {
		t.Helper()
		tag, err := h.load.waitNewTag(h.tags, 5, 30*time.Second)
		if err != nil {
			t.Fatalf("%s after %s: %v", h.name, how, err)
		}
		h.tags = append(h.tags, tag)
	}
	tls := []string{"--cacert", ca.PEM, "-u", "deploy"}
	pw := []string{"DROVER_PASSWORD=" + deployPassword}

	// The rolling reload by Ansible: one host at a time (serial: 1), each
	// task run on the admin host (connection: local) as the deploy user,
	// without become.
	play := fleetPlaybook(t, hosts, ca.PEM, passwordFile)
	for round := range fleetRounds {
		r := hosts[0].d.runEnv([]string{"LC_ALL=C.UTF-8", "HOME=" + play.home, "ANSIBLE_LOCAL_TEMP=" + filepath.Join(play.home, "tmp"),
			"ANSIBLE_NOCOLOR=1", "ANSIBLE_RETRY_FILES_ENABLED=0"}, playbook, []string{"-i", play.inventory, play.playbook})
		if r.Code != 0 {
			t.Fatalf("ansible-playbook, round %d: %v", round+1, r)
		}
		if round == 0 {
			t.Logf("ansible-playbook's output:\n%s", r.Stdout)
			// serial: 1 runs the play once per host, app01's first.
			if i, j := strings.Index(r.Stdout, "changed: [app01]"), strings.Index(r.Stdout, "changed: [app02]"); i < 0 || j < i {
				t.Errorf("the play did not reload app01 then app02:\n%s", r.Stdout)
			}
		}
		for _, h := range hosts {
			next(h, fmt.Sprintf("ansible round %d", round+1))
		}
	}
	// The same by the drover CLI over TLS, the password from the
	// environment.
	for round := range fleetRounds {
		for _, h := range hosts {
			r := h.d.runEnv(pw, droverBin, append([]string{"reload", "-s", h.api}, append(tls, "web")...))
			if r.Code != 0 {
				t.Fatalf("drover reload on %s, round %d: %v", h.name, round+1, r)
			}
			next(h, fmt.Sprintf("drover reload round %d", round+1))
		}
	}
	for _, h := range hosts {
		rep := h.load.report()
		zdReportf(t, "seed 003, %s: %d rolling reloads (Ansible serial: 1, then the drover CLI over TLS): %v",
			h.name, 2*fleetRounds, rep)
		if rep.Failed != 0 || rep.Retried != 0 {
			t.Errorf("%s: %d requests failed, %d re-sent: %v %v\n%s", h.name, rep.Failed, rep.Retried, rep.Examples, rep.Resent,
				strings.Join(zdEvents(h.d), "\n"))
		}
		// No stall either (see fleetStall).
		if rep.Slowest > fleetStall {
			t.Errorf("%s: a fast request waited %v (at %s): a stall", h.name, rep.Slowest, rep.SlowestAt.Format("15:04:05.000"))
		}
		if len(h.tags) != 2*fleetRounds+1 {
			t.Errorf("%s served %d generations, want %d: %v", h.name, len(h.tags), 2*fleetRounds+1, h.tags)
		}
		for _, tag := range h.tags {
			if rep.Seen[tag] == 0 {
				t.Errorf("%s: generation %s never answered the load: %v", h.name, tag, rep.Seen)
			}
		}
		// Every reload is in the audit log, with who asked and from where.
		if n := len(regexp.MustCompile(`audit: deploy@[0-9.]+:\d+: drover\.reloadProcess web: OK`).FindAllString(h.d.output(), -1)); n != 2*fleetRounds {
			t.Errorf("%s: %d audited reloads, want %d:\n%s", h.name, n, 2*fleetRounds, h.d.output())
		}
	}

	// Refused: a client that does not trust the host's CA, the wrong
	// password, none, and a right the deploy user lacks.
	h := hosts[0]
	t.Logf("the hosts: %s at %s, %s at %s", hosts[0].name, hosts[0].addr, hosts[1].name, hosts[1].addr)
	refused := func(what string, env []string, want string, args ...string) {
		t.Helper()
		r := h.d.runEnv(env, droverBin, args)
		if r.Code == 0 || !strings.Contains(r.Stdout+r.Stderr, want) {
			t.Errorf("%s: want a failure saying %q, got %v", what, want, r)
		}
		t.Logf("%s: exit %d: %s", what, r.Code, strings.TrimSpace(r.Stdout+r.Stderr))
	}
	refused("another CA", pw, "certificate signed by unknown authority", "status", "-s", h.api, "--cacert", other.PEM, "-u", "deploy")
	refused("no CA (the system's roots)", pw, "certificate signed by unknown authority", "status", "-s", h.api, "-u", "deploy")
	refused("wrong password", []string{"DROVER_PASSWORD=wrong"}, "authentication", append([]string{"status", "-s", h.api}, tls...)...)
	refused("no password", []string{"DROVER_PASSWORD="}, "authentication", "status", "-s", h.api, "--cacert", ca.PEM)
	refused("shutdown by deploy", pw, "access denied: deploy@", append([]string{"shutdown", "-s", h.api}, tls...)...)
	if r := h.d.runEnv(pw, droverBin, append([]string{"status", "-s", h.api}, tls...)); !strings.Contains(r.Stdout, "RUNNING") {
		t.Errorf("the daemon does not answer after the refusals: %v", r)
	}

	// Guessing: ten failed logins from the admin's address lock it out
	// for a minute, the right password too. Loopback clients are never
	// locked out (every local user shares the address), so this needs the
	// namespaces' real addresses.
	if h.prefix != nil {
		for range 10 {
			h.d.runEnv([]string{"DROVER_PASSWORD=guess"}, droverBin, append([]string{"status", "-s", h.api}, tls...))
		}
		refused("the right password after ten guesses", pw, "429 Too Many Requests", append([]string{"status", "-s", h.api}, tls...)...)
	}

	// An expired certificate: app02's is replaced by one that ended an
	// hour ago and re-read on HUP; clients refuse it.
	h = hosts[1]
	expired, expiredKey := ca.Issue(h.name+"-expired", true, time.Now().Add(-2*time.Hour), time.Hour, net.ParseIP(h.addr))
	for src, dst := range map[string]string{expired: h.cert, expiredKey: h.key} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	m := h.d.mark()
	if err := h.d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	// The HUP re-reads the config, certificates included, before it logs
	// its update.
	h.d.waitLog(m, `received SIGHUP`, `update: added`)
	refused("an expired certificate", pw, "certificate has expired", append([]string{"status", "-s", h.api}, tls...)...)
}

// fleetPlay is a playbook, its inventory and a home for ansible.
type fleetPlay struct {
	home, inventory, playbook string
}

// fleetPlaybook writes the rolling reload as an operator would: an
// inventory of the hosts, each run locally on the admin host and reaching
// its host's drover over TLS, and a play reloading web one host at a time.
func fleetPlaybook(t *testing.T, hosts []*fleetHost, cacert, passwordFile string) fleetPlay {
	t.Helper()
	p := fleetPlay{home: t.TempDir()}
	var inv strings.Builder
	inv.WriteString("all:\n  vars:\n    ansible_connection: local\n    ansible_python_interpreter: /usr/bin/python3\n")
	fmt.Fprintf(&inv, "    drover: %s\n    drover_cacert: %s\n    drover_password_file: %s\n  hosts:\n", droverBin, cacert, passwordFile)
	for _, h := range hosts {
		fmt.Fprintf(&inv, "    %s:\n      drover_url: %s\n", h.name, h.api)
	}
	p.inventory = filepath.Join(p.home, "inventory.yml")
	p.playbook = filepath.Join(p.home, "reload.yml")
	for path, text := range map[string]string{p.inventory: inv.String(), p.playbook: fleetPlaybookText} {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// fleetPlaybookText is docs/access.md's rolling reload.
const fleetPlaybookText = `- name: reload web, one host at a time
  hosts: all
  serial: 1
  gather_facts: false
  tasks:
    - name: blue/green reload of web
      ansible.builtin.command: >-
        {{ drover }} reload -s {{ drover_url }} --cacert {{ drover_cacert }}
        -u deploy --password-file {{ drover_password_file }} web
`

// sha1Hex is supervisord's {SHA} password form, without the prefix.
func sha1Hex(s string) string {
	sum := sha1.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
