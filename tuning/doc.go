// Package tuning checks, applies and reverts host tuning profiles: sysctls,
// the open-files limit and a few sysfs settings such as transparent
// hugepages and the CPU frequency governor.
//
// A Profile is a list of Settings, each a key, a wanted Value and a one-line
// why. Values are exact ("0"), at-least or at-most (">=4096", "<=10", with
// TuneD's semantics: a value that is already better is never lowered),
// alternatives ("madvise|never") or several whitespace-separated fields
// compared one by one ("<=1024 >=65535").
//
// Every function works on a root directory, "/" on a real host: reads and
// writes go to ROOT/proc/sys, ROOT/sys and ROOT/etc, so tests and dry runs use
// fixture trees the way node_exporter's --path.procfs does. Keys are
// validated before anything is touched, and a key whose resolved path leaves
// ROOT/proc/sys (or ROOT/sys) is refused.
//
// Apply saves the original value of every key it is about to change in a
// state file (written to a temporary file, synced and renamed) before it
// writes anything, and when a write fails it restores the keys it already
// wrote, so a host is never left half-tuned. Revert writes the saved values
// back (for a sysfs choice list, the chosen word; see Saved) and removes the
// state file, and the directories apply created for it.
//
// The package knows nothing of cobra, of exit codes or of where profiles come
// from beyond the embedded built-ins in package profiles; it never logs and
// never exits. Diagnostics are returned as data (Warning) for the caller to
// print.
package tuning
