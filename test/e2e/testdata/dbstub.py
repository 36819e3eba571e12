# A database stand-in for the depends_on e2e test: it takes 2 s to start
# (as a database replaying its journal does), then listens on the port in
# argv[1] and accepts connections until SIGTERM.
import signal
import socket
import sys
import time

signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
time.sleep(2)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
print("dbstub: listening", flush=True)
while True:
    c, _ = s.accept()
    c.close()
