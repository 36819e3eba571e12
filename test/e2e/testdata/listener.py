"""An event listener built on supervisor.childutils, as superlance's are.

For every event it prints "EVENT <serial> <poolserial> <eventname> <payload>"
to stderr (newlines in the payload as \\n), then answers OK; the first event
whose payload contains "reject-once" is answered FAIL instead, and one whose
payload contains "slow" is answered after 1.5 s.
"""
import sys
import time

from supervisor import childutils


def main():
    rejected = False
    while True:
        headers, payload = childutils.listener.wait(sys.stdin, sys.stdout)
        sys.stderr.write('EVENT %s %s %s %s\n' % (
            headers['serial'], headers['poolserial'], headers['eventname'],
            payload.replace('\n', '\\n')))
        sys.stderr.flush()
        if 'slow' in payload:
            time.sleep(1.5)
        if 'reject-once' in payload and not rejected:
            rejected = True
            childutils.listener.fail(sys.stdout)
        else:
            childutils.listener.ok(sys.stdout)


if __name__ == '__main__':
    main()
