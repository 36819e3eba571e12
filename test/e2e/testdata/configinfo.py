"""Print getAllConfigInfo's log paths before and after reloadConfig, as
JSON. Usage: configinfo.py SOCKET. The Go suite runs it against supervisord
and drover and compares the answers (AUTO paths normalized)."""
import http.client
import json
import socket
import sys
import xmlrpc.client


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost")
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(30)
        s.connect(self.unix_path)
        self.sock = s


class UnixTransport(xmlrpc.client.Transport):
    def __init__(self, path):
        super().__init__()
        self.unix_path = path

    def make_connection(self, host):
        return UnixConnection(self.unix_path)


proxy = xmlrpc.client.ServerProxy("http://localhost", transport=UnixTransport(sys.argv[1]))


def logs():
    return {c["group"] + ":" + c["name"]: [c["stdout_logfile"], c["stderr_logfile"], c["inuse"]]
            for c in proxy.supervisor.getAllConfigInfo()}


out = {"before": logs()}
proxy.supervisor.reloadConfig()
out["after"] = logs()
print(json.dumps(out, sort_keys=True))
