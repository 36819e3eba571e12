package main

import (
	"math"
	"slices"
	"time"
)

// span is a half-open time range [From, To) on the load's clock.
type span struct{ From, To time.Duration }

func (w span) has(t time.Duration) bool { return t >= w.From && t < w.To }

// reloadSummary is what the reload rows are made of.
type reloadSummary struct {
	SteadyP99, ReloadP99 float64 // ms, successful requests started in the windows
	SteadyN, ReloadN     int     // successful requests those p99s are over
	// Failed counts failed requests started from the first reload's start
	// on (reload windows and the quiet windows after them), by outcome.
	Failed          int
	FailedByOutcome map[string]int
	FailedInWindows int // of Failed, started inside a reload window
	FailedReused    int // of Failed, sent on a reused keep-alive connection
	FailedSteady    int // failed before the first reload (should be 0)
	// FailedPerReload counts failures from each reload's start to the
	// next one's (the last: to the end).
	FailedPerReload []int
	Requests        int // all requests from the first reload's start on
	Generations     int // distinct "gen=" values answered, whole run
	// LongestSilence is the longest time, from the first reload's start
	// to the end, in which no request got a successful answer;
	// SteadySilence the same in the steady-state window, for comparison.
	LongestSilence, SteadySilence time.Duration
}

// summarize computes the reload rows from the load's samples (in start
// order), the steady-state window, the reload windows (command start →
// return, in order) and the load's end.
func summarize(samples []sample, steady span, reloads []span, end time.Duration) reloadSummary {
	var s reloadSummary
	s.FailedByOutcome = map[string]int{}
	s.FailedPerReload = make([]int, len(reloads))
	after := end
	if len(reloads) > 0 {
		after = reloads[0].From
	}
	var steadyLat, reloadLat []float64
	gens := map[int64]bool{}
	for _, x := range samples {
		inReload, since := false, -1 // since: the last reload started before x
		for i, w := range reloads {
			if w.has(x.Start) {
				inReload = true
			}
			if x.Start >= w.From {
				since = i
			}
		}
		if x.Out == outOK {
			gens[x.Gen] = true
			switch {
			case inReload:
				reloadLat = append(reloadLat, ms(int64(x.Dur)))
			case steady.has(x.Start):
				steadyLat = append(steadyLat, ms(int64(x.Dur)))
			}
		}
		if x.Start < after {
			if x.Out != outOK {
				s.FailedSteady++
			}
			continue
		}
		s.Requests++
		if x.Out == outOK {
			continue
		}
		s.Failed++
		s.FailedPerReload[since]++
		s.FailedByOutcome[x.Out.String()]++
		if inReload {
			s.FailedInWindows++
		}
		if x.Reused {
			s.FailedReused++
		}
	}
	s.SteadyP99, s.SteadyN = percentile(steadyLat, 99), len(steadyLat)
	s.ReloadP99, s.ReloadN = percentile(reloadLat, 99), len(reloadLat)
	s.Generations = len(gens)
	s.LongestSilence = longestSilence(samples, span{From: after, To: end})
	s.SteadySilence = longestSilence(samples, steady)
	return s
}

// longestSilence is the longest time within w in which no successful
// answer arrived (answers are counted at their end).
func longestSilence(samples []sample, w span) time.Duration {
	if w.To <= w.From {
		return 0
	}
	var ends []time.Duration
	for _, x := range samples {
		if e := x.Start + x.Dur; x.Out == outOK && w.has(e) {
			ends = append(ends, e)
		}
	}
	slices.Sort(ends)
	var longest time.Duration
	last := w.From
	for _, e := range ends {
		longest = max(longest, e-last)
		last = e
	}
	return max(longest, w.To-last)
}

// percentile is the nearest-rank p-th percentile of xs, NaN when empty.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}
