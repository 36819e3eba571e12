# Runs supervisor 4.2.5's read_config on a file and prints drover's Dump form.
# Usage: SUPERVISOR_SRC=<checkout of supervisor tag 4.2.5> python3 oracle.py FILE [KEY=VALUE...]
# It monkeypatches the user/group database and platform.node() to match
# the Go tests' testHost, so results compare directly.
import sys, os, json, platform, signal
sys.path.insert(0, os.environ.get('SUPERVISOR_SRC', '/tmp/sup425'))
from supervisor import datatypes, options
import pwd as realpwd, grp as realgrp

class PW:
    def __init__(s, name, uid, gid, home): s.pw_name=name; s.pw_uid=uid; s.pw_gid=gid; s.pw_dir=home
    def __getitem__(s, i): return [s.pw_name, 'x', s.pw_uid, s.pw_gid, '', s.pw_dir, ''][i]
USERS = {'root': PW('root',0,0,'/root'), 'nobody': PW('nobody',65534,65534,'/nonexistent'), 'app': PW('app',1000,1000,'/home/app')}
class FakePwd:
    def getpwnam(self, n):
        if n in USERS: return USERS[n]
        raise KeyError(n)
    def getpwuid(self, u):
        for p in USERS.values():
            if p.pw_uid == u: return p
        raise KeyError(u)
class G:
    def __init__(s, gid): s.gr_gid = gid
    def __getitem__(s, i): return [None, None, s.gr_gid][i]
GROUPS = {'root': 0, 'nogroup': 65534, 'app': 1000}
class FakeGrp:
    def getgrnam(self, n):
        if n in GROUPS: return G(GROUPS[n])
        raise KeyError(n)
    def getgrgid(self, g):
        if g in GROUPS.values(): return G(g)
        raise KeyError(g)
datatypes.pwd = FakePwd(); datatypes.grp = FakeGrp()
platform.node = lambda: 'testhost'

def main(path, env):
    os.environ.clear(); os.environ.update(env)
    o = options.ServerOptions()
    o.configfile = path
    o.here = os.path.abspath(os.path.dirname(path))
    try:
        sec = o.read_config(path)
    except Exception as e:
        print(json.dumps({'error': '%s: %s' % (type(e).__name__, e)}))
        return
    def lf(v):
        if v is datatypes.Automatic: return 'AUTO'
        if v is None: return 'NONE'
        return v
    groups = []
    for g in sec.process_group_configs:
        d = {'name': g.name, 'priority': g.priority, 'type': type(g).__name__, 'processes': []}
        if type(g).__name__ == 'EventListenerPoolConfig':
            d['buffer_size'] = g.buffer_size; d['events'] = sorted(e.__name__ for e in g.pool_events)
        if type(g).__name__ == 'FastCGIGroupConfig':
            d['socket'] = g.socket_config.url
        for p in g.process_configs:
            ar = p.autorestart
            ar = 'true' if ar is datatypes.RestartUnconditionally else ('unexpected' if ar is datatypes.RestartWhenExitUnexpected else 'false')
            d['processes'].append({'autorestart': ar, 'autostart': p.autostart, 'command': p.command, 'directory': p.directory,
              'environment': p.environment, 'exitcodes': p.exitcodes, 'killasgroup': p.killasgroup, 'name': p.name,
              'priority': p.priority, 'redirect_stderr': p.redirect_stderr, 'serverurl': p.serverurl,
              'startretries': p.startretries, 'startsecs': p.startsecs,
              'stderr_logfile': lf(p.stderr_logfile), 'stderr_logfile_backups': p.stderr_logfile_backups,
              'stderr_logfile_maxbytes': p.stderr_logfile_maxbytes, 'stderr_syslog': p.stderr_syslog,
              'stdout_capture_maxbytes': p.stdout_capture_maxbytes, 'stdout_events_enabled': p.stdout_events_enabled,
              'stdout_logfile': lf(p.stdout_logfile), 'stdout_logfile_backups': p.stdout_logfile_backups,
              'stdout_logfile_maxbytes': p.stdout_logfile_maxbytes, 'stdout_syslog': p.stdout_syslog,
              'stopasgroup': p.stopasgroup, 'stopsignal': signal.Signals(p.stopsignal).name, 'stopwaitsecs': p.stopwaitsecs,
              'umask': oct(p.umask) if p.umask is not None else None, 'uid': p.uid})
        groups.append(d)
    servers = []
    for s in sec.server_configs:
        d = {'family': int(s['family']), 'name': s['name'], 'section': s['section'], 'username': s['username']}
        if 'file' in s: d.update(file=s['file'], chmod=s['chmod'], chown='(%d, %d)' % s['chown'])
        else: d.update(host=s['host'], port=s['port'])
        servers.append(d)
    sd = {k: getattr(sec, k) for k in ['childlogdir','directory','environment','identifier','logfile','logfile_backups','logfile_maxbytes','minfds','minprocs','nocleanup','nodaemon','pidfile','silent','strip_ansi','user']}
    from supervisor.loggers import LOG_LEVELS_BY_NUM
    sd['loglevel'] = {50:'critical',40:'error',30:'warn',20:'info',10:'debug',5:'trace',3:'blather'}[sec.loglevel]
    sd['umask'] = oct(sec.umask)
    print(json.dumps({'parsed': {'supervisord': sd, 'servers': servers, 'groups': groups}, 'warnings': o.parse_warnings}, default=str))

env = dict(kv.split('=', 1) for kv in sys.argv[2:])
main(sys.argv[1], env)
