package finding

import "strings"

// Redact masks a secret for display: it keeps at most four characters at each end, and fewer
// for short values, so a reader can recognise which credential it is without being able to
// use it. Values of eight characters or fewer are masked completely.
func Redact(secret string) string {
	r := []rune(secret)
	n := len(r)
	keep := 0
	switch {
	case n <= 8:
		keep = 0
	case n <= 16:
		keep = 2
	default:
		keep = 4
	}
	if keep == 0 {
		return strings.Repeat("*", max(n, 4))
	}
	return string(r[:keep]) + strings.Repeat("*", n-2*keep) + string(r[n-keep:])
}
