package statsd

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// Name joins parts with '.' into a metric name, each part sanitized: every
// character other than an ASCII letter, digit, '_' or '-' becomes '_', and
// an empty part is "_". A part never adds a level to the name, so a
// variant called "v1.2: fast|new" is one level, "v1_2__fast_new", and a
// dashboard's wildcards keep their places.
func Name(parts ...string) string {
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteByte('.')
		}
		appendPart(&b, p)
	}
	return b.String()
}

func appendPart(b *strings.Builder, p string) {
	if p == "" {
		b.WriteByte('_')
		return
	}
	for i := 0; i < len(p); {
		c := p[i]
		if c < utf8.RuneSelf {
			if !plainByte(c) {
				c = '_'
			}
			b.WriteByte(c)
			i++
			continue
		}
		_, size := utf8.DecodeRuneInString(p[i:])
		b.WriteByte('_')
		i += size
	}
}

func plainByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}

// sanitizeDotted sanitizes a dot-separated name part by part, as Name.
func sanitizeDotted(name string) string {
	return Name(strings.Split(name, ".")...)
}

// checkDotted reports why name is not dot-separated parts of letters,
// digits, '_' and '-'.
func checkDotted(name string) error {
	for _, p := range strings.Split(name, ".") {
		if p == "" {
			return errors.New("want dot-separated parts of ASCII letters, digits, '_' and '-', none empty")
		}
		for i := 0; i < len(p); i++ {
			if !plainByte(p[i]) {
				return errors.New("want dot-separated parts of ASCII letters, digits, '_' and '-'")
			}
		}
	}
	return nil
}
