# Differential test: random configs (valid most of the time, with every
# dialect trick) read by supervisor 4.2.5 (oracle.py) and by `drover check
# --json`; prints every difference. Not run by go test. Usage:
#   go build -o /tmp/drover ./cmd/drover
#   SUPERVISOR_SRC=/path/to/supervisor-4.2.5 DROVER_BIN=/tmp/drover python3 random.py SEED COUNT
import random, subprocess, json, os, sys, tempfile
random.seed(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
ENV = {'HOME': '/tmp', 'WORKERS': '3', 'FLAG': 'yes', 'PATH': '/usr/bin:/bin'}
vals = {
 'command': ['/bin/echo hi', '/bin/sh -c "echo a ; echo b"', "/bin/echo 'x y' z", '/bin/echo %(program_name)s', '/bin/echo %(ENV_WORKERS)s', '/bin/echo 100%%', '/bin/echo %(process_num)02d', '/bin/echo #x', '/bin/echo a;b', '\n  /bin/echo\n  multi', '/bin/echo %(ENV_A)s', '/bin/echo "open'],
 'priority': ['1', '-5', '999', ' 7', '%(ENV_WORKERS)s', '1_0', 'x'],
 'autostart': ['true', 'NO', 'on', '0', '%(ENV_FLAG)s', 'maybe'],
 'autorestart': ['unexpected', 'TRUE', 'false', 'yes', 'sometimes'],
 'startsecs': ['0', '5', '-1', '1.5'],
 'startretries': ['0', '3', '100'],
 'exitcodes': ['0', '0,2', '0, 1 ,2', '', '256', '1,x'],
 'stopsignal': ['TERM', 'sigint', 'KILL', '9', 'HUP', 'usr2', 'WINCH', 'FOO', '0', '34'],
 'stopwaitsecs': ['10', '0', '3600'],
 'stopasgroup': ['true', 'false'],
 'killasgroup': ['true', 'false'],
 'redirect_stderr': ['true', 'false'],
 'numprocs': ['1', '2', '%(ENV_WORKERS)s', '0'],
 'numprocs_start': ['0', '5'],
 'process_name': ['%(program_name)s', '%(program_name)s_%(process_num)d', '%(program_name)s-%(process_num)02d', 'fixed', 'a b'],
 'environment': ['A=1', 'A="x y",B=2', "A='a,b';B=c,", 'A=1,', 'A="",B=x', 'A=/usr/bin:/bin', 'A=%(process_num)d', 'A=1,B="%(ENV_WORKERS)s"', 'A=x@y', 'A='],
 'directory': ['/tmp', '/nonexistent', '%(here)s'],
 'umask': ['022', '0o77', '7', '089'],
 'user': ['root', 'nobody', '0', 'nosuchuserx'],
 'stdout_logfile': ['AUTO', 'NONE', 'off', '/tmp/%(program_name)s.log', '/tmp/%(program_name)s-%(process_num)d.log', '/nonexistent/x.log', 'syslog', '~/x.log'],
 'stderr_logfile': ['AUTO', 'NONE', '/tmp/err.log'],
 'stdout_logfile_maxbytes': ['0', '50MB', '1500 KB', '1gb', '50M', '12'],
 'stdout_logfile_backups': ['0', '10', '-1'],
 'stdout_capture_maxbytes': ['0', '1MB'],
 'stdout_events_enabled': ['true', 'false'],
 'stderr_syslog': ['true', 'false'],
 'serverurl': ['AUTO', 'auto', 'http://127.0.0.1:9001'],
}
sd = {'logfile': ['/tmp/sd.log', 'syslog', '/tmp/a;b.log', '/tmp/x.log ; comment'], 'loglevel': ['info', 'WARN', 'debug', 'warning', 'blather'],
      'umask': ['022', '077'], 'nodaemon': ['true', 'false'], 'minfds': ['1024', '4096'], 'identifier': ['sup', '#user#', '%(here)s', '%(ENV_HOME)s'],
      'environment': ['A=1', 'A="x",G=g', "A='1,2'", 'A=%(ENV_WORKERS)s'], 'childlogdir': ['/tmp', '/nonexistent'], 'pidfile': ['/tmp/sd.pid']}
BAD = {'/bin/echo %(ENV_A)s', '/bin/echo "open', 'x', 'maybe', 'sometimes', '1.5', '256', '1,x', 'FOO', '0', 'a b', 'A=x@y', 'A=', '/nonexistent', '089', 'nosuchuserx', '/nonexistent/x.log', '50M', 'warning', '70000', 'NOPE', ''}
def pick(lst, key=None):
    good = [v for v in lst if v not in BAD or (key == 'numprocs' and v == '0') or (key in ('exitcodes','numprocs_start','startsecs','stopwaitsecs','startretries','stdout_logfile_maxbytes','stdout_logfile_backups','stdout_capture_maxbytes') and v == '0')]
    if random.random() < 0.06 or not good: return random.choice(lst)
    return random.choice(good)
def prog(name):
    lines = ['[program:%s]' % name]
    keys = random.sample(sorted(vals), random.randint(1, 8))
    if 'command' not in keys and random.random() < 0.9: keys.append('command')
    for k in keys:
        v = pick(vals[k], k)
        sep = random.choice(['=', ' = ', ':', '\t=\t', '='])
        kk = k if random.random() < 0.9 else k.upper()
        lines.append('%s%s%s' % (kk, sep, v))
    return lines
def conf():
    out = ['[supervisord]']
    for k in random.sample(sorted(sd), random.randint(0, 4)):
        out.append('%s=%s' % (k, pick(sd[k])))
    names = ['a', 'b', 'c', 'web']
    for n in random.sample(names, random.randint(1, 3)):
        out += prog(n)
    if random.random() < 0.3:
        out += ['[group:g]', 'programs=%s' % ','.join(random.sample(names, 2))]
    if random.random() < 0.2:
        out += ['[eventlistener:l]', 'command=/bin/l', 'events=%s' % pick(['PROCESS_STATE', 'tick_60,PROCESS_LOG', 'NOPE', ''])]
    if random.random() < 0.3:
        out += ['[inet_http_server]', 'port=%s' % pick(['127.0.0.1:9001', ':9002', '9003', 'x', '70000'])]
    if random.random() < 0.3:
        out += ['[unix_http_server]', 'file=/tmp/s.sock', 'chmod=%s' % pick(['0700', '0777', 'x'])]
    eol = random.choice(['\n', '\n', '\r\n'])
    return eol.join(out) + random.choice([eol, ''])
UID = {'root': 0, 'nobody': 65534, '0': 0}
HERE = os.path.dirname(os.path.abspath(__file__))
WORK = tempfile.mkdtemp(prefix='drover-random-')
DROVER = os.environ.get('DROVER_BIN', '/tmp/drover')
N = int(sys.argv[2]) if len(sys.argv) > 2 else 200
stats = {'same_ok': 0, 'same_err': 0, 'diff': 0}
for i in range(N):
    text = conf()
    path = os.path.join(WORK, 'c%d.conf' % i)
    open(path, 'w', newline='').write(text)
    envl = ['%s=%s' % kv for kv in ENV.items()]
    o = subprocess.run(['python3', os.path.join(HERE, 'oracle.py'), path] + envl, capture_output=True, text=True, cwd=WORK)
    try: orc = json.loads(o.stdout)
    except Exception: orc = {'error': 'CRASH ' + o.stderr[-300:]}
    d = subprocess.run([DROVER, 'check', '--json', '-c', path], capture_output=True, text=True, cwd=WORK, env=ENV)
    if 'error' in orc:
        if d.returncode == 2: stats['same_err'] += 1
        else:
            stats['diff'] += 1; print('== %s: 4.2 error %s; drover ok' % (path, orc['error'][:300]))
        continue
    if d.returncode != 0:
        stats['diff'] += 1; print('== %s: 4.2 ok; drover: %s' % (path, d.stderr[:400])); continue
    g = json.loads(d.stdout); w = orc['parsed']
    for k in ('logfile', 'pidfile'):
        v = w['supervisord'][k]
        if v != 'syslog': w['supervisord'][k] = os.path.normpath(os.path.join(WORK, v))
    for grp in g['groups']:
        for p in grp['processes']:
            u = p.pop('user'); p['uid'] = UID.get(u) if u is not None else None
            for k in ('stdout_logfile', 'stderr_logfile'):
                pass
    for grp in w['groups']:
        for p in grp['processes']:
            if p['serverurl'] == '': p['serverurl'] = None
            for k in ('stdout_logfile', 'stderr_logfile'):
                if p[k] == '': p[k] = 'NONE'
    for x in (w, g):
        for grp in x['groups']:
            grp['processes'].sort(key=lambda p: (p['priority'], p['name']))
    bad = False
    for s in ('supervisord', 'servers', 'groups'):
        if json.dumps(w[s], sort_keys=True) != json.dumps(g[s], sort_keys=True):
            bad = True
            import difflib
            print('== %s: %s differs' % (path, s))
            for l in difflib.unified_diff(json.dumps(w[s], indent=1, sort_keys=True).splitlines(), json.dumps(g[s], indent=1, sort_keys=True).splitlines(), '4.2', 'drover', n=2, lineterm=''):
                print('   ', l)
    stats['diff' if bad else 'same_ok'] += 1
print(stats)
