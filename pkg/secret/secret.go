// Package secret finds credentials in text: private keys, cloud and API tokens with a known
// format, credentials files, password assignments in configuration, and passwords in URLs.
// It also redacts them, so that no caller ever has to print a whole secret.
//
// The detector makes one pass over the input with a case-folded Aho-Corasick automaton over a
// few dozen anchors ("private key", "akia", "ghp_", "password"...), and only at an anchor runs
// a small hand-written verifier. Inputs without secrets cost no allocation.
//
// Detect works on any text; DetectFile also knows credentials files by their path (.npmrc,
// .netrc, .aws/credentials...), looks for assignments only in configuration files (so a
// README that talks about passwords is not a finding), and knows the files that packages
// install (documentation examples and published test keys there are not findings). Values
// that are obviously placeholders (empty, "changeme", "${VAR}", "<password>", "xxx") are
// skipped everywhere.
package secret

import (
	"bytes"
	"slices"
	"sort"
	"strings"
	"unsafe"
)

// Kind is the kind of a secret.
type Kind uint8

// Kinds of secrets. Their order is stable: callers may index tables by Kind.
const (
	KindNone               Kind = iota
	KindPrivateKey              // PEM, OpenSSH or PGP private key block
	KindAWSAccessKeyID          // AKIA/ASIA... (an identifier, half of a credential)
	KindAWSSecretAccessKey      // 40 characters next to an aws_secret_access_key-like name
	KindGitHubToken             // ghp_, gho_, ghu_, ghs_, ghr_, github_pat_
	KindGitLabToken             // glpat-
	KindSlackToken              // xoxb-, xoxa-, xoxp-, xoxr-, xoxs-
	KindSlackWebhook            // https://hooks.slack.com/services/...
	KindNPMToken                // npm_
	KindPyPIToken               // pypi-AgEIcHlwaS5vcmc...
	KindDockerHubToken          // dckr_pat_
	KindURLCredentials          // scheme://user:password@host
	KindAWSCredentialsFile      // a secret in ~/.aws/credentials
	KindNpmrcAuth               // _authToken, _auth or _password in an .npmrc
	KindNetrcPassword           // password in a .netrc
	KindPypircPassword          // password in a .pypirc
	KindGitCredentials          // user:password@host in a .git-credentials store
	KindDockerConfigAuth        // auths.*.auth in a Docker or Podman config.json/auth.json
	KindAssignment              // password/secret/token = value in a configuration file
	numKinds
)

// NumKinds is one more than the largest Kind, for tables indexed by Kind.
const NumKinds = int(numKinds)

var kindInfo = [numKinds]struct {
	name, title string
	priority    int // lower wins when two matches overlap
}{
	KindNone:               {"none", "nothing", 1000},
	KindPrivateKey:         {"private-key", "private key", 20},
	KindAWSAccessKeyID:     {"aws-access-key-id", "AWS access key ID", 30},
	KindAWSSecretAccessKey: {"aws-secret-access-key", "AWS secret access key", 40},
	KindGitHubToken:        {"github-token", "GitHub token", 30},
	KindGitLabToken:        {"gitlab-token", "GitLab personal access token", 30},
	KindSlackToken:         {"slack-token", "Slack token", 30},
	KindSlackWebhook:       {"slack-webhook", "Slack webhook URL", 30},
	KindNPMToken:           {"npm-token", "npm access token", 30},
	KindPyPIToken:          {"pypi-token", "PyPI API token", 30},
	KindDockerHubToken:     {"dockerhub-token", "Docker Hub personal access token", 30},
	KindURLCredentials:     {"url-credentials", "password in a URL", 50},
	KindAWSCredentialsFile: {"aws-credentials-file", "AWS shared credentials file secret", 10},
	KindNpmrcAuth:          {"npmrc-auth", "npm registry credential in .npmrc", 10},
	KindNetrcPassword:      {"netrc-password", "password in .netrc", 10},
	KindPypircPassword:     {"pypirc-password", "package index password in .pypirc", 10},
	KindGitCredentials:     {"git-credentials", "password in a git credential store", 10},
	KindDockerConfigAuth:   {"docker-config-auth", "registry credential in a Docker config", 10},
	KindAssignment:         {"password-assignment", "secret assigned in configuration", 60},
}

// String is the kind's kebab-case name ("github-token").
func (k Kind) String() string {
	if k < numKinds {
		return kindInfo[k].name
	}
	return "unknown"
}

// Title is a short human name ("GitHub token").
func (k Kind) Title() string {
	if k < numKinds {
		return kindInfo[k].title
	}
	return "unknown secret"
}

// kindCovered marks a span that a credentials-file parser has accounted for without
// reporting it (an AWS access key ID next to its secret): it suppresses pattern matches
// there and is dropped from the results.
const kindCovered = numKinds

func priority(k Kind) int {
	if k == kindCovered {
		return 0
	}
	return kindInfo[k].priority
}

// Match is one secret found in an input. The secret itself is input[Start:End]; a Match never
// holds a copy of it.
type Match struct {
	Kind       Kind
	Start, End int    // byte offsets of the secret value
	Line       int    // 1-based line of Start
	Key        string // what the value is assigned to or used for: a variable, a key, a host
	Note       string // extra, non-secret facts: a private key's header line
	ctxStart   int    // the displayable context around the value (a URL, a PEM header)
	ctxEnd     int
}

// Value returns the secret of m in the input it was found in.
func (m Match) Value(input []byte) []byte { return input[m.Start:m.End] }

// Mode selects which detectors run.
type Mode uint8

const (
	// ModeTokens finds private keys and tokens with a known format. It suits any text.
	ModeTokens Mode = 0
	// ModeConfig also finds password/secret/token assignments and passwords in URLs. It
	// suits configuration files, environment variable values, labels and shell commands,
	// not prose or source code.
	ModeConfig Mode = 1 << iota
)

// maxMatches bounds the matches one input can produce (a dump of a million keys would
// otherwise cost memory proportional to its size).
const maxMatches = 1024

// Detect finds secrets in data. It returns nil (and allocates nothing) when there are none.
// Matches are sorted by offset and never overlap: where two detectors claim the same bytes,
// the more specific one wins (a GitHub token beats a generic token assignment).
func Detect(data []byte, mode Mode) []Match {
	st := scanner{data: data, mode: mode}
	detector.scan(data, &st)
	return st.finish()
}

// DetectString is Detect for a string.
func DetectString(s string, mode Mode) []Match {
	return Detect(unsafeBytes(s), mode)
}

// DetectFile finds secrets in the content of the file at path p (an absolute path inside an
// image or a build context). The path decides what runs: credentials files (~/.aws/credentials,
// .npmrc, .netrc, .pypirc, .git-credentials, .docker/config.json) get their format's parser,
// configuration files get ModeConfig, and everything else ModeTokens. Files that packages
// installed (under /usr/lib, /usr/local/lib, site-packages, node_modules, the Go module
// cache...) are never read as configuration, and values spelled with EXAMPLE there are
// documentation examples; their test fixtures and examples directories, and documentation
// (/usr/share/doc, man pages), are not analyzed at all. Binary content should be filtered out
// by the caller with IsBinary.
func DetectFile(p string, data []byte) []Match {
	if skipped(p) {
		return nil
	}
	st := scanner{data: data, json: strings.HasSuffix(p, ".json"), examples: thirdParty(p)}
	switch ft := classify(p); ft {
	case fileConfig:
		st.mode = ModeConfig
	case fileNone:
	default:
		parseCredentialsFile(ft, &st)
	}
	detector.scan(data, &st)
	return st.finish()
}

// scanner is the state of one Detect call. It lives on the caller's stack.
type scanner struct {
	data     []byte
	mode     Mode
	json     bool // the input is a JSON file: keys are quoted
	examples bool // values spelled with EXAMPLE are documentation examples (third-party files)
	ms       []Match
}

// example reports whether v is a documentation example to skip: only in third-party files,
// where SDKs ship AWS's AKIAIOSFODNN7EXAMPLE and friends in their data files. Elsewhere an
// EXAMPLE-spelled credential is reported like any other: the tool cannot tell it is fake.
func (s *scanner) example(v []byte) bool { return s.examples && containsFold(v, "example") }

func (s *scanner) add(m Match) {
	if len(s.ms) >= maxMatches {
		return
	}
	if m.ctxEnd == 0 {
		m.ctxStart, m.ctxEnd = m.Start, m.End
	}
	s.ms = append(s.ms, m)
}

// finish resolves overlaps, numbers lines and drops internal markers.
func (s *scanner) finish() []Match {
	if len(s.ms) == 0 {
		return nil
	}
	ms := s.ms
	// Most specific first; then earliest, then longest.
	sort.SliceStable(ms, func(i, j int) bool {
		pi, pj := priority(ms[i].Kind), priority(ms[j].Kind)
		if pi != pj {
			return pi < pj
		}
		if ms[i].Start != ms[j].Start {
			return ms[i].Start < ms[j].Start
		}
		return ms[i].End > ms[j].End
	})
	kept := ms[:0:0]
	for _, m := range ms {
		overlaps := false
		for _, k := range kept {
			if m.Start < k.End && k.Start < m.End {
				overlaps = true
				break
			}
		}
		if !overlaps {
			kept = append(kept, m)
		}
	}
	out := kept[:0]
	for _, m := range kept {
		if m.Kind != kindCovered {
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		return nil
	}
	slices.SortFunc(out, func(a, b Match) int { return a.Start - b.Start })
	line, at := 1, 0
	for i := range out {
		line += bytes.Count(s.data[at:out[i].Start], nl)
		at = out[i].Start
		out[i].Line = line
	}
	return out
}

var nl = []byte{'\n'}

type verifier uint8

const (
	vPrivateKey verifier = iota + 1
	vAWSKeyID
	vAWSSecret
	vGitHub
	vGitHubPAT
	vGitLab
	vSlack
	vSlackWebhook
	vNPM
	vPyPI
	vDockerHub
	vURL
	vAssign
)

// The anchors. Matching is case-insensitive; the verifiers check case where it matters.
var detector = newAutomaton([]anchor{
	{"private key", vPrivateKey},
	{"akia", vAWSKeyID}, {"asia", vAWSKeyID}, {"abia", vAWSKeyID}, {"acca", vAWSKeyID},
	{"secret", vAWSSecret},
	{"ghp_", vGitHub}, {"gho_", vGitHub}, {"ghu_", vGitHub}, {"ghs_", vGitHub}, {"ghr_", vGitHub},
	{"github_pat_", vGitHubPAT},
	{"glpat-", vGitLab},
	{"xoxb-", vSlack}, {"xoxa-", vSlack}, {"xoxp-", vSlack}, {"xoxr-", vSlack}, {"xoxs-", vSlack},
	{"hooks.slack.com/", vSlackWebhook},
	{"npm_", vNPM},
	{"pypi-age", vPyPI},
	{"dckr_pat_", vDockerHub},
	// ModeConfig only.
	{"://", vURL},
	{"pass", vAssign}, {"pwd", vAssign}, {"secret", vAssign}, {"token", vAssign},
	{"key", vAssign}, {"credential", vAssign},
})

// verify runs verifier v on an anchor found at data[at:at+n].
func (s *scanner) verify(v verifier, at, n int) {
	switch v {
	case vPrivateKey:
		s.privateKey(at)
	case vAWSKeyID:
		s.awsKeyID(at)
	case vAWSSecret:
		s.awsSecret(at, n)
	case vGitHub:
		s.prefixed(at, KindGitHubToken, ghPrefixes, isAlnum, 36, 251)
	case vGitHubPAT:
		s.prefixed(at, KindGitHubToken, []string{"github_pat_"}, isWord, 70, 251)
	case vGitLab:
		s.prefixed(at, KindGitLabToken, []string{"glpat-"}, isTokenChar, 20, 255)
	case vSlack:
		s.slackToken(at)
	case vSlackWebhook:
		s.slackWebhook(at)
	case vNPM:
		s.prefixed(at, KindNPMToken, []string{"npm_"}, isAlnum, 36, 36)
	case vPyPI:
		s.prefixed(at, KindPyPIToken, pypiPrefixes, isTokenChar, 50, 1<<12)
	case vDockerHub:
		s.prefixed(at, KindDockerHubToken, []string{"dckr_pat_"}, isTokenChar, 27, 255)
	case vURL:
		if s.mode&ModeConfig != 0 {
			s.urlCredentials(at)
		}
	case vAssign:
		if s.mode&ModeConfig != 0 {
			s.assignment(at, n)
		}
	}
}

var (
	ghPrefixes   = []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_"}
	pypiPrefixes = []string{"pypi-AgEIcHlwaS5vcmc", "pypi-AgENdGVzdC5weXBpLm9yZw"}
)

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
func isWord(c byte) bool      { return isAlnum(c) || c == '_' }
func isTokenChar(c byte) bool { return isAlnum(c) || c == '_' || c == '-' }
func isB64(c byte) bool       { return isAlnum(c) || c == '+' || c == '/' || c == '=' }
func isSpace(c byte) bool     { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
func isUpper(c byte) bool     { return 'A' <= c && c <= 'Z' }
func isLower(c byte) bool     { return 'a' <= c && c <= 'z' }
func isDigit(c byte) bool     { return '0' <= c && c <= '9' }

func hasPrefixAt(d []byte, at int, p string) bool {
	return at >= 0 && len(d)-at >= len(p) && string(d[at:at+len(p)]) == p
}

// run returns the end of the run of bytes accepted by ok starting at i, looking at most
// limit bytes ahead.
func run(d []byte, i int, ok func(byte) bool, limit int) int {
	end := min(len(d), i+limit)
	for i < end && ok(d[i]) {
		i++
	}
	return i
}

// prefixed verifies a token made of a literal prefix and a run of body characters whose
// length is within [minLen, maxLen]. The token must not be glued to a word on either side.
func (s *scanner) prefixed(at int, k Kind, prefixes []string, body func(byte) bool, minLen, maxLen int) {
	d := s.data
	p := ""
	for _, cand := range prefixes {
		if hasPrefixAt(d, at, cand) {
			p = cand
			break
		}
	}
	if p == "" || (at > 0 && isAlnum(d[at-1])) {
		return
	}
	start := at + len(p)
	end := run(d, start, body, maxLen+1)
	// A trailing '-' or '.' is punctuation, not part of the token.
	for end > start && (d[end-1] == '-' || d[end-1] == '.') {
		end--
	}
	n := end - start
	if n < minLen || n > maxLen || (end < len(d) && isAlnum(d[end])) {
		return
	}
	if lowEntropy(d[start:end]) || s.example(d[start:end]) {
		return
	}
	s.add(Match{Kind: k, Start: at, End: end})
}

// lowEntropy reports whether a random-looking value is in fact a filler ("xxxxxxxx",
// "0000000000", "T00000000/B00000000/XXXXXXXX"): too few distinct bytes for its length.
func lowEntropy(v []byte) bool {
	var seen [256]bool
	distinct := 0
	for _, c := range v {
		if !seen[c] {
			seen[c] = true
			distinct++
		}
	}
	return distinct < max(4, len(v)/6)
}

func containsFold(b []byte, lower string) bool {
	n := len(lower)
	for i := 0; i+n <= len(b); i++ {
		j := 0
		for j < n && fold(b[i+j]) == lower[j] {
			j++
		}
		if j == n {
			return true
		}
	}
	return false
}

// awsKeyID verifies AKIA/ASIA/ABIA/ACCA followed by 16 base32 characters.
func (s *scanner) awsKeyID(at int) {
	d := s.data
	if len(d)-at < 20 || !(hasPrefixAt(d, at, "AKIA") || hasPrefixAt(d, at, "ASIA") ||
		hasPrefixAt(d, at, "ABIA") || hasPrefixAt(d, at, "ACCA")) {
		return
	}
	if at > 0 && isAlnum(d[at-1]) || at+20 < len(d) && isAlnum(d[at+20]) {
		return
	}
	for _, c := range d[at+4 : at+20] {
		if !isUpper(c) && !('2' <= c && c <= '7') {
			return
		}
	}
	if s.example(d[at:at+20]) || lowEntropy(d[at+4:at+20]) {
		return
	}
	s.add(Match{Kind: KindAWSAccessKeyID, Start: at, End: at + 20})
}

// awsSecret verifies a 40-character secret key assigned to an aws_secret_access_key-like
// name: aws_secret_access_key, AWS_SECRET_ACCESS_KEY, SecretAccessKey, aws-secret-key...
func (s *scanner) awsSecret(at, n int) {
	d := s.data
	ks, ke := at, at+n
	for ks > 0 && isTokenChar(d[ks-1]) && at-ks < 32 && !escapeAt(d, ks-2) {
		ks--
	}
	ke = run(d, ke, isTokenChar, 32)
	var buf [64]byte
	norm := buf[:0]
	for _, c := range d[ks:ke] {
		if c != '_' && c != '-' {
			norm = append(norm, fold(c))
		}
	}
	if !(bytes.HasSuffix(norm, []byte("secretaccesskey")) || bytes.HasSuffix(norm, []byte("awssecretkey"))) {
		return
	}
	// Separator: quotes, spaces, '=', ':', '=>' — at most a few bytes, on the same line.
	i := ke
	for i < len(d) && i-ke < 8 && (d[i] == ' ' || d[i] == '\t' || d[i] == '"' || d[i] == '\'' ||
		d[i] == '=' || d[i] == ':' || d[i] == '>') {
		i++
	}
	if i == ke || len(d)-i < 40 {
		return
	}
	end := run(d, i, func(c byte) bool { return isAlnum(c) || c == '/' || c == '+' }, 41)
	if end-i != 40 || end < len(d) && d[end] == '=' {
		return
	}
	v := d[i:end]
	if s.example(v) || lowEntropy(v) {
		return
	}
	s.add(Match{Kind: KindAWSSecretAccessKey, Start: i, End: end, Key: string(d[ks:ke])})
}

// slackToken verifies xox[baprs]-... with at least one digit and 20 characters.
func (s *scanner) slackToken(at int) {
	d := s.data
	if len(d)-at < 5 || !hasPrefixAt(d, at, "xox") || d[at+4] != '-' ||
		bytes.IndexByte([]byte("baprs"), d[at+3]) < 0 || (at > 0 && isAlnum(d[at-1])) {
		return
	}
	start := at + 5
	end := run(d, start, func(c byte) bool { return isAlnum(c) || c == '-' }, 256)
	for end > start && d[end-1] == '-' {
		end--
	}
	body := d[start:end]
	if len(body) < 20 || bytes.IndexFunc(body, func(r rune) bool { return '0' <= r && r <= '9' }) < 0 ||
		bytes.IndexByte(body, '-') < 0 || lowEntropy(body) {
		return
	}
	s.add(Match{Kind: KindSlackToken, Start: at, End: end})
}

// slackWebhook verifies hooks.slack.com/{services,workflows,triggers}/<path>.
func (s *scanner) slackWebhook(at int) {
	d := s.data
	const host = "hooks.slack.com/"
	if !hasPrefixAt(d, at, host) {
		return
	}
	i := at + len(host)
	kind := ""
	for _, k := range []string{"services/", "workflows/", "triggers/"} {
		if hasPrefixAt(d, i, k) {
			kind = k
			break
		}
	}
	if kind == "" {
		return
	}
	start := i + len(kind)
	end := run(d, start, func(c byte) bool { return isTokenChar(c) || c == '/' }, 256)
	if end-start < 20 || lowEntropy(d[start:end]) {
		return
	}
	ctx := at
	if hasPrefixAt(d, at-8, "https://") {
		ctx = at - 8
	}
	s.add(Match{Kind: KindSlackWebhook, Start: start, End: end, ctxStart: ctx, ctxEnd: end})
}

// privateKey verifies "-----BEGIN [TYPE ]PRIVATE KEY[ BLOCK]-----" followed by a body of at
// least 64 base64 characters. A header alone (in source code that parses keys, or in a
// document with "..." as the body) is not a key. Newlines may be real or "\n" escapes (keys
// inside JSON strings and environment variables).
func (s *scanner) privateKey(at int) {
	d := s.data
	const pk = "PRIVATE KEY"
	if !hasPrefixAt(d, at, pk) {
		return
	}
	lo := max(0, at-32)
	h := bytes.LastIndex(d[lo:at], []byte("-----BEGIN "))
	if h < 0 {
		return
	}
	h += lo
	for _, c := range d[h+len("-----BEGIN ") : at] {
		if !isUpper(c) && !isDigit(c) && c != ' ' {
			return
		}
	}
	q := at + len(pk)
	if hasPrefixAt(d, q, " BLOCK") {
		q += len(" BLOCK")
	}
	if !hasPrefixAt(d, q, "-----") {
		return
	}
	q += len("-----")
	header := d[h:q]

	// Walk the body line by line.
	i := q
	bodyStart, bodyEnd, count := -1, -1, 0
	inBody := false
body:
	for lines := 0; i < len(d) && lines < 1000 && count < 1<<16; lines++ {
		ls, le, next := nextLine(d, i)
		i = next
		line := bytes.TrimSpace(d[ls:le])
		switch {
		case len(line) == 0:
			if inBody {
				break body // a blank line ends a PEM body
			}
			continue // the rest of the header line, or the blank line after armor headers
		case lines == 0:
			break body // text right after the header's dashes: a string in code, not a key file
		case bytes.HasPrefix(line, []byte("-----END")):
			break body
		case !inBody && bytes.IndexByte(line, ':') > 0:
			continue // RFC 1421 / OpenPGP armor headers: Proc-Type, DEK-Info, Version
		}
		for _, c := range line {
			if !isB64(c) {
				break body
			}
		}
		if bodyStart < 0 {
			bodyStart = ls + len(d[ls:le]) - len(bytes.TrimLeft(d[ls:le], " \t"))
		}
		inBody = true
		bodyEnd = ls + len(bytes.TrimRight(d[ls:le], " \t\r"))
		count += len(line)
	}
	if count < 64 {
		return
	}
	s.add(Match{Kind: KindPrivateKey, Start: bodyStart, End: bodyEnd, Note: string(header),
		ctxStart: h, ctxEnd: bodyEnd})
}

// nextLine returns the line starting at i (without its terminator) and where the next one
// starts. A line ends at '\n' or at a literal backslash-n escape.
func nextLine(d []byte, i int) (start, end, next int) {
	for j := i; j < len(d); j++ {
		switch {
		case d[j] == '\n':
			return i, j, j + 1
		case d[j] == '\\' && j+1 < len(d) && (d[j+1] == 'n' || d[j+1] == 'r'):
			k := j + 2
			for k+1 < len(d) && d[k] == '\\' && (d[k+1] == 'n' || d[k+1] == 'r') {
				k += 2
			}
			return i, j, k
		}
	}
	return i, len(d), len(d)
}

// urlCredentials verifies scheme://user:password@host with a non-placeholder password.
func (s *scanner) urlCredentials(at int) {
	d := s.data
	ss := at
	for ss > 0 && at-ss < 32 && (isAlnum(d[ss-1]) || d[ss-1] == '+' || d[ss-1] == '.' || d[ss-1] == '-') {
		ss--
	}
	if ss == at || !isLower(fold(d[ss])) {
		return
	}
	ui := at + 3
	i := ui
	colon := -1
	for ; i < len(d) && i-ui < 256; i++ {
		c := d[i]
		if c == '@' || c == '/' || c == '?' || c == '#' || isSpace(c) || c == '"' || c == '\'' ||
			c == '<' || c == '>' || c == '`' {
			break
		}
		if c == ':' && colon < 0 {
			colon = i
		}
	}
	if i >= len(d) || d[i] != '@' || colon < 0 || colon+1 == i {
		return
	}
	pw := d[colon+1 : i]
	if isPlaceholder(pw, nil) {
		return
	}
	he := run(d, i+1, func(c byte) bool { return isAlnum(c) || c == '.' || c == '-' || c == '_' }, 256)
	if he == i+1 {
		return
	}
	s.add(Match{Kind: KindURLCredentials, Start: colon + 1, End: i, Key: string(d[i+1 : he]),
		ctxStart: ss, ctxEnd: he})
}

// unsafeBytes views s as bytes without copying. The detector never writes to its input.
func unsafeBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// escapeAt reports whether d[i] is a backslash starting a C-style escape (\n, \t, \r), as
// in printf '...\naws_secret_access_key = ...': the letter after it is not part of a name.
func escapeAt(d []byte, i int) bool {
	return i >= 0 && i+1 < len(d) && d[i] == '\\' && (d[i+1] == 'n' || d[i+1] == 't' || d[i+1] == 'r')
}

// lineStart returns the offset of the start of the line holding offset i.
func lineStart(d []byte, i int) int {
	lo := max(0, i-4096)
	if j := bytes.LastIndexByte(d[lo:i], '\n'); j >= 0 {
		return lo + j + 1
	}
	return lo
}

var commentLeaders = []string{"#", ";", "//", "--", "/*", "*", "<!--", "REM ", "rem "}

// isComment reports whether the line starting at ls is a comment in a common config syntax.
func isComment(d []byte, ls, upTo int) bool {
	line := bytes.TrimLeft(d[ls:upTo], " \t")
	for _, p := range commentLeaders {
		if hasPrefixAt(line, 0, p) {
			return true
		}
	}
	return false
}
