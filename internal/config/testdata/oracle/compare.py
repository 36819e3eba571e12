# Compares every testdata/cases/*.golden with what supervisor 4.2.5 itself
# makes of the same .conf (via oracle.py). Not run by go test (it needs
# Python and a supervisor checkout); run it after changing goldens:
#   SUPERVISOR_SRC=/path/to/supervisor-4.2.5 python3 compare.py
import json, os, subprocess, sys, glob
here = os.path.dirname(os.path.abspath(__file__))
cases = os.path.join(os.path.dirname(here), 'cases')
UID = {'root': 0, 'nobody': 65534, 'app': 1000, '0': 0}
env = ['HOME=/tmp', 'WORKERS=3', 'SECRET=hunter2', 'FLAG=yes', 'LEVEL=debug', 'COLON=a:b', 'SIG=usr1']
# Cases where drover differs from 4.2 on purpose (docs/config.md).
deliberate = {'err_env_hash', 'err_env_space', 'err_env_truncated', 'err_percent_s_trap', 'ini_bom',
              'err_group_duplicate', 'err_process_name_env_colon'}
# Same behaviour, different representation: 4.2 keeps '' where drover says NONE/AUTO.
representation = {'logfile_empty', 'serverurl'}
bad = 0
for conf in sorted(glob.glob(cases + '/*.conf')):
    name = os.path.basename(conf)[:-5]
    gold = json.load(open(cases + '/' + name + '.golden'))
    out = subprocess.run(['python3', os.path.join(here, 'oracle.py'), conf] + env, capture_output=True, text=True, cwd=cases)
    try:
        res = json.loads(out.stdout)
    except Exception:
        res = {'error': 'CRASH ' + out.stderr.strip().splitlines()[-1]}
    tag = '(deliberate)' if name in deliberate else ''
    if 'error' in res:
        if 'errors' not in gold:
            print('%s %s: 4.2 errors (%s), drover accepts %s' % ('DELIBERATE' if tag else 'MISMATCH', name, res['error'][:200], tag)); bad += name not in deliberate
        else:
            print('ok-err   %s: 4.2: %s' % (name, res['error'][:150]))
        continue
    if 'errors' in gold:
        print('%s %s: 4.2 accepts, drover errors %s: %s' % ('DELIBERATE' if tag else 'MISMATCH', name, tag, gold['errors'][0][:150])); bad += name not in deliberate
        continue
    g = json.loads(json.dumps(gold['parsed']).replace('<CASES>', cases))
    w = res['parsed']
    for k in ('logfile', 'pidfile'):
        v = w['supervisord'][k]
        if v != 'syslog': w['supervisord'][k] = os.path.normpath(os.path.join(cases, v))
    for grp in g['groups']:
        for p in grp['processes']:
            u = p.pop('user'); p['uid'] = UID.get(u) if u is not None else None
    diffs = []
    for sect in ('supervisord', 'servers', 'groups'):
        a, b = json.dumps(w[sect], sort_keys=True), json.dumps(g[sect], sort_keys=True)
        if a != b:
            # find differing leaf
            diffs.append((sect, a, b))
    if diffs and name in representation:
        print('ok-repr  %s (empty value shown as NONE/AUTO by drover; same behaviour)' % name)
    elif diffs:
        bad += 1
        print('MISMATCH %s:' % name)
        for s, a, b in diffs:
            import difflib
            for l in difflib.unified_diff(json.dumps(json.loads(a), indent=1, sort_keys=True).splitlines(), json.dumps(json.loads(b), indent=1, sort_keys=True).splitlines(), '4.2', 'drover', n=1, lineterm=''):
                print('   ', l)
    else:
        print('ok       %s  (4.2 warnings: %d, drover: %d)' % (name, len(res['warnings']), len(gold.get('warnings', []))))
print('bad:', bad)
