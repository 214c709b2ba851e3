package harness

import (
	"errors"
	"io/fs"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestIsSchedule(t *testing.T) {
	for s, want := range map[string]bool{
		"50000": false, "50000/s": false, "500/100ms": false, "3000/1m": false,
		"hold:5/1s": true, "5/1s;6/1s": true, "@plan.csv": true, "ramp:0..5/1s": true,
	} {
		if got := IsSchedule(s); got != want {
			t.Errorf("IsSchedule(%q) = %v, want %v", s, got, want)
		}
	}
}

// writePlanFile writes a plan file into a fresh directory and returns its
// path.
func writePlanFile(t testing.TB, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestParsePlan(t *testing.T) {
	csv := writePlanFile(t, "plan.csv", "# a warm start\ntime,rate\n0,100\n\n1.5,400\n90s,400\n")
	type seg struct {
		label      string
		start, end time.Duration
	}
	s := time.Second
	for _, c := range []struct {
		in   string
		want []seg
	}{
		{"ramp:0..50000/60s;50000/5m", []seg{{"ramp 0/s..50000/s", 0, time.Minute}, {"hold 50000/s", time.Minute, 6 * time.Minute}}},
		{"hold:2.5/10s", []seg{{"hold 2.5/s", 0, 10 * s}}},
		{" ramp : 10 .. 0 / 1s ; 0/500ms ; hold : 5 / 1m ", []seg{{"ramp 10/s..0/s", 0, s}, {"hold 0/s", s, 1500 * time.Millisecond}, {"hold 5/s", 1500 * time.Millisecond, 61500 * time.Millisecond}}},
		{"steps:5,1,3/1s", []seg{{"step 1/3: 5/s", 0, s}, {"step 2/3: 1/s", s, 2 * s}, {"step 3/3: 3/s", 2 * s, 3 * s}}},
		{"steps:10..1+4/1s", []seg{{"step 1/3: 10/s", 0, s}, {"step 2/3: 6/s", s, 2 * s}, {"step 3/3: 2/s", 2 * s, 3 * s}}},
		{"steps:0.1..0.3+0.1/10s", []seg{{"step 1/3: 0.1/s", 0, 10 * s}, {"step 2/3: 0.2/s", 10 * s, 20 * s}, {"step 3/3: 0.3/s", 20 * s, 30 * s}}},
		{"sine:5000,2000,60s/5m", []seg{{"sine 5000±2000/s every 1m0s", 0, 5 * time.Minute}}},
		{"sine:10,10,1s,90/2s;1/1s", []seg{{"sine 10±10/s every 1s from 90°", 0, 2 * s}, {"hold 1/s", 2 * s, 3 * s}}},
		{"ramp:1..2/1h30m", []seg{{"ramp 1/s..2/s", 0, 90 * time.Minute}}},
		{"@" + csv + ";0/1s", []seg{{"plan.csv", 0, 90 * s}, {"hold 0/s", 90 * s, 91 * s}}},
	} {
		p, err := ParsePlan(c.in)
		if err != nil {
			t.Errorf("ParsePlan(%q): %v", c.in, err)
			continue
		}
		var got []seg
		for _, sg := range p.Segments() {
			got = append(got, seg{sg.Label, sg.Start, sg.End})
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("ParsePlan(%q) segments\n got %v\nwant %v", c.in, got, c.want)
		}
		if p.Duration() != c.want[len(c.want)-1].end {
			t.Errorf("ParsePlan(%q).Duration() = %v", c.in, p.Duration())
		}
		if p.String() != strings.TrimSpace(c.in) {
			t.Errorf("ParsePlan(%q).String() = %q", c.in, p.String())
		}
		if _, ok := p.Constant(); ok {
			t.Errorf("ParsePlan(%q) is constant; only ConstantPlan is", c.in)
		}
	}

	// Every level of a steps segment carries the segment as written.
	p, err := ParsePlan("steps:1000..10000+1000/30s")
	if err != nil {
		t.Fatal(err)
	}
	segs := p.Segments()
	if len(segs) != 10 || segs[2].Label != "step 3/10: 3000/s" || segs[9].Label != "step 10/10: 10000/s" ||
		segs[2].Spec != "steps:1000..10000+1000/30s" || segs[9].Start != 270*s || p.Duration() != 5*time.Minute {
		t.Errorf("steps:1000..10000+1000/30s: %+v", segs)
	}
	// The CSV's rows are piecewise linear.
	p, _ = ParsePlan("@" + csv)
	for at, want := range map[time.Duration]float64{0: 100, 750 * time.Millisecond: 250, 1500 * time.Millisecond: 400, 60 * s: 400} {
		if got := p.RateAt(at); math.Abs(got-want) > 1e-9 {
			t.Errorf("%s: RateAt(%v) = %v, want %v", csv, at, got, want)
		}
	}
}

func TestParsePlanErrors(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	badRate := file("bad-rate.csv", "time,rate\n0,10\n# fine\n1,x\n")
	backwards := file("backwards.csv", "0,1\n2s,1\n1.5,1\n")
	late := file("late.csv", "1,1\n2,1\n")
	short := file("short.csv", "time,rate\n0,1\n")
	fields := file("fields.csv", "0,1,2\n")
	for _, c := range []struct{ in, want string }{
		{"ramp:0..x/60s;50000/5m", `rate "ramp:0..x/60s;50000/5m": segment 1 "ramp:0..x/60s": the end rate "x" is not a number (want ramp:FROM..TO/DURATION, e.g. ramp:1000..50000/60s)`},
		{"50000/5m", `rate "50000/5m": not a schedule: a plain N/DURATION is a rate of N per DURATION (want a schedule with ;, : or @, e.g. hold:50000/5m for 50000/s held for 5m)`},
		{"100/1s;hold:-1/1s", `rate "100/1s;hold:-1/1s": segment 2 "hold:-1/1s": the rate "-1" is below 0 (want N/DURATION or hold:N/DURATION, e.g. 50000/5m)`},
		{"hold:2e9/1s", `rate "hold:2e9/1s": segment 1 "hold:2e9/1s": the rate "2e9" is above 1e+09/s (want N/DURATION or hold:N/DURATION, e.g. 50000/5m)`},
		{"hold:5/0s", `rate "hold:5/0s": segment 1 "hold:5/0s": the duration "0s" must be above 0 (want N/DURATION or hold:N/DURATION, e.g. 50000/5m)`},
		{"hold:5/soon", `rate "hold:5/soon": segment 1 "hold:5/soon": the duration "soon" is not a duration like 30s, 5m or 1h30m (want N/DURATION or hold:N/DURATION, e.g. 50000/5m)`},
		{"hold:5", `rate "hold:5": segment 1 "hold:5": no /DURATION at the end (want N/DURATION or hold:N/DURATION, e.g. 50000/5m)`},
		{"1/1s;;2/1s", `rate "1/1s;;2/1s": segment 2 "": the segment is empty (want segments joined by ; each N/DURATION, hold:, ramp:, steps:, sine: or @FILE, e.g. ramp:0..50000/60s;50000/5m)`},
		{"wave:1/1s", `rate "wave:1/1s": segment 1 "wave:1/1s": unknown shape "wave" (want segments joined by ; each N/DURATION, hold:, ramp:, steps:, sine: or @FILE, e.g. ramp:0..50000/60s;50000/5m)`},
		{"ramp:1-5/1s", `rate "ramp:1-5/1s": segment 1 "ramp:1-5/1s": no .. between the start and end rates (want ramp:FROM..TO/DURATION, e.g. ramp:1000..50000/60s)`},
		{"steps:1..5+0/1s", `rate "steps:1..5+0/1s": segment 1 "steps:1..5+0/1s": the step "0" must be above 0 (want steps:FROM..TO+STEP/DURATION or steps:A,B,C/DURATION, e.g. steps:1000..10000+1000/30s)`},
		{"steps:1..5/1s", `rate "steps:1..5/1s": segment 1 "steps:1..5/1s": no +STEP after the end rate (want steps:FROM..TO+STEP/DURATION or steps:A,B,C/DURATION, e.g. steps:1000..10000+1000/30s)`},
		{"steps:1,,3/1s", `rate "steps:1,,3/1s": segment 1 "steps:1,,3/1s": the level 2 "" is not a number (want steps:FROM..TO+STEP/DURATION or steps:A,B,C/DURATION, e.g. steps:1000..10000+1000/30s)`},
		{"steps:0..1e6+1/1s", `rate "steps:0..1e6+1/1s": segment 1 "steps:0..1e6+1/1s": 1000001 levels, more than 10000 (want steps:FROM..TO+STEP/DURATION or steps:A,B,C/DURATION, e.g. steps:1000..10000+1000/30s)`},
		{"sine:5000,6000,60s/5m", `rate "sine:5000,6000,60s/5m": segment 1 "sine:5000,6000,60s/5m": the amplitude 6000/s is above the mean 5000/s: the rate would go below 0 (want sine:MEAN,AMPLITUDE,PERIOD[,PHASE]/DURATION, e.g. sine:5000,2000,60s/5m)`},
		{"sine:5000,2000/5m", `rate "sine:5000,2000/5m": segment 1 "sine:5000,2000/5m": 2 values before the /, want 3 or 4 (want sine:MEAN,AMPLITUDE,PERIOD[,PHASE]/DURATION, e.g. sine:5000,2000,60s/5m)`},
		{"sine:5000,2000,60/5m", `rate "sine:5000,2000,60/5m": segment 1 "sine:5000,2000,60/5m": the period "60" is not a duration like 60s (want sine:MEAN,AMPLITUDE,PERIOD[,PHASE]/DURATION, e.g. sine:5000,2000,60s/5m)`},
		{"sine:5,2,1s,east/5m", `rate "sine:5,2,1s,east/5m": segment 1 "sine:5,2,1s,east/5m": the phase "east" is not a number of degrees from -360 to 360 (want sine:MEAN,AMPLITUDE,PERIOD[,PHASE]/DURATION, e.g. sine:5000,2000,60s/5m)`},
		{"0/1s;ramp:0..0/5s", `rate "0/1s;ramp:0..0/5s": the plan sends no requests (its rates are 0 throughout) (want segments joined by ; each N/DURATION, hold:, ramp:, steps:, sine: or @FILE, e.g. ramp:0..50000/60s;50000/5m)`},
		{"1/500h;1/300h", `rate "1/500h;1/300h": segment 2 "1/300h": the plan would last longer than 720h0m0s (want N/DURATION or hold:N/DURATION, e.g. 50000/5m)`},
		{"@", `rate "@": segment 1 "@": no file name after @ (want @FILE of time,rate rows, e.g. @plan.csv)`},
		{"@" + badRate, `rate "@` + badRate + `": segment 1 "@` + badRate + `": ` + badRate + ` line 4: the rate "x" is not a number (want @FILE of time,rate rows, e.g. @plan.csv)`},
		{"@" + backwards, `rate "@` + backwards + `": segment 1 "@` + backwards + `": ` + backwards + ` line 3: the time 1.5s is not after the previous row's 2s (want @FILE of time,rate rows, e.g. @plan.csv)`},
		{"@" + late, `rate "@` + late + `": segment 1 "@` + late + `": ` + late + ` line 1: the first time is 1s, want 0 (want @FILE of time,rate rows, e.g. @plan.csv)`},
		{"@" + short, `rate "@` + short + `": segment 1 "@` + short + `": ` + short + `: 1 rows of time,rate, want at least 2 (want @FILE of time,rate rows, e.g. @plan.csv)`},
		{"@" + fields, `rate "@` + fields + `": segment 1 "@` + fields + `": ` + fields + ` line 1: 3 fields, want time,rate (want @FILE of time,rate rows, e.g. @plan.csv)`},
	} {
		p, err := ParsePlan(c.in)
		var pe *PlanError
		if err == nil || !errors.As(err, &pe) || err.Error() != c.want {
			t.Errorf("ParsePlan(%q) = %v, %v\nwant error %s", c.in, p, err, c.want)
		}
	}
	missing := filepath.Join(dir, "missing.csv")
	_, err := ParsePlan("1/1s;@" + missing)
	var pe *PlanError
	if !errors.Is(err, fs.ErrNotExist) || !errors.As(err, &pe) || pe.Index != 2 || pe.Segment != "@"+missing {
		t.Errorf("a missing plan file: %v; want a PlanError for segment 2 wrapping fs.ErrNotExist", err)
	}
}

// planCase is a plan the property tests run through.
type planCase struct{ name, value string }

// shortPlans are short plans of every shape, with a few tens of thousands
// of hits each, for the tests that visit every hit.
func shortPlans(t testing.TB) []planCase {
	csv := writePlanFile(t, "plan.csv", "time,rate\n0,0\n0.5,8000\n1.5s,8000\n2,0\n2.5,3000\n")
	return []planCase{
		{"ramp up", "ramp:0..20000/2s"},
		{"ramp down", "ramp:20000..0/2s"},
		{"steps", "steps:1000..5000+1000/1s"},
		{"steps down", "steps:3000,1500,700/700ms"},
		{"sine", "sine:6000,2500,700ms/3s"},
		{"sine touching 0", "sine:5000,5000,650ms,30/2s"},
		{"csv", "@" + csv},
		{"pause", "100/1s;0/500ms;ramp:0..3000/1s;0/300ms;hold:0.5/3s"},
		{"starts paused", "0/250ms;ramp:0..9000/1s"},
		{"mixed", "ramp:0..50000/600ms;50000/1s"},
	}
}

// TestPlanFakeClock steps a fake clock through each plan and takes the hits
// as a worker pool would, by due(t) and at(n): every hit turns up once, at
// its time; each segment gets the hits its rate's integral says; at and due
// agree at and around every hit; and k shards send exactly the plan.
func TestPlanFakeClock(t *testing.T) {
	for _, c := range shortPlans(t) {
		t.Run(c.name, func(t *testing.T) {
			p, err := ParsePlan(c.value)
			if err != nil {
				t.Fatal(err)
			}
			whole := p.schedule(Shard{})
			hits := clockHits(t, whole, p.Duration())
			if n := len(hits); n < 100 {
				t.Fatalf("%d hits in all; the plan is meant to have thousands", n)
			}
			if math.Abs(float64(len(hits))-p.Hits(0, p.Duration())) > 1 {
				t.Errorf("%d hits, the plan's integral is %.3f", len(hits), p.Hits(0, p.Duration()))
			}
			for _, sg := range p.Segments() {
				got := 0
				for _, at := range hits {
					if at >= sg.Start && at < sg.End {
						got++
					}
				}
				if want := p.Hits(sg.Start, sg.End); math.Abs(float64(got)-want) > 1 {
					t.Errorf("segment %q [%v,%v): %d hits, its integral is %.3f", sg.Label, sg.Start, sg.End, got, want)
				}
			}
			for _, k := range []int{1, 3, 7} {
				var union []time.Duration
				var total uint64
				for i := range k {
					s := p.schedule(Shard{Index: i, Count: k})
					union = append(union, clockHits(t, s, p.Duration())...)
					total += s.due(p.Duration())
				}
				slices.Sort(union)
				if !slices.Equal(union, hits) || total != uint64(len(hits)) {
					t.Errorf("%d shards send %d hits (due says %d), unlike the %d of the whole plan", k, len(union), total, len(hits))
				}
			}
		})
	}
}

// clockHits steps a fake clock from before the start to past the end of a
// plan of duration d, in steps of uneven length, takes the hits due at each
// step, and checks them against at. It returns the hit times in order.
func clockHits(t *testing.T, s schedule, d time.Duration) []time.Duration {
	t.Helper()
	var hits []time.Duration
	prev, taken := time.Duration(-1), uint64(0)
	if s.due(-1) != 0 {
		t.Fatalf("due(-1) = %d, want 0", s.due(-1))
	}
	for i := 0; prev < d+time.Second; i++ {
		now := prev + time.Duration(1+(i*7919)%1000)*time.Microsecond + time.Duration(i%13)
		due := s.due(now)
		if due < taken {
			t.Fatalf("due(%v) = %d, below due(%v) = %d", now, due, prev, taken)
		}
		for n := taken; n < due; n++ {
			at := s.at(n)
			if at <= prev || at > now {
				t.Fatalf("hit %d is taken at %v (due went %d -> %d from %v) but at(%d) = %v", n, now, taken, due, prev, n, at)
			}
			if len(hits) > 0 && at < hits[len(hits)-1] {
				t.Fatalf("at(%d) = %v before at(%d) = %v", n, at, n-1, hits[len(hits)-1])
			}
			// at and due agree at and around every hit.
			for _, tt := range []time.Duration{at - 1, at, at + 1} {
				if got := s.due(tt); (at <= tt) != (n < got) {
					t.Fatalf("at(%d) = %v but due(%v) = %d", n, at, tt, got)
				}
			}
			hits = append(hits, at)
		}
		prev, taken = now, due
	}
	if at := s.at(taken); at < d {
		t.Fatalf("hit %d, past the last due one, is at %v, inside the plan of %v", taken, at, d)
	}
	if got := s.due(d + time.Hour); got != taken {
		t.Fatalf("due after the end = %d, want the %d hits of the plan", got, taken)
	}
	return hits
}

// TestPlanHitTimes checks hit times against exact integer arithmetic (no
// float, none of the plan's code): hit g is due at the first nanosecond t
// at which the rate's integral over [0, t] reaches g.
func TestPlanHitTimes(t *testing.T) {
	e18 := new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil)
	for _, c := range []struct {
		value string
		// reached reports whether the integral by t ns reaches g, as
		// integers: num(t) >= g*den.
		num func(t *big.Int) *big.Int
		den *big.Int
	}{
		// hold 3/s: 3t/1e9.
		{"hold:3/20s", func(t *big.Int) *big.Int { return new(big.Int).Mul(t, big.NewInt(3)) }, big.NewInt(1e9)},
		// ramp 0..3 over 1s: 1.5 (t/1e9)^2 = 3t^2 / (2e18).
		{"ramp:0..3/10s", func(t *big.Int) *big.Int {
			return new(big.Int).Mul(big.NewInt(3), new(big.Int).Mul(t, t))
		}, new(big.Int).Mul(big.NewInt(20), e18)},
		// ramp 3000..0 over 1s: 3000 s - 1500 s^2 = (3000e9 t - 1500 t^2) / 1e18.
		{"ramp:3000..0/1s", func(t *big.Int) *big.Int {
			a := new(big.Int).Mul(t, big.NewInt(3000e9))
			return a.Sub(a, new(big.Int).Mul(big.NewInt(1500), new(big.Int).Mul(t, t)))
		}, e18},
	} {
		p, err := ParsePlan(c.value)
		if err != nil {
			t.Fatal(err)
		}
		s := p.schedule(Shard{})
		for g := uint64(0); ; g++ {
			at := s.at(g)
			if at >= p.Duration() {
				break
			}
			// The first t with num(t) >= g*den, by bisection in integers.
			want := new(big.Int).Mul(new(big.Int).SetUint64(g), c.den)
			lo, hi := int64(-1), int64(p.Duration())
			for hi-lo > 1 {
				mid := lo + (hi-lo)/2
				if c.num(big.NewInt(mid)).Cmp(want) >= 0 {
					hi = mid
				} else {
					lo = mid
				}
			}
			// Within a nanosecond; or, where the rate is so near 0 that
			// float64 cannot resolve the time, within a billionth of a
			// hit of it.
			if d := int64(at) - hi; d < -1 || d > 1 {
				diff := new(big.Int).Sub(c.num(big.NewInt(int64(at))), c.num(big.NewInt(hi)))
				tol := new(big.Int).Div(c.den, big.NewInt(1e9))
				if diff.Abs(diff).Cmp(tol) > 0 {
					t.Fatalf("%s: hit %d at %v, exactly %v", c.value, g, at, time.Duration(hi))
				}
			}
		}
	}
}

// TestPlanClosedForm checks each shape's closed-form integral (Hits)
// against hand-computed totals and against numeric integration of RateAt.
func TestPlanClosedForm(t *testing.T) {
	csv := writePlanFile(t, "plan.csv", "0,0\n10,1000\n20s,1000\n25,200\n")
	for _, c := range []struct {
		value string
		total float64 // by hand
	}{
		{"ramp:0..50000/60s;50000/5m", 50000*60/2 + 50000*300},
		{"ramp:900..100/8s", 500 * 8},
		{"steps:1000..10000+1000/30s", 30 * 55000},
		{"sine:5000,2000,60s/5m", 5000 * 300},                     // whole periods
		{"sine:5000,2000,60s/15s", 5000*15 + 2000*60/(2*math.Pi)}, // a quarter: ∫0..π/2 sin
		{"sine:5000,2000,60s,90/15s", 5000*15 + 2000*60/(2*math.Pi)},
		{"sine:5000,2000,60s,-90/15s", 5000*15 - 2000*60/(2*math.Pi)},
		{"sine:5000,2000,60s,-90/30s", 5000 * 30},
		{"@" + csv, 500*10 + 1000*10 + 600*5},
		{"10/1s;0/1s;ramp:0..10/2s", 10 + 10},
	} {
		p, err := ParsePlan(c.value)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Hits(0, p.Duration()); math.Abs(got-c.total) > 1e-6*c.total {
			t.Errorf("%s: Hits = %.6f, by hand %.6f", c.value, got, c.total)
		}
		if got, want := p.MeanRate(), c.total/p.Duration().Seconds(); math.Abs(got-want) > 1e-6*want {
			t.Errorf("%s: MeanRate = %v, want %v", c.value, got, want)
		}
		// Simpson's rule over stretches inside one segment each (the rate
		// is smooth there), including ones that start and end mid-segment.
		for _, sg := range p.Segments() {
			for _, span := range [][2]time.Duration{{sg.Start, sg.End}, {sg.Start + (sg.End-sg.Start)/3, sg.End - (sg.End-sg.Start)/5}} {
				want := simpson(p.RateAt, span[0], span[1])
				if got := p.Hits(span[0], span[1]); math.Abs(got-want) > 1e-6*max(want, 1) {
					t.Errorf("%s: Hits(%v, %v) = %.6f, numerically %.6f", c.value, span[0], span[1], got, want)
				}
			}
		}
	}
}

// simpson integrates rate (per second) over [a, b) numerically, sampling
// just inside the ends (a piece's end belongs to the next piece).
func simpson(rate func(time.Duration) float64, a, b time.Duration) float64 {
	const n = 2000
	h := float64(b-a) / n
	f := func(i int) float64 {
		at := a + time.Duration(float64(i)*h)
		if i == n {
			at = b - 1
		}
		return rate(at)
	}
	sum := f(0) + f(n)
	for i := 1; i < n; i++ {
		sum += float64(2+2*(i%2)) * f(i)
	}
	return sum * h / 3 / 1e9
}

func TestConstantPlan(t *testing.T) {
	r := Rate{Freq: 500, Per: 100 * time.Millisecond}
	p := ConstantPlan(r, time.Minute)
	if got, ok := p.Constant(); !ok || got != r {
		t.Errorf("Constant() = %v, %v", got, ok)
	}
	if p.String() != "500/100ms" || p.Duration() != time.Minute || p.StartRate() != 5000 || math.Abs(p.MeanRate()-5000) > 1e-9 {
		t.Errorf("ConstantPlan: %q %v %v %v", p.String(), p.Duration(), p.StartRate(), p.MeanRate())
	}
	want := constantSchedule{rate: r, shard: 2, count: 3}
	if got := p.schedule(Shard{Index: 2, Count: 3}); got != want {
		t.Errorf("schedule = %#v, want %#v", got, want)
	}
	if got := p.schedule(Shard{}); got != (constantSchedule{rate: r, shard: 0, count: 1}) {
		t.Errorf("schedule(Shard{}) = %#v, want the whole plan", got)
	}
	w := p.WithWarmup(10 * time.Second)
	if got, ok := w.Constant(); !ok || got != r || w.Duration() != 70*time.Second {
		t.Errorf("WithWarmup: Constant() = %v, %v; Duration %v", got, ok, w.Duration())
	}
	if _, ok := w.schedule(Shard{}).(constantSchedule); !ok {
		t.Errorf("a constant plan with warm-up has schedule %T", w.schedule(Shard{}))
	}
	segs := w.Segments()
	if len(segs) != 2 || segs[0] != (PlanSegment{"warm-up", "warm-up", 0, 10 * time.Second}) ||
		segs[1] != (PlanSegment{"hold 500/100ms", "500/100ms", 10 * time.Second, 70 * time.Second}) {
		t.Errorf("WithWarmup segments: %+v", segs)
	}
	if p.WithWarmup(0) != p || len(p.Segments()) != 1 {
		t.Errorf("WithWarmup(0) made a new plan, or changed the old one")
	}
}

func TestPlanWithWarmup(t *testing.T) {
	p, err := ParsePlan("0/1s;ramp:100..300/2s")
	if err != nil {
		t.Fatal(err)
	}
	if p.StartRate() != 0 {
		t.Errorf("StartRate of a plan starting paused = %v", p.StartRate())
	}
	p, _ = ParsePlan("ramp:100..300/2s;0/1s")
	w := p.WithWarmup(3 * time.Second)
	segs := w.Segments()
	if len(segs) != 3 || segs[0].Label != "warm-up" || segs[0].End != 3*time.Second ||
		segs[1].Label != "ramp 100/s..300/s" || segs[1].Start != 3*time.Second || segs[2].End != 6*time.Second {
		t.Errorf("WithWarmup segments: %+v", segs)
	}
	if _, ok := w.Constant(); ok || w.String() != p.String() || w.Duration() != 6*time.Second {
		t.Errorf("WithWarmup: %q %v", w.String(), w.Duration())
	}
	if got := w.Hits(0, 3*time.Second); math.Abs(got-300) > 1e-9 {
		t.Errorf("warm-up hits = %v, want 300 (3s at the start rate, 100/s)", got)
	}
	if got := w.RateAt(4 * time.Second); math.Abs(got-200) > 1e-9 {
		t.Errorf("RateAt(4s) = %v, want 200, the ramp's middle", got)
	}
	if got, want := w.Hits(3*time.Second, 6*time.Second), p.Hits(0, 3*time.Second); math.Abs(got-want) > 1e-9 {
		t.Errorf("the plan after warm-up has %v hits, before %v", got, want)
	}
	if len(p.Segments()) != 2 || p.Duration() != 3*time.Second {
		t.Errorf("WithWarmup changed the plan it was called on")
	}
}

// TestPlanScheduleConcurrent has workers share one schedule, as the attack
// does, so that the race detector sees any state written after
// construction.
func TestPlanScheduleConcurrent(t *testing.T) {
	p, err := ParsePlan("ramp:0..20000/1s;sine:10000,5000,300ms/1s")
	if err != nil {
		t.Fatal(err)
	}
	s := p.schedule(Shard{Index: 1, Count: 2})
	var wg sync.WaitGroup
	got := make([][]time.Duration, 4)
	for w := range got {
		wg.Go(func() {
			for n := uint64(0); n < 5000; n++ {
				got[w] = append(got[w], s.at(n))
				s.due(s.at(n))
			}
		})
	}
	wg.Wait()
	for w := range got {
		if !slices.Equal(got[w], got[0]) {
			t.Fatalf("worker %d saw other hit times than worker 0", w)
		}
	}
}

func TestPlanScheduleAtAllocs(t *testing.T) {
	p, err := ParsePlan("ramp:0..50000/60s;sine:5000,2000,60s/5m")
	if err != nil {
		t.Fatal(err)
	}
	s := p.schedule(Shard{Index: 1, Count: 3})
	n := uint64(0)
	if allocs := testing.AllocsPerRun(1000, func() { s.at(n); s.due(time.Duration(n) * time.Millisecond); n += 997 }); allocs != 0 {
		t.Errorf("at and due allocate %v times a call", allocs)
	}
}

// BenchmarkPlanScheduleAt times at on a ramp, which a worker calls once a
// hit.
func BenchmarkPlanScheduleAt(b *testing.B) {
	p, err := ParsePlan("ramp:0..50000/60s;50000/5m")
	if err != nil {
		b.Fatal(err)
	}
	s := p.schedule(Shard{})
	total := uint64(p.Hits(0, time.Minute))
	b.ReportAllocs()
	var n uint64
	for b.Loop() {
		s.at(n)
		n = (n + 7) % total
	}
}

// BenchmarkPlanScheduleAtSine is the same for a sine, whose inverse is
// Newton's method.
func BenchmarkPlanScheduleAtSine(b *testing.B) {
	p, err := ParsePlan("sine:50000,20000,60s/5m")
	if err != nil {
		b.Fatal(err)
	}
	s := p.schedule(Shard{})
	total := uint64(p.Hits(0, p.Duration()))
	b.ReportAllocs()
	var n uint64
	for b.Loop() {
		s.at(n)
		n = (n + 7919) % total
	}
}

// FuzzParsePlan feeds ParsePlan any value and, for "@FILE" segments, any
// file content. A plan it accepts has contiguous segments from 0 to its
// duration, and, when short, hits whose at and due agree and match the
// integral.
func FuzzParsePlan(f *testing.F) {
	f.Fuzz(func(t *testing.T, value, file string) {
		p, err := parsePlan(value, func(string) ([]byte, error) { return []byte(file), nil })
		if err != nil {
			var pe *PlanError
			if !errors.As(err, &pe) || !strings.HasPrefix(err.Error(), "rate ") {
				t.Fatalf("parsePlan(%q) error %v is not a PlanError", value, err)
			}
			return
		}
		segs := p.Segments()
		if len(segs) == 0 || segs[0].Start != 0 || segs[len(segs)-1].End != p.Duration() {
			t.Fatalf("parsePlan(%q): segments %+v do not span 0..%v", value, segs, p.Duration())
		}
		for i, sg := range segs {
			if sg.End <= sg.Start || (i > 0 && sg.Start != segs[i-1].End) || sg.Label == "" || sg.Spec == "" {
				t.Fatalf("parsePlan(%q): segment %d is %+v after %+v", value, i, sg, segs[max(i-1, 0)])
			}
		}
		if p.Duration() <= 0 || p.Duration() > MaxPlanDuration {
			t.Fatalf("parsePlan(%q): duration %v", value, p.Duration())
		}
		total := p.Hits(0, p.Duration())
		if !(total >= 1) || p.MeanRate() > MaxPlanRate {
			t.Fatalf("parsePlan(%q): %v hits in all, mean rate %v", value, total, p.MeanRate())
		}
		if total > 20000 {
			return
		}
		s := p.schedule(Shard{Index: 1, Count: 2})
		whole := p.schedule(Shard{})
		var n uint64
		prev := time.Duration(0)
		for ; ; n++ {
			at := whole.at(n)
			if at >= p.Duration() {
				break
			}
			if at < prev {
				t.Fatalf("parsePlan(%q): at(%d) = %v before at(%d) = %v", value, n, at, n-1, prev)
			}
			prev = at
			for _, tt := range []time.Duration{at - 1, at} {
				if got := whole.due(tt); (at <= tt) != (n < got) {
					t.Fatalf("parsePlan(%q): at(%d) = %v but due(%v) = %d", value, n, at, tt, got)
				}
			}
			if n%2 == 1 && s.at(n/2) != at {
				t.Fatalf("parsePlan(%q): shard 2/2's hit %d at %v, the plan's %d at %v", value, n/2, s.at(n/2), n, at)
			}
		}
		if math.Abs(float64(n)-total) > 1 {
			t.Fatalf("parsePlan(%q): %d hits, the integral is %v", value, n, total)
		}
		if got := whole.due(p.Duration()); got != n {
			t.Fatalf("parsePlan(%q): due(end) = %d, at says %d hits", value, got, n)
		}
	})
}

// TestPieceFirst checks the search to the nanosecond: a hit is due at the
// first ns by which the piece's integral, as evaluated, reaches it, not at
// a nanosecond near the closed-form estimate.
func TestPieceFirst(t *testing.T) {
	for _, value := range []string{"ramp:0..50000/60s", "ramp:7000..10/3s", "sine:5000,2000,1s,45/3s", "sine:300,300,700ms/2s"} {
		p, err := ParsePlan(value)
		if err != nil {
			t.Fatal(err)
		}
		pc := &p.pieces[0]
		total := pc.next
		for i := 1; i < 2000; i++ {
			y := total * float64(i) / 2000 * (1 + 1e-7*float64(i%7))
			ns := pc.first(y)
			if ns >= int64(pc.length) {
				continue
			}
			if pc.integralAt(ns) < y || (ns > 0 && pc.integralAt(ns-1) >= y) {
				t.Fatalf("%s: first(%v) = %dns, where the integral is %v, and %v a ns before", value, y, ns, pc.integralAt(ns), pc.integralAt(ns-1))
			}
		}
	}
}

func TestPlanPeakRate(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want float64
	}{
		{"steps:100,300,200/1s;ramp:50..700/1s", 700},
		{"steps:100,300,200/1s;sine:1000,400,10s/20s;ramp:50..700/1s", 1400},
		{"ramp:900..0/1s;0/1s", 900},
	} {
		p, err := ParsePlan(tc.spec)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.PeakRate(); got != tc.want {
			t.Errorf("%s: peak %v/s, want %v/s", tc.spec, got, tc.want)
		}
	}
	if got := ConstantPlan(Rate{Freq: 500, Per: 100 * time.Millisecond}, time.Second).PeakRate(); got != 5000 {
		t.Errorf("constant 500/100ms: peak %v/s, want 5000", got)
	}
}
