// Package search is the algorithm of perf attack search: it finds the
// highest offered rate at which a target meets its SLOs.
//
// The algorithm (search.go) knows nothing of HTTP, of the attack engine or
// of the command line. A step is a Trial, a function that runs one step at an offered rate
// and returns it judged (pass, fail or generator-bound); the caller's trial
// runs a real attack and judges it by the SLOs, while this package's tests
// pass fake trials and a fake clock so that the whole algorithm runs in
// microseconds. Run returns the search as search.json holds it
// (results.Search); writing it is the caller's work.
//
// How a search runs (rates in requests per second, each offered rate
// rounded to a whole number, at least 1):
//
//  1. Grow: from Min, multiply the rate by Growth (at most Max) while steps
//     pass. The first failure brackets the answer: lo is the highest rate
//     that passed, hi the one that failed. A failure at Min ends the search
//     (fails-at-min); a pass at Max leaves no bracket to narrow.
//  2. Bisect: while hi/lo is above 1+Precision, try the geometric mean
//     sqrt(lo*hi), rounded. Capacity is a ratio question (2% of 100/s is
//     not 2% of 100,000/s), so the bracket is halved in log space: every
//     step halves log(hi/lo), and the number of steps depends on Growth and
//     Precision only, not on where the answer lies.
//  3. Confirm: repeat the step at lo Confirmations times. A load test is
//     noisy, and one pass near the limit may be luck. If all hold, lo is
//     the answer (found, or passes-at-max when lo is Max). If one fails,
//     the answer is lowered: hi becomes lo, lo the highest rate below it
//     that passed before, the new bracket is bisected again when it is
//     wider than Precision, and the new lo is confirmed in turn. After
//     MaxLowerings lowerings, or when nothing passed below, the outcome is
//     not-confirmed.
//
// A step the generator could not keep (generator-bound) ends the search at
// once: past that rate the generator, not the target, is measured, so no
// capacity is claimed above it. A time limit ends the search before a step
// that would not finish within it, and a cancelled context ends it as
// interrupted; both keep the bracket learnt so far.
//
// Steps (trial.go) is the trial of perf attack search: each step is a
// whole recorded run (harness.Run) in a run directory of its own, that
// gives up early once an SLO has failed beyond doubt (Limits), judged
// generator-bound when the generator, not the target, could not keep its
// plan (harness.Health.GeneratorBound); after a failed step it probes the
// target until it answers within the SLO again.
package search
