// Package atomicfile replaces a file's content in one step: a reader, or the
// file system after a crash, sees either the old content or the new, never
// a mix or a truncated file.
//
// Write is the project's one atomic writer. It writes to a temporary file in
// the target's directory (a rename is atomic only within one file system),
// syncs it, gives it the requested permissions, renames it over the target
// and syncs the directory so the rename itself is durable. On any failure
// before the rename the temporary file is removed and the target keeps its
// old content.
//
// The run directory (run.json, host.json, pprof profiles) and the tuning
// state file are written through it. The package knows nothing of either:
// it takes bytes and a path, never logs and never exits.
package atomicfile
