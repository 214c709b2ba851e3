// A backend for Etsy's StatsD daemon that prints, at each flush, what the
// daemon aggregated since the last one, as one JSON line on stdout after
// the marker "STATSDTEST ". Package statsdtest reads it.
exports.init = function (startupTime, config, events) {
  events.on('flush', function (timestamp, metrics) {
    const timerCounts = {};
    for (const k in metrics.timer_data) {
      timerCounts[k] = metrics.timer_data[k].count;
    }
    const timerValues = {};
    for (const k in metrics.timers) {
      timerValues[k] = metrics.timers[k].length;
    }
    process.stdout.write('STATSDTEST ' + JSON.stringify({
      counters: metrics.counters,
      timer_counts: timerCounts,
      timer_values: timerValues,
      gauges: metrics.gauges,
    }) + '\n');
  });
  return true;
};
