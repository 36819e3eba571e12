package cli

import (
	"context"
	"math"
	"strconv"
	"unicode/utf8"
)

// procUsage is one row of drover.getAllProcessUsage: the program's process
// tree sampled by the daemon when asked.
type procUsage struct {
	pid, procs, rssKB int
	cpuSeconds        float64
	cpuPercent        float64 // -1: unknown (no recent sample to compare with)
}

// addUsage asks drover.getAllProcessUsage and attaches each row to its
// process. A server without the method (supervisord) or a failed call
// leaves the status as it is: usage is an extra.
func (c *ctl) addUsage(ctx context.Context, all []procStatus) {
	v, err := c.call(ctx, "drover.getAllProcessUsage")
	if err != nil {
		return
	}
	rows, _ := v.([]any)
	byName := make(map[string]*procUsage, len(rows))
	for _, r := range rows {
		e, ok := r.([]any)
		if !ok || len(e) < 7 {
			continue
		}
		group, _ := e[0].(string)
		name, _ := e[1].(string)
		u := &procUsage{}
		u.pid, _ = e[2].(int)
		u.procs, _ = e[3].(int)
		u.rssKB, _ = e[4].(int)
		u.cpuSeconds = number(e[5])
		u.cpuPercent = number(e[6])
		byName[namespec(group, name)] = u
	}
	for i := range all {
		if u := byName[namespec(all[i].group, all[i].name)]; u != nil {
			all[i].use = u
		}
	}
}

func number(v any) float64 {
	switch v := v.(type) {
	case float64:
		return v
	case int:
		return float64(v)
	}
	return -1
}

// addTo puts the usage into a --json struct: processes, rss_bytes,
// cpu_seconds and cpu_percent (null when unknown).
func (u *procUsage) addTo(m info) {
	m["processes"] = u.procs
	m["rss_bytes"] = int64(u.rssKB) << 10
	m["cpu_seconds"] = u.cpuSeconds
	if u.cpuPercent >= 0 {
		m["cpu_percent"] = u.cpuPercent
	} else {
		m["cpu_percent"] = nil
	}
}

// usageColsWidth is the width of the CPU and RSS columns with their gap.
const usageColsWidth = 16

// appendUsageCols appends the CPU column (percent of one CPU since the
// previous sample, or the CPU seconds so far when there was none, as
// "12.3s") and the RSS column, both blank when the program is not running.
func appendUsageCols(b []byte, u *procUsage) []byte {
	start := len(b)
	if u != nil && u.procs > 0 {
		if u.cpuPercent >= 0 {
			b = strconv.AppendFloat(b, u.cpuPercent, 'f', 1, 64)
			b = append(b, '%')
		} else {
			b = strconv.AppendFloat(b, u.cpuSeconds, 'f', 1, 64)
			b = append(b, 's')
		}
		b = pad(b, 7-(len(b)-start))
		b = append(b, humanKB(u.rssKB)...)
	}
	return pad(b, usageColsWidth-utf8.RuneCount(b[start:]))
}

// humanKB is a size in kB as ps -o rss would be read by a person: 812K,
// 45.3M, 1.2G.
func humanKB(kb int) string {
	switch {
	case kb < 1024:
		return strconv.Itoa(kb) + "K"
	case kb < 1024*1024:
		return strconv.FormatFloat(math.Round(float64(kb)/1024*10)/10, 'f', 1, 64) + "M"
	}
	return strconv.FormatFloat(math.Round(float64(kb)/(1024*1024)*10)/10, 'f', 1, 64) + "G"
}
