package tuning

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/perf-tools/perf/profiles"
)

// Profile is a named set of host settings. After LoadProfile it is resolved:
// the settings of an included profile come first, and the including profile
// overrides them key by key.
type Profile struct {
	// Name names the profile; built-in profiles are chosen by it.
	Name string `yaml:"name" json:"name"`
	// Description says what the profile is for, in a sentence.
	Description string `yaml:"description" json:"description"`
	// Include names a profile (built-in name or path relative to this
	// file) whose settings this one starts from.
	Include string `yaml:"include,omitempty" json:"include,omitempty"`
	// Settings are the wanted values.
	Settings []Setting `yaml:"settings" json:"settings"`
	// Source is where the profile came from: "builtin" or a file path.
	Source string `yaml:"-" json:"source"`
}

// Setting is one wanted host setting.
type Setting struct {
	// Key names the setting: a dotted sysctl, rlimit.nofile or a /sys path.
	Key string `yaml:"key" json:"key"`
	// Value is the wanted value; see ParseValue.
	Value string `yaml:"value" json:"value"`
	// Why says in one line what the setting does and where the
	// recommendation comes from.
	Why string `yaml:"why" json:"why"`
	// From names the profile that set the value, after include.
	From string `yaml:"-" json:"from,omitempty"`
}

// maxProfileSize bounds a profile file; real ones are a few kilobytes.
const maxProfileSize = 1 << 20

// maxIncludeDepth bounds include chains.
const maxIncludeDepth = 8

var profileName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// ParseProfile parses and validates one profile document without resolving
// its include. source names the input in errors.
func ParseProfile(data []byte, source string) (*Profile, error) {
	if len(data) > maxProfileSize {
		return nil, fmt.Errorf("profile %s: %w: larger than %d bytes", source, ErrInvalidProfile, maxProfileSize)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var p Profile
	if err := dec.Decode(&p); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("profile %s: %w: empty document, want name, description and settings", source, ErrInvalidProfile)
		}
		var te *yaml.TypeError
		if errors.As(err, &te) {
			return nil, fmt.Errorf("profile %s: %w: %s (a profile has name, description, include and settings; a setting has key, value and why)", source, ErrInvalidProfile, strings.Join(te.Errors, "; "))
		}
		return nil, fmt.Errorf("profile %s: %w: %v", source, ErrInvalidProfile, err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("profile %s: %w: want exactly one YAML document", source, ErrInvalidProfile)
	}
	p.Source = source
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("profile %s: %w", source, err)
	}
	return &p, nil
}

// validate checks a parsed profile document.
func (p *Profile) validate() error {
	if !profileName.MatchString(p.Name) {
		return fmt.Errorf("%w: name %q: want 1-64 characters of [a-z0-9._-], starting with a letter or digit", ErrInvalidProfile, p.Name)
	}
	if strings.TrimSpace(p.Description) == "" {
		return fmt.Errorf("%w: description is missing: say in a sentence what the profile is for", ErrInvalidProfile)
	}
	if len(p.Settings) == 0 && p.Include == "" {
		return fmt.Errorf("%w: no settings and no include", ErrInvalidProfile)
	}
	seen := make(map[string]int, len(p.Settings))
	for i, s := range p.Settings {
		n := i + 1
		if _, err := ParseKey(s.Key); err != nil {
			return fmt.Errorf("setting %d: %w", n, err)
		}
		if prev, dup := seen[s.Key]; dup {
			return fmt.Errorf("%w: setting %d: key %q already set by setting %d", ErrInvalidProfile, n, s.Key, prev)
		}
		seen[s.Key] = n
		if _, err := ParseValue(s.Value); err != nil {
			return fmt.Errorf("setting %d (%s): %w", n, s.Key, err)
		}
		if strings.TrimSpace(s.Why) == "" {
			return fmt.Errorf("%w: setting %d (%s): why is missing: say what it does and the source of the recommendation", ErrInvalidProfile, n, s.Key)
		}
		p.Settings[i].From = p.Name
	}
	return nil
}

// LoadProfile loads a built-in profile by name, or a profile file by path
// (anything with a path separator or a .yaml/.yml suffix), and resolves its
// include chain.
func LoadProfile(nameOrPath string) (*Profile, error) {
	return load(nameOrPath, "", nil)
}

func load(ref, dir string, chain []string) (*Profile, error) {
	if len(chain) >= maxIncludeDepth {
		return nil, fmt.Errorf("profile %s: %w: includes nest deeper than %d: %s", ref, ErrInvalidProfile, maxIncludeDepth, strings.Join(chain, " -> "))
	}
	data, source, err := read(ref, dir)
	if err != nil {
		return nil, err
	}
	for _, c := range chain {
		if c == source {
			return nil, fmt.Errorf("profile %s: %w: include cycle: %s -> %s", source, ErrInvalidProfile, strings.Join(chain, " -> "), source)
		}
	}
	p, err := ParseProfile(data, source)
	if err != nil {
		return nil, err
	}
	if p.Include == "" {
		return p, nil
	}
	incDir := ""
	if !strings.HasPrefix(source, "builtin:") {
		incDir = filepath.Dir(source)
	}
	parent, err := load(p.Include, incDir, append(chain, source))
	if err != nil {
		return nil, fmt.Errorf("profile %s: include %s: %w", source, p.Include, err)
	}
	p.Settings = merge(parent.Settings, p.Settings)
	return p, nil
}

// read returns a profile's bytes and a name for its source.
func read(ref, dir string) ([]byte, string, error) {
	isPath := strings.ContainsRune(ref, '/') || strings.HasSuffix(ref, ".yaml") || strings.HasSuffix(ref, ".yml")
	if !isPath {
		data, err := profiles.Load(ref)
		if err == nil {
			return data, "builtin:" + ref, nil
		}
		return nil, "", fmt.Errorf("profile %q: %w: not a built-in profile (%s) and not a path to a .yaml file", ref, ErrUnknownProfile, strings.Join(profiles.Names(), ", "))
	}
	path := ref
	if dir != "" && !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", fmt.Errorf("profile %s: %w: no such file", path, ErrUnknownProfile)
	}
	if err != nil {
		return nil, "", fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxProfileSize+1))
	if err != nil {
		return nil, "", fmt.Errorf("read %s: %w", path, err)
	}
	return data, path, nil
}

// merge returns base's settings with over's applied: a key in both takes
// over's setting in base's position; new keys follow in over's order.
func merge(base, over []Setting) []Setting {
	out := make([]Setting, len(base), len(base)+len(over))
	copy(out, base)
	index := make(map[string]int, len(out))
	for i, s := range out {
		index[s.Key] = i
	}
	for _, s := range over {
		if i, ok := index[s.Key]; ok {
			out[i] = s
			continue
		}
		index[s.Key] = len(out)
		out = append(out, s)
	}
	return out
}

// Builtin returns the names of the built-in profiles.
func Builtin() []string { return profiles.Names() }
