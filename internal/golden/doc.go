// Package golden compares a test's output with a golden file under
// testdata/, and rewrites the file instead when UPDATE_GOLDEN=1 is set. It
// is for tests only.
package golden
