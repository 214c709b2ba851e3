package results

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Errors of LoadSearch; match them with errors.Is. They sit here beside
// the search's loader, as ErrHostSchema sits beside host.json's.
var (
	// ErrNotSearchDir reports a directory without search.json.
	ErrNotSearchDir = errors.New("not a perf search directory")
	// ErrSearchSchema reports a search.json of another schema than
	// SearchSchema.
	ErrSearchSchema = errors.New("unsupported search.json schema")
)

// LoadSearch reads dir/search.json, the summary perf attack search writes
// beside its steps' run directories. The errors name the file and say what
// is wrong: dir or search.json missing (ErrNotSearchDir), not JSON, or of
// another schema (ErrSearchSchema, naming both schemas), so that a
// directory of another kind, or of a newer perf, is refused rather than
// misread.
func LoadSearch(dir string) (*Search, error) {
	path := filepath.Join(dir, SearchFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w: no %s; expected the directory perf attack search wrote", path, ErrNotSearchDir, SearchFile)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var head struct {
		Schema *string `json:"schema"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("read %s: expected search.json's JSON object: %s", path, jsonErrorText(data, err))
	}
	if head.Schema == nil {
		return nil, fmt.Errorf("read %s: %w: no \"schema\" field; expected %q", path, ErrSearchSchema, SearchSchema)
	}
	if *head.Schema != SearchSchema {
		return nil, fmt.Errorf("read %s: %w %q; this perf reads %q", path, ErrSearchSchema, *head.Schema, SearchSchema)
	}
	var s Search
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("read %s: expected search.json's fields: %s", path, jsonErrorText(data, err))
	}
	return &s, nil
}

// WriteSearch writes s to dir/search.json atomically (WriteFileAtomic), as
// indented JSON ending in a newline, so that a reader polling a search
// still under way never sees half a file. An empty Schema is written as
// SearchSchema; a nil Command, SLO or Steps as an empty list, so that
// scripts can rely on them.
func WriteSearch(dir string, s *Search) error {
	c := *s
	if c.Schema == "" {
		c.Schema = SearchSchema
	}
	if c.Command == nil {
		c.Command = []string{}
	}
	if c.SLO == nil {
		c.SLO = []string{}
	}
	if c.Steps == nil {
		c.Steps = []SearchStep{}
	}
	data, err := json.MarshalIndent(&c, "", "  ")
	if err != nil {
		return fmt.Errorf("encode search: %w", err)
	}
	return WriteFileAtomic(filepath.Join(dir, SearchFile), append(data, '\n'))
}
