"""Print getAllConfigInfo's log paths before and after reloadConfig, as
JSON. Usage: configinfo.py SOCKET. The Go suite runs it against supervisord
and drover and compares the answers (AUTO paths normalized)."""
import json
import sys

import unixrpc

proxy = unixrpc.proxy(sys.argv[1])


def logs():
    return {c["group"] + ":" + c["name"]: [c["stdout_logfile"], c["stderr_logfile"], c["inuse"]]
            for c in proxy.supervisor.getAllConfigInfo()}


out = {"before": logs()}
proxy.supervisor.reloadConfig()
out["after"] = logs()
print(json.dumps(out, sort_keys=True))
