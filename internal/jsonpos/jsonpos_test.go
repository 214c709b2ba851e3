package jsonpos

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestPosition(t *testing.T) {
	for _, tc := range []struct {
		data      string
		line, col int
	}{
		{"{\"a\": x}", 1, 7},
		{"{\n  \"a\": 1,\n  \"b\": ?\n}", 3, 8},
		{"{\"a\":", 1, 5},
		{"{\"a\":\n  1\n", 2, 4},
	} {
		var v any
		err := json.Unmarshal([]byte(tc.data), &v)
		var se *json.SyntaxError
		if !errors.As(err, &se) {
			t.Fatalf("%q: %v, want a syntax error", tc.data, err)
		}
		if line, col := Position([]byte(tc.data), se.Offset); line != tc.line || col != tc.col {
			t.Errorf("%q: line %d column %d, want %d %d (%v)", tc.data, line, col, tc.line, tc.col, err)
		}
	}
}
