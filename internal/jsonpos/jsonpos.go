// Package jsonpos turns the byte offset of an encoding/json error into the
// line and column a person looks for in the file, for the error messages of
// every JSON file perf reads (run.json, search.json, a flags file).
package jsonpos

import "bytes"

// Position returns the 1-based line and column of offset in data, as
// encoding/json's SyntaxError and UnmarshalTypeError report it: the offset
// just past the byte at fault, so that byte's line and column.
func Position(data []byte, offset int64) (line, col int) {
	prefix := data[:min(max(int(offset), 0), len(data))]
	// An offset just past a line end (the input ended there, say) is shown
	// at that line end, not at column 0 of the next line.
	if len(prefix) > 1 && prefix[len(prefix)-1] == '\n' {
		prefix = prefix[:len(prefix)-1]
		defer func() { col++ }()
	}
	line = 1 + bytes.Count(prefix, []byte("\n"))
	col = len(prefix) - bytes.LastIndexByte(prefix, '\n') - 1
	return line, col
}
