// Package percentile is perf's one percentile rule, the reference Java
// HdrHistogram's: Values reads percentiles off an HdrHistogram by nearest
// rank. It lives on its own so that both halves use it: package results
// (run.json, the timeline, the plots) through results.ValuesAtPercentiles,
// and package service (the ghost candidate's latency in GET /ghost), which
// must not import the generator's packages. It knows nothing of runs,
// units or servers.
package percentile
