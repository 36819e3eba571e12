package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// childLifetime bounds how long a "child" lives if nobody kills it, so a
// harness that is itself killed cannot leave children behind for ever.
const childLifetime = time.Hour

// mono returns CLOCK_MONOTONIC in nanoseconds. It is system-wide, so stamps
// taken by the harness and by its children compare directly (Go's own
// monotonic reading is relative to each process's start).
func mono() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return time.Now().UnixNano() // never happens on Linux
	}
	return ts.Nano()
}

// notifyMessage is the datagram a child sends: "KIND PID STAMP".
func notifyMessage(kind string, pid int, stamp int64) []byte {
	return []byte(kind + " " + strconv.Itoa(pid) + " " + strconv.FormatInt(stamp, 10))
}

// sendNotify sends one datagram to the harness's socket at path.
func sendNotify(path, kind string) error {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("notify socket: %w", err)
	}
	defer unix.Close(fd)
	msg := notifyMessage(kind, os.Getpid(), mono())
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrUnix{Name: path}); err != nil {
		return fmt.Errorf("notify %s: %w", path, err)
	}
	return nil
}

// childMain runs the child modes. It returns the process exit status.
//
//	child SOCK             notify "start", then block (killed by the harness)
//	blip SOCK DURATION     notify "start", live DURATION, exit 0
//	produce SOCK TOTAL WS  notify "produce", write TOTAL bytes of 100-byte
//	                       lines to stdout in writes of WS bytes, exit 0
//	flood SOCK RATE        notify "flood", then write 100-byte lines to stdout
//	                       at RATE bytes/s until killed (see flood)
//	serve SOCK ADDR        the reload measurement's web app (see serveMain)
func childMain(args []string) int {
	if len(args) < 2 {
		fmt.Fprintln(os.Stderr, "droverbench: child modes need a socket path")
		return 2
	}
	mode, sock := args[0], args[1]
	switch mode {
	case "child":
		if err := sendNotify(sock, "start"); err != nil {
			fmt.Fprintln(os.Stderr, "droverbench:", err)
			return 1
		}
		time.Sleep(childLifetime)
		return 3
	case "blip":
		if len(args) != 3 {
			break
		}
		d, err := time.ParseDuration(args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, "droverbench:", err)
			return 2
		}
		if err := sendNotify(sock, "start"); err != nil {
			fmt.Fprintln(os.Stderr, "droverbench:", err)
			return 1
		}
		time.Sleep(d)
		return 0
	case "flood":
		if len(args) != 3 {
			break
		}
		rate, err := strconv.ParseInt(args[2], 10, 64)
		if err != nil || rate <= 0 {
			fmt.Fprintln(os.Stderr, "droverbench: flood needs RATE > 0 (bytes/s)")
			return 2
		}
		if err := sendNotify(sock, "flood"); err != nil {
			fmt.Fprintln(os.Stderr, "droverbench:", err)
			return 1
		}
		if err := flood(1, rate, childLifetime); err != nil {
			fmt.Fprintln(os.Stderr, "droverbench:", err)
			return 1
		}
		return 0
	case "serve":
		if len(args) != 3 {
			break
		}
		return serveMain(sock, args[2])
	case "produce":
		if len(args) != 4 {
			break
		}
		total, err1 := strconv.ParseInt(args[2], 10, 64)
		ws, err2 := strconv.Atoi(args[3])
		if err := errors.Join(err1, err2); err != nil || total < 0 || ws <= 0 {
			fmt.Fprintln(os.Stderr, "droverbench: produce needs TOTAL >= 0 and WRITESIZE > 0")
			return 2
		}
		if err := sendNotify(sock, "produce"); err != nil {
			fmt.Fprintln(os.Stderr, "droverbench:", err)
			return 1
		}
		if err := produce(1, total, ws); err != nil {
			fmt.Fprintln(os.Stderr, "droverbench:", err)
			return 1
		}
		return 0
	}
	fmt.Fprintf(os.Stderr, "droverbench: bad arguments for %s\n", mode)
	return 2
}

// lineBuffer returns n bytes made of 100-byte lines ("x"*99 + "\n").
func lineBuffer(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		if i%100 == 99 {
			b[i] = '\n'
		} else {
			b[i] = 'x'
		}
	}
	return b
}

// produce writes total bytes to fd, one write(2) of ws bytes at a time
// (the last write may be shorter); the bytes form one stream of 100-byte
// lines whatever ws is. Short writes are completed.
func produce(fd int, total int64, ws int) error {
	buf := lineBuffer(ws + 100)
	var written int64
	for total > 0 {
		n := int64(ws)
		if total < n {
			n = total
		}
		off := written % 100
		written += n
		p := buf[off : off+n]
		for len(p) > 0 {
			w, err := unix.Write(fd, p)
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil {
				return fmt.Errorf("write stdout: %w", err)
			}
			p = p[w:]
		}
		total -= n
	}
	return nil
}

// floodWrite is the size of each write of a flood: 40 lines, the size of
// a busy program's buffered stdout flush.
const floodWrite = 4000

// flood writes 100-byte lines to fd at rate bytes/s for at most d: every
// millisecond it writes what is due by then, in floodWrite-byte writes.
// A reader slower than rate blocks it (a full pipe), and it then catches
// up in a burst, as a real program's buffered output does. The ticker is
// the load's pacing, not synchronisation.
func flood(fd int, rate int64, d time.Duration) error {
	buf := lineBuffer(floodWrite)
	start := time.Now()
	var written int64
	tk := time.NewTicker(time.Millisecond)
	defer tk.Stop()
	for range tk.C {
		el := time.Since(start)
		if el > d {
			return nil
		}
		due := int64(float64(rate) * el.Seconds())
		for written+floodWrite <= due {
			for p := buf; len(p) > 0; {
				w, err := unix.Write(fd, p)
				if errors.Is(err, unix.EINTR) {
					continue
				}
				if err != nil {
					return fmt.Errorf("write stdout: %w", err)
				}
				p = p[w:]
			}
			written += floodWrite
		}
	}
	return nil
}
