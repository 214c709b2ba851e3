package service

// parseID parses an item id as it appears in the URL: a canonical decimal
// number, 0 to 18446744073709551615, with no sign, no leading zeros and
// nothing else. It is written by hand because it runs on every request and
// must not allocate.
func parseID[T string | []byte](s T) (uint64, bool) {
	if len(s) == 0 || len(s) > 20 || (s[0] == '0' && len(s) > 1) {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		d := uint64(s[i] - '0')
		if d > 9 {
			return 0, false
		}
		if n > (1<<64-1-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}
