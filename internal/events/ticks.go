package events

import (
	"slices"
	"time"
)

// tickPeriods are supervisord's TICK_5, TICK_60 and TICK_3600, in seconds.
var tickPeriods = [...]int64{5, 60, 3600}

// wantedPeriods are the tick periods some pool subscribes to: no pool, no
// timer, so a daemon without tick listeners never wakes for them.
func (s *state) wantedPeriods() []int64 {
	var out []int64
	for _, period := range tickPeriods {
		name := Tick(period, 0).Name
		for _, p := range s.pools {
			if Subscribed(p.cfg.Events, name) {
				out = append(out, period)
				break
			}
		}
	}
	return out
}

// nextTick is how long until the next boundary of a wanted period. Periods
// newly wanted start from the current timeslice: like supervisord, there is
// no tick at start-up.
func (s *state) nextTick() (time.Duration, bool) {
	now := s.opt.Now()
	sec := now.Unix()
	periods := s.wantedPeriods()
	for k := range s.ticks {
		if !slices.Contains(periods, k) {
			delete(s.ticks, k)
		}
	}
	if len(periods) == 0 {
		return 0, false
	}
	next := int64(-1)
	for _, period := range periods {
		if _, ok := s.ticks[period]; !ok {
			s.ticks[period] = sec - sec%period
		}
		if b := s.ticks[period] + period; next < 0 || b < next {
			next = b
		}
	}
	return time.Unix(next, 0).Sub(now), true
}

// tick emits TICK_<period> for each wanted period whose timeslice rolled
// over, with the new timeslice as when.
func (s *state) tick() {
	sec := s.opt.Now().Unix()
	for _, period := range tickPeriods {
		last, ok := s.ticks[period]
		if !ok {
			continue
		}
		if this := sec - sec%period; this != last {
			s.ticks[period] = this
			s.publish(Tick(period, this))
		}
	}
	s.ticksChanged = true
}
