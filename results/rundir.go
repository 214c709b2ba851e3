package results

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/perf-tools/perf/internal/atomicfile"
	"github.com/perf-tools/perf/internal/jsonpos"
)

// Names of the files of a run directory (DESIGN.md, "Run directory");
// HostFile is with the host samples in host.go.
const (
	RunFile      = "run.json"
	HlogFile     = "latency.hlog"
	TimelineFile = "timeline.csv"
	PprofDir     = "pprof"
	HTMLFile     = "report.html"
)

// RunDirTimeLayout is the layout of the UTC start time that begins a run
// directory's name.
const RunDirTimeLayout = "20060102T150405Z"

// maxNameLen bounds the name part of a run directory's name.
const maxNameLen = 64

// NewRunDir creates and returns a new run directory under parent, named
// "<UTC start time>-<name>" (for example 20261127T123456Z-smoke), creating
// parent as needed. The name is reduced to letters, digits, '.', '_' and
// '-'. An existing directory is never reused: a suffix "-2", "-3", ... is
// added instead.
func NewRunDir(parent, name string, started time.Time) (string, error) {
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", fmt.Errorf("create run directory parent: %w", err)
	}
	base := started.UTC().Format(RunDirTimeLayout) + "-" + sanitizeName(name)
	for i := 1; i < 1000; i++ {
		dir := filepath.Join(parent, base)
		if i > 1 {
			dir = fmt.Sprintf("%s-%d", dir, i)
		}
		err := os.Mkdir(dir, 0o755)
		if err == nil {
			return dir, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("create run directory: %w", err)
		}
	}
	return "", fmt.Errorf("create run directory %s: too many runs of that name and time", filepath.Join(parent, base))
}

// sanitizeName makes name safe as part of a file name.
func sanitizeName(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'
		if !ok {
			r = '-'
		}
		if r == '-' && dash {
			continue
		}
		dash = r == '-'
		b.WriteRune(r)
	}
	s := strings.Trim(b.String(), "-.")
	if len(s) > maxNameLen {
		s = strings.Trim(s[:maxNameLen], "-.")
	}
	if s == "" {
		return "run"
	}
	return s
}

// WriteRun writes r to dir/run.json atomically (a temporary file renamed
// over it), as indented JSON. An empty Schema is written as Schema; nil maps
// and slices are written as empty ones, so that scripts can rely on them.
func WriteRun(dir string, r *Run) error {
	data, err := MarshalRun(r)
	if err != nil {
		return err
	}
	return WriteFileAtomic(filepath.Join(dir, RunFile), data)
}

// WriteFileAtomic writes data to path through a temporary file in the same
// directory, synced and renamed over path, so a reader (or a crash) never
// sees half a file. The file is readable by all (0644), as run directories
// are shared artifacts.
func WriteFileAtomic(path string, data []byte) error {
	if err := atomicfile.Write(path, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// MarshalRun returns run.json's content for r: indented JSON ending in a
// newline, normalised as WriteRun describes.
func MarshalRun(r *Run) ([]byte, error) {
	data, err := json.MarshalIndent(normalized(r), "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode run: %w", err)
	}
	return append(data, '\n'), nil
}

// MarshalRuns returns runs as an indented JSON array of run.json
// documents, normalised as WriteRun describes.
func MarshalRuns(runs []*Run) ([]byte, error) {
	all := make([]*Run, len(runs))
	for i, r := range runs {
		all[i] = normalized(r)
	}
	data, err := json.MarshalIndent(all, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode runs: %w", err)
	}
	return append(data, '\n'), nil
}

// normalized returns a copy of r with the schema set and nil collections
// made empty.
func normalized(r *Run) *Run {
	c := *r
	if c.Schema == "" {
		c.Schema = Schema
	}
	if c.Command == nil {
		c.Command = []string{}
	}
	if c.StatusCodes == nil {
		c.StatusCodes = map[string]int64{}
	}
	if c.ErrorKinds == nil {
		c.ErrorKinds = map[string]int64{}
	}
	if c.InvalidReasons == nil {
		c.InvalidReasons = []string{}
	}
	if c.SLO == nil {
		c.SLO = []Verdict{}
	}
	return &c
}

// ReadRun reads dir/run.json. The errors say what is wrong: dir missing or
// not a directory, run.json missing (ErrNotRunDir), not JSON, or of another
// schema (ErrSchema, naming both schemas).
func ReadRun(dir string) (*Run, error) {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read run %s: no such directory", dir)
	}
	if err != nil {
		return nil, fmt.Errorf("read run %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("read run %s: not a directory; expected a run directory written by perf attack", dir)
	}
	path := filepath.Join(dir, RunFile)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s is %w: %s missing", dir, ErrNotRunDir, RunFile)
	}
	if err != nil {
		return nil, fmt.Errorf("read run %s: %w", dir, err)
	}
	defer f.Close()
	return DecodeRun(f, path)
}

// DecodeRun decodes run.json's content from r; name names the input in
// errors.
func DecodeRun(r io.Reader, name string) (*Run, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	var head struct {
		Schema *string `json:"schema"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("read %s: expected run.json's JSON object: %s", name, jsonErrorText(data, err))
	}
	if head.Schema == nil {
		return nil, fmt.Errorf("read %s: %w: no \"schema\" field; expected %q", name, ErrSchema, Schema)
	}
	if *head.Schema != Schema {
		return nil, fmt.Errorf("read %s: %w %q; this perf reads %q", name, ErrSchema, *head.Schema, Schema)
	}
	var run Run
	if err := json.Unmarshal(data, &run); err != nil {
		return nil, fmt.Errorf("read %s: expected run.json's fields: %s", name, jsonErrorText(data, err))
	}
	return &run, nil
}

// jsonErrorText describes a JSON decoding error with its line number.
func jsonErrorText(data []byte, err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line, _ := jsonpos.Position(data, se.Offset)
		return fmt.Sprintf("line %d: %v", line, err)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		line, _ := jsonpos.Position(data, te.Offset)
		return fmt.Sprintf("line %d: field %q: expected %v, got JSON %s", line, te.Field, te.Type, te.Value)
	}
	return err.Error()
}
