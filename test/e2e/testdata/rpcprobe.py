"""Call every supervisor.* and system.* method with wrong argument counts
and wrong types over a unix socket, and print one JSON object per call.

Usage: rpcprobe.py SOCKET DIR. The Go suite runs it against supervisord and
drover and compares the answers. Base arguments are chosen so that no call
changes the daemon's state (names of stopped or already running processes).
"""
import json
import re
import sys
import xmlrpc.client

import unixrpc

SOCK, DIR = sys.argv[1], sys.argv[2]
proxy = unixrpc.proxy(SOCK)

S, I, B, A, T = "string", "int", "boolean", "array", "struct"

# name -> (param types, base args that change nothing, whether type
# mutations are safe). A None base means only argument counts are probed.
METHODS = {
    "supervisor.getAPIVersion": ([], []),
    "supervisor.getVersion": ([], []),
    "supervisor.getSupervisorVersion": ([], []),
    "supervisor.getIdentification": ([], []),
    "supervisor.getState": ([], []),
    "supervisor.getPID": ([], []),
    "supervisor.readLog": ([I, I], [0, 10]),
    "supervisor.readMainLog": ([I, I], [0, 10]),
    "supervisor.clearLog": ([], None),
    "supervisor.shutdown": ([], None),
    "supervisor.restart": ([], None),
    "supervisor.reloadConfig": ([], []),
    "supervisor.addProcessGroup": ([S], ["g"]),
    "supervisor.removeProcessGroup": ([S], ["g"]),
    "supervisor.startProcess": ([S, B], ["sleeper", True]),
    "supervisor.startProcessGroup": ([S, B], ["g", True]),
    "supervisor.startAllProcesses": ([B], None),
    "supervisor.stopProcess": ([S, B], ["manual", True]),
    "supervisor.stopProcessGroup": ([S, B], ["manual", True]),
    "supervisor.stopAllProcesses": ([B], None),
    "supervisor.signalProcess": ([S, S], ["manual", "HUP"]),
    "supervisor.signalProcessGroup": ([S, S], ["manual", "HUP"]),
    "supervisor.signalAllProcesses": ([S], None),
    "supervisor.getAllConfigInfo": ([], []),
    "supervisor.getProcessInfo": ([S], ["sleeper"]),
    "supervisor.getAllProcessInfo": ([], []),
    "supervisor.readProcessLog": ([S, I, I], ["talker", 0, 10]),
    "supervisor.readProcessStdoutLog": ([S, I, I], ["talker", 0, 10]),
    "supervisor.readProcessStderrLog": ([S, I, I], ["talker", 0, 10]),
    "supervisor.tailProcessLog": ([S, I, I], ["talker", 0, 10]),
    "supervisor.tailProcessStdoutLog": ([S, I, I], ["talker", 0, 10]),
    "supervisor.tailProcessStderrLog": ([S, I, I], ["talker", 0, 10]),
    "supervisor.clearProcessLog": ([S], ["manual"]),
    "supervisor.clearProcessLogs": ([S], ["manual"]),
    "supervisor.clearAllProcessLogs": ([], None),
    "supervisor.sendProcessStdin": ([S, S], ["manual", "x"]),
    "supervisor.sendRemoteCommEvent": ([S, S], ["type", "data"]),
    "system.listMethods": ([], []),
    "system.methodHelp": ([S], ["supervisor.getState"]),
    "system.methodSignature": ([S], ["supervisor.getState"]),
    "system.multicall": ([A], [[]]),
}

# Wrong values per declared type. Doubles and booleans are never given as
# signals: int(1.5) would be SIGHUP to supervisord.
WRONG = {
    S: [5, [], {}],
    I: ["abc", 1.5, [], True],
    B: ["yes", [], 2],
    A: ["x", 5, {}],
}

EXTRA = [
    ("supervisor.nope", []),
    ("system.nope", []),
    ("nope", []),
    ("a.b.c", []),
    ("supervisor._dispatch", []),
    ("supervisor.getState.x", []),
    ("system.methodHelp", ["nope.nope"]),
    ("system.methodSignature", ["nope.nope"]),
    ("system.methodHelp", ["system.multicall"]),
    ("system.multicall", [[{"methodName": "system.multicall", "params": [[]]}]]),
    ("system.multicall", [[{"params": []}]]),
    ("system.multicall", [[{"methodName": 5}]]),
    ("system.multicall", [[5]]),
    ("system.multicall", [[{"methodName": "supervisor.getAPIVersion"},
                           {"methodName": "supervisor.getProcessInfo", "params": ["nope"]},
                           {"methodName": "supervisor.nope"},
                           {"methodName": "supervisor.readLog", "params": ["abc", 0]}]]),
    ("supervisor.readLog", [-5, 0]),
    ("supervisor.readLog", [-5, 3]),
    ("supervisor.readLog", [0, -1]),
    ("supervisor.readProcessStderrLog", ["talker", 0, 0]),
    ("supervisor.readProcessStdoutLog", ["g:*", 0, 10]),
    ("supervisor.readProcessStdoutLog", ["nope", 0, 10]),
    ("supervisor.tailProcessStderrLog", ["talker", 0, 5]),
    ("supervisor.tailProcessStdoutLog", ["g:ga", 0, 5]),
    ("supervisor.getProcessInfo", ["g:*"]),
    ("supervisor.getProcessInfo", ["g:ga"]),
    ("supervisor.getProcessInfo", ["missing"]),
    ("supervisor.getProcessInfo", ["quick"]),
    ("supervisor.getProcessInfo", ["nope"]),
    ("supervisor.getProcessInfo", ["g:"]),
    ("supervisor.startProcess", ["nope"]),
    ("supervisor.startProcess", ["missing"]),
    ("supervisor.startProcess", ["g:*", True]),
    ("supervisor.stopProcess", ["nope"]),
    ("supervisor.stopProcess", ["manual:*"]),
    ("supervisor.signalProcess", ["manual", "BOGUS"]),
    ("supervisor.signalProcess", ["sleeper", "BOGUS"]),
    ("supervisor.signalProcess", ["sleeper", "0"]),
    ("supervisor.signalProcess", ["nope", "HUP"]),
    ("supervisor.signalProcessGroup", ["nope", "HUP"]),
    ("supervisor.stopProcessGroup", ["nope"]),
    ("supervisor.startProcessGroup", ["nope"]),
    ("supervisor.addProcessGroup", ["nope"]),
    ("supervisor.removeProcessGroup", ["nope"]),
    ("supervisor.clearProcessLogs", ["nope"]),
    ("supervisor.sendProcessStdin", ["nope", "x"]),
    ("supervisor.sendProcessStdin", ["sleeper", ""]),
    ("supervisor.sendProcessStdin", ["sleeper", "hello\n"]),
    ("supervisor.sendProcessStdin", ["g:*", "x"]),
    ("supervisor.getProcessInfo", ["talker"]),
    ("supervisor.getProcessInfo", ["manual"]),
    ("supervisor.tailProcessStdoutLog", ["manual", 0, 100]),
    ("supervisor.readProcessStdoutLog", ["manual", 0, 0]),
    ("supervisor.readProcessStdoutLog", ["talker", -11, 0]),
    ("supervisor.readProcessStdoutLog", ["talker", 1000, 0]),
    ("supervisor.tailProcessStdoutLog", ["talker", 1000, 10]),
]


def canon(v):
    """Keep what both daemons must agree on: types, keys and stable values."""
    if isinstance(v, dict):
        # A pid is any number: on a fresh machine it can be under 1000.
        return {k: ("PID" if k == "pid" and isinstance(x, int) and x > 0 else canon(x))
                for k, x in sorted(v.items())}
    if isinstance(v, list):
        return [canon(x) for x in v]
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return v if abs(v) < 1000 else "INT"
    if isinstance(v, str):
        v = v.replace(DIR, "$DIR")
        v = re.sub(r"uptime \d+:\d\d:\d\d", "uptime H:MM:SS", v)
        v = re.sub(r"\bpid \d+", "pid N", v)
        v = re.sub(r"---e2e-[A-Za-z0-9_]+\.log", "---e2e-AUTO.log", v)
        return re.sub(r"\d{3,}", "N", v)
    return repr(type(v))


# The main logs of the two daemons differ in content: only the type counts.
MAINLOG = {"supervisor.readLog", "supervisor.readMainLog"}


def call(name, args):
    try:
        v = proxy._ServerProxy__request(name, tuple(args))
        if name in MAINLOG:
            return {"ok": type(v).__name__}
        if name == "supervisor.getPID":
            return {"ok": "PID" if isinstance(v, int) and v > 0 else canon(v)}
        if name == "system.listMethods":
            v = [m for m in v if not m.startswith("drover.")]
        return {"ok": canon(v)}
    except xmlrpc.client.Fault as f:
        return {"fault": [f.faultCode, canon(f.faultString)]}
    except xmlrpc.client.ProtocolError as e:
        return {"http": e.errcode}
    except Exception as e:  # a reply the client could not parse
        return {"error": type(e).__name__}


def probe(kind, name, args):
    """kind: base (right arguments), count, type (one wrong type), extra."""
    print(json.dumps({"kind": kind, "call": "%s%s" % (name, json.dumps(args)),
                      "answer": call(name, args)}))
    sys.stdout.flush()


methods = proxy.system.listMethods()
# drover's own namespace (zero-downtime reloads) is an addition.
ext = sorted(m for m in methods if m.startswith("drover."))
print(json.dumps({"kind": "extension", "call": "drover.* methods", "answer": ext}))
methods = [m for m in methods if not m.startswith("drover.")]
for m in sorted(set(methods) ^ set(METHODS)):
    print(json.dumps({"call": "listMethods: " + m, "answer": {"unprobed": m in methods}}))

# Methods whose last parameter (wait) may be left out.
OPTIONAL_LAST = {"supervisor.startProcess", "supervisor.startProcessGroup",
                 "supervisor.startAllProcesses", "supervisor.stopProcess",
                 "supervisor.stopProcessGroup", "supervisor.stopAllProcesses"}

for name, (types, base) in METHODS.items():
    if base is not None:
        probe("base", name, base)
    filler = base if base is not None else [1] * len(types)
    probe("count", name, filler + [1])  # one too many
    required = len(types) - (name in OPTIONAL_LAST)
    if required > 0:
        probe("count", name, filler[:required - 1])  # one too few
    if base is None:
        continue
    for i, t in enumerate(types):
        for w in WRONG[t]:
            probe("type", name, base[:i] + [w] + base[i + 1:])

for name, args in EXTRA:
    probe("extra", name, args)
