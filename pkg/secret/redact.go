package secret

import (
	"strings"

	"github.com/imgharden/imgharden/pkg/finding"
)

// maxStars caps the run of asterisks in a masked value, so a 200-character token does not
// print 192 of them. The masked form keeps finding.Redact's ends.
const maxStars = 16

// Mask hides a secret for display with finding.Redact (at most four characters at each end,
// nothing for short values), and shortens long runs of asterisks.
func Mask(v string) string {
	r := finding.Redact(v)
	if i := strings.IndexByte(r, '*'); i >= 0 {
		j := strings.LastIndexByte(r, '*') + 1
		if j-i > maxStars {
			r = r[:i] + strings.Repeat("*", maxStars) + r[j:]
		}
	}
	return r
}

// Evidence is the redacted display form of m: the masked secret in its non-secret context
// ("https://deploy:****@git.example.com", "-----BEGIN RSA PRIVATE KEY----- MIIE****...").
// input is what m was found in.
func (m Match) Evidence(input []byte) string {
	switch m.Kind {
	case KindPrivateKey:
		// Show the header and the masked start of the body; the body spans several lines.
		body := make([]byte, 0, 64)
		for _, c := range input[m.Start:m.End] {
			if len(body) == 64 {
				break
			}
			if isB64(c) {
				body = append(body, c)
			}
		}
		return m.Note + " " + Mask(string(body))
	case KindURLCredentials, KindSlackWebhook, KindGitCredentials:
		return string(input[m.ctxStart:m.Start]) + Mask(string(input[m.Start:m.End])) +
			string(input[m.End:m.ctxEnd])
	}
	return Mask(string(input[m.Start:m.End]))
}

// Redact returns input with the secret of every match replaced by its mask. A private key
// body is replaced whole. Text outside the matches is kept as is.
func Redact(input []byte, ms []Match) string {
	if len(ms) == 0 {
		return string(input)
	}
	var b strings.Builder
	b.Grow(len(input))
	at := 0
	for _, m := range ms {
		if m.Start < at || m.End > len(input) {
			continue // overlapping or foreign matches: never emit a partial secret twice
		}
		b.Write(input[at:m.Start])
		if m.Kind == KindPrivateKey {
			b.WriteString("****")
		} else {
			b.WriteString(Mask(string(input[m.Start:m.End])))
		}
		at = m.End
	}
	b.Write(input[at:])
	return b.String()
}

// RedactText masks every secret that Detect finds in s with ModeConfig: tokens, private
// keys, passwords in URLs and secret assignments (DB_PASSWORD=...). It returns s itself when
// there is nothing to hide. Use it on any text that may carry a credential before printing it:
// history lines, error messages with URLs, command lines.
func RedactText(s string) string {
	ms := DetectString(s, ModeConfig)
	if ms == nil {
		return s
	}
	return Redact(unsafeBytes(s), ms)
}
