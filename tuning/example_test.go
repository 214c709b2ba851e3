package tuning_test

import (
	"fmt"

	"github.com/perf-tools/perf/tuning"
)

// ExampleCheck checks a profile against the fixture tree in testdata/root,
// as perf tune check --root testdata/root does.
func ExampleCheck() {
	p, err := tuning.LoadProfile("testdata/fixture.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	results, err := tuning.Check("testdata/root", p)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range results[:4] {
		fmt.Printf("%s %q wants %s: %s (%s)\n", r.Key, r.Current, r.Wanted, r.Status, r.Scope)
	}
	s := tuning.Summarize(p.Name, results)
	fmt.Println("drift:", len(s.Drift), "first:", s.Drift[0])
	// Output:
	// net.core.somaxconn "128" wants >=4096: drift (netns)
	// net.ipv4.ip_local_port_range "32768 60999" wants <=1024 >=65535: drift (netns)
	// net.ipv4.tcp_fin_timeout "60" wants <=30: drift (netns)
	// net.ipv4.tcp_tw_reuse "2" wants 2: ok (netns)
	// drift: 7 first: net.core.somaxconn
}

// ExampleValue shows TuneD's semantics: a bound never lowers a better value,
// and a multi-field value changes only the fields that drift.
func ExampleValue() {
	v, _ := tuning.ParseValue("<=1024 >=65535")
	for _, cur := range []string{"32768\t60999\n", "500\t60999\n"} {
		target, _ := v.Target(cur)
		fmt.Printf("%q satisfied: %v, write %q\n", cur, v.Satisfied(cur), target)
	}
	// Output:
	// "32768\t60999\n" satisfied: false, write "1024 65535"
	// "500\t60999\n" satisfied: false, write "500 65535"
}
