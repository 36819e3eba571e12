package daemon

import (
	"context"
	"errors"
	"fmt"

	"github.com/drover-sh/drover/internal/access"
	"github.com/drover-sh/drover/internal/config"
	"github.com/drover-sh/drover/internal/events"
	"github.com/drover-sh/drover/internal/rpc"
	"github.com/drover-sh/drover/internal/supervisor"
)

// The config lifecycle: one goroutine (loop) runs the supervisors one after
// another and applies every change of config to them in the order asked,
// one at a time. HUP (apply the config like update), reread (reloadConfig),
// restart (supervisorctl reload: a new supervisor on the re-read config)
// and shutdown arrive as messages; none of them runs on a goroutine of its
// own beside another. An HUP's update is the one long step (it waits for
// stops): it runs on a worker goroutine, but never two at once and never
// beside the next supervisor, and HUPs that come meanwhile are applied
// after it, as one.

// lifecycleKind is what a lifecycle request asks.
type lifecycleKind int

const (
	reqHUP      lifecycleKind = iota // apply the config file (update)
	reqReread                        // read the config file (reloadConfig)
	reqRestart                       // restart the supervisor on a re-read config
	reqShutdown                      // stop everything and exit
	reqUpgrade                       // exec a new image in place (upgrade.go)
)

// lifecycleReq is one request; reply, when set, gets the outcome.
type lifecycleReq struct {
	kind  lifecycleKind
	reply chan<- lifecycleRes
	path  string // reqUpgrade: the new binary
	// format is the handover format the new binary's preflight accepted
	// (reqUpgrade).
	format int
}

type lifecycleRes struct {
	cfg *config.Config // reqReread: the config read
	err error
}

// errExiting answers requests that come after loop returned.
var errExiting = supervisor.NewFault(supervisor.CodeShutdownState, "")

// ask sends a request to loop and waits for its reply.
func (d *daemon) ask(ctx context.Context, kind lifecycleKind) (lifecycleRes, error) {
	reply := make(chan lifecycleRes, 1)
	select {
	case d.lifecycle <- lifecycleReq{kind: kind, reply: reply}:
	case <-d.loopDone:
		return lifecycleRes{}, errExiting
	case <-ctx.Done():
		return lifecycleRes{}, ctx.Err()
	}
	select {
	case r := <-reply:
		return r, nil
	case <-d.loopDone:
		return lifecycleRes{}, errExiting
	case <-ctx.Done():
		return lifecycleRes{}, ctx.Err()
	}
}

// tell sends a request to loop without waiting for its outcome (signals,
// and shutdown and restart over the API, which answer at once as
// supervisord does). After loop returned it is dropped.
func (d *daemon) tell(kind lifecycleKind) {
	select {
	case d.lifecycle <- lifecycleReq{kind: kind}:
	case <-d.loopDone:
	}
}

// loop runs supervisors until a shutdown: a restart ends one supervisor
// after its ordered stop and starts the next on the re-read config, in the
// same process, with the listening sockets handed over.
func (d *daemon) loop(ctx context.Context) error {
	defer close(d.loopDone)
	cur := d.now.Load() // the first supervisor, built by setup
	hup := false        // an HUP waits to be applied
	for {
		sup, ev := cur.sup, cur.ev
		go ev.Run()
		sup.Observe(func(e supervisor.Event) {
			ev.Observe(e)
			d.server.PublishEvent(e) // GET /events
			if stateMatters(e) {
				if stateCanWait(e) {
					d.kickStateSoon()
				} else {
					d.kickState()
				}
			}
			d.sd.observe(e)
		})
		d.kickState() // taken-over processes change no state
		runErr := make(chan error, 1)
		go func() { runErr <- sup.Run(ctx) }()
		if d.sd != nil {
			// Run answers calls only after its start pass.
			go func() {
				if _, err := sup.State(ctx); err == nil {
					d.sd.passRan()
				}
			}()
		}
		var (
			stopping bool
			updating chan struct{} // closed when the HUP's update ended
			err      error
		)
	serve:
		for {
			if hup && updating == nil && !stopping {
				hup = false
				updating = d.applyConfigChanges(sup)
			}
			select {
			case r := <-d.lifecycle:
				switch r.kind {
				case reqHUP:
					hup = true
				case reqReread:
					cfg, err := d.reread()
					r.answer(lifecycleRes{cfg: cfg, err: err})
				case reqRestart, reqShutdown:
					// A shutdown during a restart turns it into one; a
					// restart during a shutdown is refused by the
					// supervisor (SHUTDOWN_STATE).
					err := sup.BeginStop(ctx, r.kind == reqRestart)
					stopping = stopping || err == nil
					r.answer(lifecycleRes{err: err})
				case reqUpgrade:
					if updating != nil || stopping {
						r.answer(lifecycleRes{err: errors.New("an update, restart or shutdown is under way")})
						continue
					}
					d.upgrade(sup, r) // returns only if the upgrade did not happen
				}
			case <-updating:
				updating = nil
			case err = <-runErr:
				break serve
			}
		}
		if updating != nil {
			<-updating // its supervisor is done: it ends at once
		}
		sup.Observe(nil)
		ev.Close()
		if !errors.Is(err, supervisor.ErrRestart) {
			sup.Handover(nil)
			d.sd.shutdown()
			d.log.Info("exiting")
			return err
		}
		next, lerr := d.load()
		if lerr != nil {
			d.log.Error(fmt.Sprintf("could not reload the configuration, keeping the previous one: %v", lerr))
			next = d.lastRead()
		}
		d.cleanupAuto(&next.Supervisord)
		cur = d.newSupervisor(next, sup)
		d.rebindControl(next)
	}
}

// rebindControl applies a restart's [unix_http_server] and
// [inet_http_server] sections (file, chmod, chown, port, credentials, TLS
// files) as supervisord 4.2.5 does, which makes its HTTP servers anew at
// every restart; unchanged servers keep their connections.
func (d *daemon) rebindControl(cfg *config.Config) {
	bound, err := d.server.Rebind(listeners(cfg.Servers))
	for _, b := range bound {
		d.log.Info("control server " + b)
	}
	if err != nil {
		d.log.Error(fmt.Sprintf("could not start the control server: %v", err))
	}
}

func (r lifecycleReq) answer(res lifecycleRes) {
	if r.reply != nil {
		r.reply <- res
	}
}

// newSupervisor builds the supervisor of cfg with its own event
// dispatcher and Host (so a restart applies a changed [supervisord]),
// takes over prev's listening sockets, and publishes it; loop runs it.
func (d *daemon) newSupervisor(cfg *config.Config, prev *supervisor.Supervisor) *current {
	opt := events.Options{Identifier: cfg.Supervisord.Identifier, Log: d.log}
	if d.handed != nil {
		// The first supervisor of an upgraded image goes on from there.
		opt.Restore, d.handed.Events = d.handed.Events, nil
	}
	ev := events.New(opt)
	sup := supervisor.New(cfg, d.host.forSupervisor(cfg, ev), d.log)
	if prev != nil {
		prev.Handover(sup)
	}
	d.sd.startPass(cfg)
	cur := &current{cfg: cfg, last: cfg, sup: sup, ev: ev}
	d.now.Store(cur)
	d.markSupReady()
	d.applyControl(cfg, prev != nil)
	return cur
}

// applyControl gives the control API cfg's network users and access
// rules, and re-reads the TLS certificates unless fresh (just loaded by
// Listen). They have no process to restart, so they apply as soon as a
// config is read: start, restart, HUP, and reread (update).
func (d *daemon) applyControl(cfg *config.Config, reloadTLS bool) {
	users := make([]rpc.NetUser, len(cfg.Access.Users))
	for i, u := range cfg.Access.Users {
		users[i] = rpc.NetUser{Name: u.Name, Password: u.Password}
	}
	d.server.SetAccess(rpc.Access{Users: users, Policy: access.New(cfg.Access)})
	if !reloadTLS {
		return
	}
	if err := d.server.ReloadTLS(); err != nil {
		d.log.Error(fmt.Sprintf("could not reload TLS certificates, keeping the current ones: %v", err))
	}
}

// reread parses the config again, keeps it as the last read one and
// applies its control settings (lifecycle goroutine only).
func (d *daemon) reread() (*config.Config, error) {
	cfg, err := d.load()
	if err != nil {
		return nil, err
	}
	now := *d.now.Load()
	now.last = cfg
	d.now.Store(&now)
	d.applyControl(cfg, true)
	return cfg, nil
}

// applyConfigChanges re-reads the config (lifecycle goroutine) and applies
// it to sup like `update` on a worker goroutine: only added, changed and
// removed groups are touched. A broken config keeps the running one and
// logs the error with file:line. The returned channel closes when it is
// done.
func (d *daemon) applyConfigChanges(sup *supervisor.Supervisor) chan struct{} {
	done := make(chan struct{})
	reloaded := d.sd.reloading()
	cfg, err := d.reread()
	if err != nil {
		d.log.Error(fmt.Sprintf("could not apply the configuration, keeping the running one: %v", err))
		reloaded()
		close(done)
		return done
	}
	d.log.Debug("update: applying " + d.path)
	go func() {
		defer close(done)
		defer reloaded()
		r, err := sup.Update(context.Background(), cfg, nil)
		if err != nil {
			d.log.Error(fmt.Sprintf("update: %v", err))
		}
		d.log.Info(fmt.Sprintf("update: added %v, changed %v, removed %v", r.Added, r.Changed, r.Removed))
		if len(r.HandedOff) > 0 {
			d.log.Info(fmt.Sprintf("update: handed off %v to their new config without a restart", r.HandedOff))
		}
		for _, f := range r.Failed {
			d.log.Error(fmt.Sprintf("update: %s: %s", f.Name, f.Description))
		}
	}()
	return done
}
