"""XML-RPC over a unix socket, for the suite's Python scripts (Python's
xmlrpc.client speaks only TCP): proxy(SOCKET) is a ServerProxy on it."""
import http.client
import socket
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


def proxy(path):
    return xmlrpc.client.ServerProxy("http://localhost", transport=UnixTransport(path))
