package profiles

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// ErrNotFound marks a name that is not a built-in profile.
var ErrNotFound = errors.New("no such built-in profile")

//go:embed *.yaml
var files embed.FS

// FS returns the built-in profiles as a file system of NAME.yaml files.
func FS() fs.FS { return files }

// Names returns the names of the built-in profiles, sorted.
func Names() []string {
	entries, _ := fs.ReadDir(files, ".") // an embed.FS root always reads
	var names []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".yaml"); ok && !e.IsDir() {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// Load returns the YAML of the built-in profile name.
func Load(name string) ([]byte, error) {
	if name == "" || strings.ContainsAny(name, `/\`) || path.Clean(name) != name {
		return nil, fmt.Errorf("profile %q: %w (built-in names: %s)", name, ErrNotFound, strings.Join(Names(), ", "))
	}
	data, err := fs.ReadFile(files, name+".yaml")
	if err != nil {
		return nil, fmt.Errorf("profile %q: %w (built-in names: %s)", name, ErrNotFound, strings.Join(Names(), ", "))
	}
	return data, nil
}
