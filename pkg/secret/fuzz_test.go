package secret

import (
	"bytes"
	"github.com/imgharden/imgharden/internal/secrettest"
	"strings"
	"testing"
)

// plant returns a well-formed secret line of one of the kinds, chosen by sel.
func plant(sel uint8, seed uint64) string {
	switch sel % 14 {
	case 0:
		return "aws_access_key_id = " + secrettest.AWSKeyID(seed)
	case 1:
		return "aws_secret_access_key = " + secrettest.AWSSecret(seed)
	case 2:
		return "token: " + secrettest.GitHub(seed)
	case 3:
		return secrettest.GitHubPAT(seed)
	case 4:
		return secrettest.GitLab(seed)
	case 5:
		return secrettest.Slack(seed)
	case 6:
		return secrettest.SlackWebhook(seed)
	case 7:
		return "//registry.npmjs.org/:_authToken=" + secrettest.NPM(seed)
	case 8:
		return "password = " + secrettest.PyPI(seed)
	case 9:
		return secrettest.DockerHub(seed)
	case 10:
		return secrettest.PEM(seed, "OPENSSH PRIVATE KEY")
	case 11:
		return "DB_PASSWORD=" + secrettest.Password(seed)
	case 12:
		return "url = https://u:" + secrettest.Password(seed) + "@git.example.org/x"
	default:
		return "machine h login u password " + secrettest.Password(seed)
	}
}

var fuzzPaths = []string{"/app/notes.txt", "/app/.env", "/root/.aws/credentials", "/root/.npmrc",
	"/root/.netrc", "/root/.pypirc", "/root/.git-credentials", "/root/.docker/config.json",
	"/etc/app/config.yaml"}

// FuzzDetect plants a secret between arbitrary text and checks the detector's invariants on
// every entry point: no panic, matches inside the input, sorted and disjoint, correct line
// numbers, and no match's secret ever visible in its evidence or in the redacted text.
func FuzzDetect(f *testing.F) {
	f.Add("", "", uint8(2), uint64(1), uint8(0))
	f.Add("-----BEGIN RSA PRIVATE KEY-----\n", "\n-----END", uint8(10), uint64(2), uint8(1))
	f.Add("[default]\n", "\n", uint8(1), uint64(3), uint8(2))
	f.Add(`{"auths": {"r.io": {"auth": "`, `"}}}`, uint8(11), uint64(4), uint8(7))
	f.Add("password: ", " # x", uint8(12), uint64(5), uint8(8))
	f.Add("\\n", "\\n", uint8(10), uint64(6), uint8(1))
	f.Add("ghp_", "AKIA", uint8(0), uint64(7), uint8(4))
	f.Add("ENV DB_PASSWORD ", "", uint8(11), uint64(8), uint8(0))
	f.Add("|2 A=", " /bin/sh -c x", uint8(11), uint64(9), uint8(0))
	f.Fuzz(func(t *testing.T, prefix, suffix string, sel uint8, seed uint64, pathSel uint8) {
		input := prefix + "\n" + plant(sel, seed) + "\n" + suffix
		data := []byte(input)
		path := fuzzPaths[int(pathSel)%len(fuzzPaths)]
		for _, ms := range [][]Match{Detect(data, ModeTokens), Detect(data, ModeConfig), DetectFile(path, data), DetectInstruction(input)} {
			checkInvariants(t, data, ms)
		}
		for _, in := range []string{"RUN |1 " + input, "ENV " + input, "/bin/sh -c #(nop)  ARG " + input} {
			checkInvariants(t, []byte(in), DetectInstruction(in))
		}
		for _, redact := range []struct {
			name   string
			fn     func(string) string
			detect func(string) []Match
		}{
			{"RedactText", RedactText, func(s string) []Match { return DetectString(s, ModeConfig) }},
			{"RedactInstruction", RedactInstruction, DetectInstruction},
		} {
			red := redact.fn(input)
			ms := redact.detect(input)
			for _, m := range ms {
				v := input[m.Start:m.End]
				if len(v) > 8 && onlyInMatches(data, v, ms) && strings.Contains(red, v) {
					t.Fatalf("%s leaks %s %q", redact.name, m.Kind, v)
				}
			}
		}
	})
}

func checkInvariants(t *testing.T, data []byte, ms []Match) {
	t.Helper()
	prevEnd := 0
	for i, m := range ms {
		if m.Kind == KindNone || m.Kind >= numKinds {
			t.Fatalf("match %d has kind %d", i, m.Kind)
		}
		if m.Start < prevEnd || m.End < m.Start || m.End > len(data) {
			t.Fatalf("match %d [%d,%d) out of order or bounds (prev end %d, len %d)", i, m.Start, m.End, prevEnd, len(data))
		}
		prevEnd = m.End
		if want := bytes.Count(data[:m.Start], nl) + 1; m.Line != want {
			t.Fatalf("match %d line %d, want %d", i, m.Line, want)
		}
		v := string(data[m.Start:m.End])
		ev := m.Evidence(data)
		if len(v) > 8 && strings.Contains(ev, v) {
			t.Fatalf("evidence %q shows the whole %s %q", ev, m.Kind, v)
		}
		if strings.Contains(m.Key, v) && len(v) > 8 {
			t.Fatalf("key %q holds the %s", m.Key, m.Kind)
		}
		if strings.Contains(m.Note, v) && len(v) > 8 {
			t.Fatalf("note %q holds the %s", m.Note, m.Kind)
		}
	}
	red := Redact(data, ms)
	for _, m := range ms {
		v := string(data[m.Start:m.End])
		if len(v) > 8 && onlyInMatches(data, v, ms) && strings.Contains(red, v) {
			t.Fatalf("Redact leaks %s %q:\n%s", m.Kind, v, red)
		}
	}
}

// onlyInMatches reports whether every occurrence of v in data lies inside a match: only then
// must redaction remove all of them.
func onlyInMatches(data []byte, v string, ms []Match) bool {
	for off := 0; ; {
		i := bytes.Index(data[off:], []byte(v))
		if i < 0 {
			return true
		}
		s, e := off+i, off+i+len(v)
		inside := false
		for _, m := range ms {
			if m.Start <= s && e <= m.End {
				inside = true
				break
			}
		}
		if !inside {
			return false
		}
		off = s + 1
	}
}

// TestPlantedSecretsAreFound checks the fuzz generator itself: every planted kind is
// detected on its own, so the fuzz invariants are exercised on real matches.
func TestPlantedSecretsAreFound(t *testing.T) {
	for sel := range uint8(14) {
		for seed := range uint64(20) {
			line := plant(sel, seed)
			found := 0
			for _, p := range fuzzPaths {
				found += len(DetectFile(p, []byte(line)))
			}
			found += len(DetectString(line, ModeConfig))
			if found == 0 {
				t.Errorf("sel %d seed %d: nothing found in %q", sel, seed, line)
			}
		}
	}
}
