package config

import (
	"strings"
	"time"
)

// LineFormat is how the log pump writes one stream's lines to its log
// file: drover's own <stream>_logformat, <stream>_timestamps and
// log_timestamp_format (supervisord writes the bytes as read, which is
// the zero value).
type LineFormat struct {
	// JSON writes one JSON object per line: time, process, stream,
	// message (<stream>_logformat = json).
	JSON bool
	// Timestamps starts each text line with the time and a space
	// (<stream>_timestamps = true).
	Timestamps bool
	// TimeLayout is log_timestamp_format as a Go layout; UnixTime
	// replaces it with seconds since the epoch, to the millisecond.
	TimeLayout string
	UnixTime   bool
}

// On reports whether the lines are formatted at all.
func (f LineFormat) On() bool { return f.JSON || f.Timestamps }

// DefaultTimestampFormat is log_timestamp_format's default.
const DefaultTimestampFormat = "rfc3339ms"

// timestampPresets are log_timestamp_format's named values.
var timestampPresets = map[string]string{
	"rfc3339":   "2006-01-02T15:04:05Z07:00",
	"rfc3339ms": "2006-01-02T15:04:05.000Z07:00",
	"rfc3339us": "2006-01-02T15:04:05.000000Z07:00",
	"unix":      "", // seconds.milliseconds
}

// parseTimestampFormat reads log_timestamp_format: a preset name or a Go
// time layout (one that formats the reference time differently from its
// own text).
func parseTimestampFormat(v string) (layout string, unix bool, err error) {
	v = strings.TrimSpace(v)
	if l, ok := timestampPresets[strings.ToLower(v)]; ok {
		return l, l == "", nil
	}
	// A layout formats some other time differently from its own text.
	other := time.Date(2001, 2, 3, 4, 5, 6, 7e6, time.UTC)
	if v == "" || strings.ContainsAny(v, "\n\r") || other.Format(v) == v {
		return "", false, verr("%q is neither rfc3339, rfc3339ms, rfc3339us, unix nor a Go time layout (e.g. 2006-01-02 15:04:05.000)", v)
	}
	return v, false, nil
}

// logRotate reads <stream>_logfile_rotate.
func logRotate(g *getter, stream string) string {
	key := stream + "_logfile_rotate"
	switch v, _ := g.str(key); strings.ToLower(strings.TrimSpace(v)) {
	case "", "none", "off":
		return ""
	case "hourly":
		return "hourly"
	case "daily":
		return "daily"
	default:
		g.failf(key, "%q is not a rotation period: use none, hourly or daily", v)
		return ""
	}
}

// lineFormat reads one stream's line format options.
func lineFormat(g *getter, stream string) LineFormat {
	var f LineFormat
	switch v, _ := g.str(stream + "_logformat"); strings.ToLower(strings.TrimSpace(v)) {
	case "", "text":
	case "json":
		f.JSON = true
	default:
		g.failf(stream+"_logformat", "%q is not a log format: use text or json", v)
	}
	f.Timestamps = g.bool(stream + "_timestamps")
	if f.JSON && f.Timestamps {
		g.warn(stream+"_timestamps", "redundant with "+stream+"_logformat = json: every JSON line has its time")
		f.Timestamps = false
	}
	if !f.On() {
		return f
	}
	v, _ := g.str("log_timestamp_format")
	layout, unix, err := parseTimestampFormat(v)
	if err != nil {
		g.fail("log_timestamp_format", err)
	}
	f.TimeLayout, f.UnixTime = layout, unix
	return f
}
