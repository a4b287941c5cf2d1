package secret

import (
	"bytes"
)

// words splits an identifier into words: on any byte that is not a letter or digit, and at
// camelCase boundaries. "dbPassword" → db, Password; "AWS_SECRET_ACCESS_KEY" → AWS, SECRET,
// ACCESS, KEY; "APIKey" → API, Key; "spring.datasource.password" → spring, datasource,
// password. The words are sub-slices of name; at most len(dst) are returned.
func words(name []byte, dst [][]byte) [][]byte {
	out := dst[:0]
	start := -1
	flush := func(end int) {
		if start >= 0 && len(out) < cap(out) {
			out = append(out, name[start:end])
		}
		start = -1
	}
	for i, c := range name {
		if !isAlnum(c) {
			flush(i)
			continue
		}
		if start < 0 {
			start = i
			continue
		}
		prev := name[i-1]
		if isUpper(c) && (isLower(prev) || isDigit(prev) ||
			isUpper(prev) && i+1 < len(name) && isLower(name[i+1])) {
			flush(i)
			start = i
		}
	}
	flush(len(name))
	return out
}

func equalFold(w []byte, lower string) bool {
	if len(w) != len(lower) {
		return false
	}
	for i := range w {
		if fold(w[i]) != lower[i] {
			return false
		}
	}
	return true
}

func hasSuffixFold(w []byte, lower string) bool {
	return len(w) >= len(lower) && equalFold(w[len(w)-len(lower):], lower)
}

// secretWords end a word that names a secret: "password", "dbpassword", "ACCESSTOKEN".
var secretWords = []string{"password", "passwd", "passphrase", "secret", "token", "apikey",
	"privatekey", "secretkey", "credential", "credentials"}

// secretPairs are two consecutive words that name a secret: API_KEY, privateKey.
var secretPairs = [][2]string{{"api", "key"}, {"private", "key"}, {"master", "key"},
	{"encryption", "key"}, {"signing", "key"}}

// notSecretLast is a last word that makes a secret-sounding name describe something else:
// PASSWORD_FILE holds a path, TOKEN_URL an endpoint, passwordMinLength a number.
var notSecretLast = map[string]bool{}

func init() {
	for _, w := range []string{"file", "files", "path", "paths", "dir", "directory", "url", "uri",
		"endpoint", "host", "hostname", "port", "name", "names", "user", "username", "type",
		"kind", "length", "len", "min", "max", "minlength", "maxlength", "size", "ttl",
		"timeout", "expiry", "expires", "expiration", "lifetime", "age", "policy", "policies",
		"enabled", "enable", "disabled", "disable", "required", "require", "mode", "method",
		"header", "param", "parameter", "field", "label", "prompt", "hint", "placeholder",
		"format", "algorithm", "alg", "version", "id", "ids", "count", "env", "var", "ref",
		"reference", "location", "source", "provider", "store", "manager", "helper", "command",
		"cmd", "regex", "pattern", "hash", "hashed", "rounds", "reset", "changed", "expired",
		"validation", "validator", "strength", "complexity", "chars", "encoding", "prefix",
		"suffix", "audience", "issuer", "scope", "scopes", "duration", "schema", "class",
		"handler", "service", "backend", "option", "options", "flag", "usage", "check",
		"sha", "sha256", "sha512", "md5", "digest", "checksum", "fingerprint", "policy",
		"help", "description", "text", "title", "message", "msg", "error", "len", "realm",
		"permission", "permissions", "role", "roles"} {
		notSecretLast[w] = true
	}
}

// SensitiveName reports whether a variable, key or label name says its value is a secret:
// AWS_SECRET_ACCESS_KEY, DB_PASSWORD, GITHUB_TOKEN, API_KEY, client_secret, dbPassword,
// spring.datasource.password. Names that describe a secret without holding one are not
// sensitive: PASSWORD_FILE, TOKEN_URL, passwordMinLength, and the shell's PWD and OLDPWD.
func SensitiveName(name string) bool { return sensitiveName(unsafeBytes(name)) }

func sensitiveName(name []byte) bool {
	var buf [16][]byte
	ws := words(name, buf[:])
	if len(ws) == 0 {
		return false
	}
	hit := -1
	for i, w := range ws {
		for _, sw := range secretWords {
			if hasSuffixFold(w, sw) || (len(w) > 1 && (w[len(w)-1] == 's' || w[len(w)-1] == 'S') &&
				hasSuffixFold(w[:len(w)-1], sw)) {
				hit = i
			}
		}
		// "pass" and "pwd" alone are too common ("--- PASS: TestX", the shell's PWD); as part
		// of a longer name (DB_PASS, FTP_PWD) they name a password.
		if len(ws) > 1 && (equalFold(w, "pass") || equalFold(w, "pwd")) {
			hit = i
		}
		if i+1 < len(ws) {
			for _, p := range secretPairs {
				if equalFold(w, p[0]) && equalFold(ws[i+1], p[1]) {
					hit = i + 1
				}
			}
		}
	}
	if hit < 0 {
		return false
	}
	if hit < len(ws)-1 {
		last := ws[len(ws)-1]
		var lb [24]byte
		if len(last) <= len(lb) {
			l := lb[:len(last)]
			for i, c := range last {
				l[i] = fold(c)
			}
			if notSecretLast[string(l)] {
				return false
			}
		}
	}
	return true
}

// IsPlaceholder reports whether a value assigned to a secret-sounding name is obviously not a
// real secret: empty or very short, a variable reference (${VAR}, $VAR, %VAR%, {{ .x }}), a
// template (<password>, @VAR@, __VAR__), a filler (xxx, ***, ...), a word such as changeme,
// example, none or true, a number, a path (a *_FILE convention) or a reference to a secret
// store (arn:aws:secretsmanager:..., vault:...).
func IsPlaceholder(v string) bool { return isPlaceholder(unsafeBytes(v), nil) }

var placeholderWords = map[string]bool{}

var placeholderParts = []string{"placeholder", "your", "changeme", "change_me",
	"change-me", "replace", "insert", "dummy", "redacted", "xxxxx", "*****", "<", "${",
	"{{", "$(", "%(", "os.environ", "getenv", "process.env", "env(", "env[", "secretkeyref",
	"secretsmanager", "parameter/"}

func init() {
	for _, w := range []string{"changeme", "changeit", "password", "passwd", "passphrase",
		"secret", "token", "example", "sample", "dummy", "placeholder", "none", "null", "nil",
		"undefined", "empty", "true", "false", "yes", "no", "on", "off", "redacted", "hidden",
		"masked", "required", "optional", "string", "str", "test", "todo", "tbd", "fixme",
		"pass", "foo", "bar", "foobar", "baz", "default", "value", "key", "secretkey",
		"apikey", "api_key", "api-key", "mypassword", "mysecret", "mytoken", "secret123",
		"password123", "notasecret", "unset", "not-set", "notset", "blank", "random",
		"generated", "auto", "env", "prompt", "ask", "stdin", "read", "write", "files",
		"example.com", "localhost"} {
		placeholderWords[w] = true
	}
}

// secretStorePrefixes start references to a secret store (lowercase).
var secretStorePrefixes = []string{"arn:aws:", "vault:", "ssm:", "secret:", "secrets:",
	"awssecretsmanager:", "gcp:", "projects/", "sm://", "op://", "keyvault:", "file:", "env:",
	"enc["}

func isPlaceholder(v []byte, key []byte) bool {
	v = bytes.TrimSpace(v)
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		v = bytes.TrimSpace(v[1 : len(v)-1])
	}
	if len(v) < 4 {
		return true
	}
	switch v[0] {
	case '$', '%', '{', '[', '*', '&', '!', '|', '>', '/', '~', '@', '#', '(', '`', '<':
		return true // references, templates, YAML anchors and block scalars, paths
	}
	if v[0] == '.' && len(v) > 1 && v[1] == '/' {
		return true
	}
	if len(v) > 4 && v[0] == '_' && v[1] == '_' && v[len(v)-1] == '_' && v[len(v)-2] == '_' {
		return true
	}
	alnum, digits, same := 0, 0, true
	for _, c := range v {
		if isAlnum(c) {
			alnum++
		}
		if isDigit(c) {
			digits++
		}
		if fold(c) != fold(v[0]) {
			same = false
		}
	}
	if alnum == 0 || same || digits == len(v) {
		return true
	}
	if len(v) <= 32 {
		var lb [32]byte
		l := lb[:len(v)]
		for i, c := range v {
			l[i] = fold(c)
		}
		if placeholderWords[string(l)] {
			return true
		}
	}
	for _, p := range placeholderParts {
		if containsFold(v, p) {
			return true
		}
	}
	for _, p := range secretStorePrefixes {
		if len(v) >= len(p) && equalFold(v[:len(p)], p) {
			return true
		}
	}
	if key != nil && equalFoldBytes(v, key) {
		return true
	}
	return false
}

func equalFoldBytes(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if fold(a[i]) != fold(b[i]) {
			return false
		}
	}
	return true
}

func isKeyChar(c byte) bool { return isAlnum(c) || c == '_' || c == '-' || c == '.' }

// assignment verifies "<sensitive name> <operator> <value>" around an anchor: KEY=value,
// key: value, "key": "value", key = 'value', <key>value</key>, key => value. The value must
// be a single token (quoted values with spaces are prose) and not a placeholder. Comment
// lines and references ($KEY, ${KEY}) are skipped.
func (s *scanner) assignment(at, n int) {
	d := s.data
	ks := at
	for ks > 0 && isKeyChar(d[ks-1]) && at-ks < 128 && !escapeAt(d, ks-2) {
		ks--
	}
	ke := run(d, at+n, isKeyChar, 128)
	for ke > ks && (d[ke-1] == '.' || d[ke-1] == '-') {
		ke--
	}
	for ks < ke && (d[ks] == '.' || d[ks] == '-') {
		ks++
	}
	if ks > 0 && d[ks-1] == '-' && ks+1 < ke && d[ks] == 'D' && d[ks+1] != '_' {
		ks++ // a JVM system property: -Ddb.password=...
	}
	if ke <= at { // the anchor itself was trailing punctuation
		return
	}
	key := d[ks:ke]
	if ks > 0 {
		switch d[ks-1] {
		case '$', '%', '@':
			return
		case '{':
			if ks > 1 && (d[ks-2] == '$' || d[ks-2] == '{') {
				return
			}
		}
	}
	if !sensitiveName(key) {
		return
	}
	i := ke
	quoted := ks > 0 && (d[ks-1] == '"' || d[ks-1] == '\'') && i < len(d) && d[i] == d[ks-1]
	if quoted {
		i++ // the closing quote of a quoted key
	}
	xml := ks > 0 && d[ks-1] == '<' && i < len(d) && d[i] == '>'
	colon := false
	if xml {
		i++
	} else {
		for i < len(d) && (d[i] == ' ' || d[i] == '\t') {
			i++
		}
		switch {
		case hasPrefixAt(d, i, "=>"), hasPrefixAt(d, i, ":="), hasPrefixAt(d, i, "?="),
			hasPrefixAt(d, i, "+="):
			i += 2
		case hasPrefixAt(d, i, "=="), hasPrefixAt(d, i, "::"):
			return
		case i < len(d) && d[i] == '=':
			i++
		case i < len(d) && d[i] == ':':
			if s.json && !quoted {
				return // JSON keys are quoted: this is text inside a string ("--- PASS: TestX")
			}
			colon = true
			i++
		default:
			return
		}
		for i < len(d) && (d[i] == ' ' || d[i] == '\t') {
			i++
		}
	}
	if i >= len(d) {
		return
	}
	vs, ve := i, i
	switch c := d[i]; {
	case !xml && (c == '"' || c == '\''):
		vs = i + 1
		ve = vs
		for ve < len(d) && d[ve] != c && d[ve] != '\n' && ve-vs < 1024 {
			if d[ve] == '\\' {
				ve++
			}
			ve++
		}
		if ve >= len(d) || d[ve] != c {
			return
		}
	default:
		for ve < len(d) && ve-vs < 1024 {
			c := d[ve]
			if c == '<' || c == '\n' || c == '\r' || escapeAt(d, ve) || (!xml && (c == ' ' || c == '\t' ||
				c == ',' || c == ';' || c == '}' || c == ']' || c == '"' || c == '\'')) {
				break
			}
			ve++
		}
	}
	v := d[vs:ve]
	if bytes.ContainsAny(v, " \t") || isPlaceholder(v, key) {
		return
	}
	if colon && vs == i && moreWords(d, ve) {
		return // "passwd: files systemd", "Password: enter it below": a list or prose
	}
	ls := lineStart(d, ks)
	if isComment(d, ls, ks) || inXMLComment(d, ks) {
		return
	}
	s.add(Match{Kind: KindAssignment, Start: vs, End: ve, Key: string(key)})
}

// moreWords reports whether other words follow a bare value on its line (before a comment).
func moreWords(d []byte, i int) bool {
	for i < len(d) && (d[i] == ' ' || d[i] == '\t') {
		i++
	}
	if i >= len(d) {
		return false
	}
	switch d[i] {
	case '\n', '\r', '#', ',', '}', ']', ';':
		return false
	}
	return true
}

// inXMLComment reports whether offset i is inside an XML comment (<!-- ... -->), looking
// back at most 64 KiB.
func inXMLComment(d []byte, i int) bool {
	lo := max(0, i-64<<10)
	open := bytes.LastIndex(d[lo:i], []byte("<!--"))
	return open >= 0 && bytes.Index(d[lo+open:i], []byte("-->")) < 0
}
