package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// cell is one target's result for one row: a value or why there is none.
type cell struct {
	Value   float64        `json:"value"`
	Text    string         `json:"text"`
	NA      string         `json:"na,omitempty"`
	Samples []float64      `json:"samples,omitempty"`
	Detail  map[string]any `json:"detail,omitempty"`
}

// row is one line of the table.
type row struct {
	ID      string           `json:"id"`
	Name    string           `json:"name"`
	Unit    string           `json:"unit"`
	Goal    string           `json:"goal"`
	NoRatio bool             `json:"no_ratio,omitempty"`
	Cells   map[string]*cell `json:"cells"`
}

// report is the whole run: the table rows plus the machine it ran on.
type report struct {
	Date                string   `json:"date"`
	Nproc               int      `json:"nproc"`
	Kernel              string   `json:"kernel"`
	SupervisordVersion  string   `json:"supervisord_version"`
	DroverVersion       string   `json:"drover_version"`
	DroverBeforeVersion string   `json:"drover_before_version,omitempty"`
	GoVersion           string   `json:"go_version"`
	Args                []string `json:"args"`
	Notes               []string `json:"notes,omitempty"`
	Rows                []*row   `json:"rows"`
}

// set records a value for target in row id, creating the row on first use.
func (r *report) set(id, name, unit, goal, target string, c *cell) {
	for _, rw := range r.Rows {
		if rw.ID == id {
			rw.Cells[target] = c
			return
		}
	}
	r.Rows = append(r.Rows, &row{ID: id, Name: name, Unit: unit, Goal: goal, Cells: map[string]*cell{target: c}})
}

// declare creates row id without cells, if it does not exist yet, so that
// a measurement can fix the order of its rows before any target ran.
func (r *report) declare(id, name, unit, goal string) *row {
	for _, rw := range r.Rows {
		if rw.ID == id {
			return rw
		}
	}
	rw := &row{ID: id, Name: name, Unit: unit, Goal: goal, Cells: map[string]*cell{}}
	r.Rows = append(r.Rows, rw)
	return rw
}

// value makes a cell holding v, formatted for its unit.
func value(v float64, unit string) *cell {
	return &cell{Value: v, Text: formatValue(v, unit)}
}

// na makes a cell with no value and a reason.
func na(reason string) *cell {
	reason = strings.NewReplacer("|", "/", "\n", " ").Replace(reason)
	return &cell{Value: math.NaN(), NA: reason, Text: "n/a (" + reason + ")"}
}

func formatValue(v float64, unit string) string {
	switch {
	case unit == "" || unit == "count":
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f %s", v, unit)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f %s", v, unit)
	default:
		return fmt.Sprintf("%.2f %s", v, unit)
	}
}

// ratio is drover ÷ supervisord, or "—" when either has no value.
func ratio(rw *row) string { return ratioOf(rw, targetDrover, targetSupervisord) }

// afterBefore is drover ÷ drover-before, or "—" when either has no value.
func afterBefore(rw *row) string { return ratioOf(rw, targetDrover, targetBefore) }

// ratioOf is target num's value ÷ target den's, formatted, or "—".
func ratioOf(rw *row, num, den string) string {
	d, s := rw.Cells[num], rw.Cells[den]
	if rw.NoRatio || d == nil || s == nil || d.NA != "" || s.NA != "" || s.Value == 0 {
		return "—"
	}
	q := d.Value / s.Value
	switch {
	case q == 0:
		return "0×"
	case q >= 10:
		return fmt.Sprintf("%.0f×", q)
	case q >= 0.1:
		return fmt.Sprintf("%.2f×", q)
	default:
		return fmt.Sprintf("%.3f×", q)
	}
}

// writeMarkdown prints the header lines and the table.
func (r *report) writeMarkdown(w io.Writer, targets []string) {
	fmt.Fprintf(w, "### drover vs supervisord — %s\n\n", r.Date)
	fmt.Fprintf(w, "- machine: nproc %d, kernel %s\n", r.Nproc, r.Kernel)
	fmt.Fprintf(w, "- supervisord %s; drover %s; %s\n", r.SupervisordVersion, r.DroverVersion, r.GoVersion)
	if r.DroverBeforeVersion != "" {
		fmt.Fprintf(w, "- %s: %s\n", targetBefore, r.DroverBeforeVersion)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "- %s\n", n)
	}
	fmt.Fprintln(w)
	// The before/after column appears when both drovers ran.
	both := slices.Contains(targets, targetBefore) && slices.Contains(targets, targetDrover)
	hdr := append(append([]string{"measurement"}, targets...), "ratio")
	if both {
		hdr = append(hdr, "drover ÷ before")
	}
	hdr = append(hdr, "goal")
	fmt.Fprintf(w, "| %s |\n", strings.Join(hdr, " | "))
	seps := make([]string, len(hdr))
	for i := range seps {
		seps[i] = "---"
	}
	fmt.Fprintf(w, "|%s|\n", strings.Join(seps, "|"))
	for _, rw := range r.Rows {
		cols := []string{rw.Name}
		for _, t := range targets {
			c := rw.Cells[t]
			if c == nil {
				cols = append(cols, "—")
			} else {
				cols = append(cols, c.Text)
			}
		}
		cols = append(cols, ratio(rw))
		if both {
			cols = append(cols, afterBefore(rw))
		}
		cols = append(cols, rw.Goal)
		fmt.Fprintf(w, "| %s |\n", strings.Join(cols, " | "))
	}
	fmt.Fprintln(w, "\nratio = drover ÷ supervisord (lower is better for times, sizes and counts; higher for MB/s).")
	if both {
		fmt.Fprintf(w, "drover ÷ before = drover ÷ %s, read like ratio: below 1 the change helped (above 1 for MB/s).\n", targetBefore)
	}
}

// writeJSON writes the report to path, creating its directory. NaN (no
// value) is written as null.
func (r *report) writeJSON(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("results dir: %w", err)
	}
	type jcell struct {
		Value   *float64       `json:"value"`
		Text    string         `json:"text"`
		NA      string         `json:"na,omitempty"`
		Samples []float64      `json:"samples,omitempty"`
		Detail  map[string]any `json:"detail,omitempty"`
	}
	type jrow struct {
		row
		Ratio       string            `json:"ratio"`
		AfterBefore string            `json:"after_before,omitempty"`
		Cells       map[string]*jcell `json:"cells"`
	}
	out := struct {
		report
		Rows []jrow `json:"rows"`
	}{report: *r}
	for _, rw := range r.Rows {
		jr := jrow{row: *rw, Ratio: ratio(rw), Cells: map[string]*jcell{}}
		if rw.Cells[targetBefore] != nil {
			jr.AfterBefore = afterBefore(rw)
		}
		for t, c := range rw.Cells {
			jc := &jcell{Text: c.Text, NA: c.NA, Samples: c.Samples, Detail: c.Detail}
			if !math.IsNaN(c.Value) {
				v := c.Value
				jc.Value = &v
			}
			jr.Cells[t] = jc
		}
		out.Rows = append(out.Rows, jr)
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return fmt.Errorf("encode results: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	return nil
}

// median and maximum of a non-empty sample.
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func maximum(xs []float64) float64 { return slices.Max(xs) }
