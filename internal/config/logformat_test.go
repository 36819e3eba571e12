package config

import (
	"strings"
	"testing"
)

func TestLineFormat(t *testing.T) {
	for _, c := range []struct {
		body           string
		stdout, stderr LineFormat
		warn           string
	}{
		{"", LineFormat{}, LineFormat{}, ""},
		{"stdout_timestamps = true\n", LineFormat{Timestamps: true, TimeLayout: "2006-01-02T15:04:05.000Z07:00"}, LineFormat{}, ""},
		{"stderr_logformat = JSON\nlog_timestamp_format = unix\n", LineFormat{}, LineFormat{JSON: true, UnixTime: true}, ""},
		{"stdout_logformat = text\nstdout_timestamps = true\nlog_timestamp_format = 15:04:05.000\n", LineFormat{Timestamps: true, TimeLayout: "15:04:05.000"}, LineFormat{}, ""},
		{"stdout_logformat = json\nstdout_timestamps = true\nlog_timestamp_format = rfc3339\n", LineFormat{JSON: true, TimeLayout: "2006-01-02T15:04:05Z07:00"}, LineFormat{}, "redundant"},
	} {
		p, warns, err := loadProgram(t, c.body)
		if err != nil {
			t.Fatalf("%q: %v", c.body, err)
		}
		if p.Stdout.Format != c.stdout || p.Stderr.Format != c.stderr {
			t.Errorf("%q: stdout %+v stderr %+v", c.body, p.Stdout.Format, p.Stderr.Format)
		}
		if (c.warn == "") != (len(warns) == 0) || (c.warn != "" && !strings.Contains(warns[0].String(), c.warn)) {
			t.Errorf("%q: warnings %v", c.body, warns)
		}
	}
	// A changed format is a changed program (update restarts or hands it off).
	a, _, _ := loadProgram(t, "stdout_timestamps = true\n")
	b, _, _ := loadProgram(t, "stdout_timestamps = true\nlog_timestamp_format = unix\n")
	if a.Equal(b) {
		t.Error("formats differ but the processes are equal")
	}
}

func TestLineFormatErrors(t *testing.T) {
	for _, c := range []struct{ body, option, line string }{
		{"stdout_logformat = yaml\n", "stdout_logformat", "4"},
		{"stderr_timestamps = sometimes\n", "stderr_timestamps", "4"},
		{"stdout_timestamps = true\nlog_timestamp_format = when\n", "log_timestamp_format", "5"},
		{"stderr_logformat = json\nlog_timestamp_format =\n", "log_timestamp_format", "5"},
	} {
		_, _, err := loadProgram(t, c.body)
		if err == nil || !strings.Contains(err.Error(), "] "+c.option+":") || !strings.Contains(err.Error(), "supervisord.conf:"+c.line+":") {
			t.Errorf("%q: error %v, want one naming %s at line %s", c.body, err, c.option, c.line)
		}
	}
}

func TestLogfileRotate(t *testing.T) {
	p, warns, err := loadProgram(t, "stdout_logfile_rotate = Daily\nstderr_logfile_rotate = hourly\n")
	if err != nil || len(warns) != 0 || p.Stdout.Rotate != "daily" || p.Stderr.Rotate != "hourly" {
		t.Fatalf("%+v %+v %v %v", p.Stdout, p.Stderr, warns, err)
	}
	p, _, _ = loadProgram(t, "")
	if p.Stdout.Rotate != "" {
		t.Fatalf("default %q", p.Stdout.Rotate)
	}
	_, _, err = loadProgram(t, "stdout_logfile_rotate = weekly\n")
	if err == nil || !strings.Contains(err.Error(), "supervisord.conf:4:") || !strings.Contains(err.Error(), "] stdout_logfile_rotate:") {
		t.Fatalf("weekly: %v", err)
	}
}
