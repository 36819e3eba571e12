package logfile

import (
	"time"

	"golang.org/x/sys/unix"
)

// Period is a time-based rotation: a Writer with one rotates when an hour
// or a day (local time) begins, besides maxBytes.
type Period int

const (
	NoPeriod Period = iota
	Hourly
	Daily
)

// start is the beginning of the period t is in.
func (p Period) start(t time.Time) time.Time {
	y, mo, d := t.Date()
	if p == Hourly {
		return time.Date(y, mo, d, t.Hour(), 0, 0, 0, t.Location())
	}
	return time.Date(y, mo, d, 0, 0, 0, 0, t.Location())
}

// next is the beginning of the period after the one t is in.
func (p Period) next(t time.Time) time.Time {
	y, mo, d := t.Date()
	if p == Hourly {
		return time.Date(y, mo, d, t.Hour()+1, 0, 0, 0, t.Location())
	}
	return time.Date(y, mo, d+1, 0, 0, 0, 0, t.Location())
}

// Rotate rotates the file now with supervisord's naming (file.1, file.2
// …; with no backups it is emptied), as maxBytes would: drover logrotate.
// An empty file, or one that is not a regular file, is left alone. If the
// last write ended inside a line, the rotation waits for the write that
// ends it (at most lineSlack bytes later), so no line is split.
func (w *Writer) Rotate() error {
	w.mu.Lock()
	var r report
	if !w.closed && w.fd >= 0 && w.regular {
		if w.midLine {
			w.pendingAt = w.size
			w.rotatePending = true
		} else {
			w.forceRotateLocked(&r)
		}
	}
	w.mu.Unlock()
	r.emit(w)
	return r.failErr
}

// forceRotateLocked rotates a non-empty file whatever its size.
func (w *Writer) forceRotateLocked(r *report) {
	w.rotatePending = false
	var st unix.Stat_t
	if err := unix.Fstat(w.fd, &st); err == nil && st.Size == 0 {
		return
	}
	w.rotate(r)
	w.notifyLocked()
}

// RotateEvery makes w rotate when each period begins (one timer for the
// next boundary, re-armed when it fires; none for NoPeriod). A file last
// written before the current period began is rotated at once, so a
// program that was stopped over midnight starts a new file. Setting the
// same period again does nothing.
func (w *Writer) RotateEvery(p Period) {
	w.mu.Lock()
	var r report
	if w.closed || p == w.period {
		w.mu.Unlock()
		return
	}
	w.period = p
	if w.periodTimer != nil {
		w.periodTimer.Stop()
		w.periodTimer = nil
	}
	if p != NoPeriod {
		now := time.Now()
		var st unix.Stat_t
		if w.fd >= 0 && w.regular && unix.Fstat(w.fd, &st) == nil && st.Size > 0 &&
			time.Unix(st.Mtim.Unix()).Before(p.start(now)) {
			w.forceRotateLocked(&r)
		}
		w.armPeriodLocked(now)
	}
	w.mu.Unlock()
	r.emit(w)
}

func (w *Writer) armPeriodLocked(now time.Time) {
	w.periodTimer = time.AfterFunc(w.period.next(now).Sub(now), w.periodEnded)
}

// periodEnded rotates when a period begins and arms the next boundary.
func (w *Writer) periodEnded() {
	w.mu.Lock()
	var r report
	if w.closed || w.period == NoPeriod {
		w.mu.Unlock()
		return
	}
	if w.fd >= 0 && w.regular {
		if w.midLine {
			w.pendingAt = w.size
			w.rotatePending = true
		} else {
			w.forceRotateLocked(&r)
		}
	}
	w.armPeriodLocked(time.Now())
	w.mu.Unlock()
	r.emit(w)
}
