package results

import (
	"fmt"
	"strconv"
)

// Labels names each run for a table column or a plot's legend: given[i]
// when there is one (a run directory, say), else the run's name when no
// other run has it, else its directory-style name (start time and name).
// Labels still alike are told apart by " (2)", " (3)", ...
func Labels(runs []*Run, given []string) []string {
	seen := map[string]int{}
	for _, r := range runs {
		seen[r.Name]++
	}
	labels := make([]string, len(runs))
	for i, r := range runs {
		switch {
		case i < len(given) && given[i] != "":
			labels[i] = given[i]
		case r.Name != "" && seen[r.Name] == 1:
			labels[i] = r.Name
		case r.StartedAt.IsZero():
			labels[i] = "run " + strconv.Itoa(i+1)
		default:
			labels[i] = r.StartedAt.UTC().Format(RunDirTimeLayout) + "-" + sanitizeName(r.Name)
		}
	}
	for i, l := range labels {
		n := 0
		for j := 0; j < i; j++ {
			if labels[j] == l {
				n++
			}
		}
		if n > 0 {
			labels[i] = fmt.Sprintf("%s (%d)", l, n+1)
		}
	}
	return labels
}
