package atomicfile_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/perf-tools/perf/internal/atomicfile"
)

func ExampleWrite() {
	dir, err := os.MkdirTemp("", "atomicfile")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "run.json")

	for _, content := range []string{`{"v":1}`, `{"v":2}`} {
		if err := atomicfile.Write(path, []byte(content), 0o644); err != nil {
			fmt.Println(err)
			return
		}
	}
	b, _ := os.ReadFile(path)
	fmt.Println(string(b))
	// Output: {"v":2}
}
