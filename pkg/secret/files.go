package secret

import (
	"bytes"
	"strings"
)

type fileType uint8

const (
	fileNone   fileType = iota // any text: tokens and keys only
	fileConfig                 // configuration: assignments and URL passwords too
	fileAWS
	fileNpmrc
	fileNetrc
	filePypirc
	fileGitCredentials
	fileDockerConfig
)

// configExts are the extensions of configuration files (ModeConfig).
var configExts = map[string]bool{"env": true, "conf": true, "cnf": true, "cfg": true, "ini": true,
	"properties": true, "props": true, "yaml": true, "yml": true, "toml": true, "json": true,
	"config": true, "xml": true, "tfvars": true}

// Third-party paths hold files that packages installed. Their configuration samples and data
// files (botocore's API examples) are not the application's configuration, so assignments
// are not looked for there, and values spelled with EXAMPLE are documentation examples. Tokens
// and keys are still looked for.
var thirdPartyPrefixes = []string{"/usr/share/", "/usr/lib/", "/usr/lib64/", "/usr/libexec/",
	"/usr/include/", "/lib/", "/lib64/", "/usr/local/lib/", "/usr/local/go/", "/usr/local/share/"}
var thirdPartyParts = []string{"/site-packages/", "/dist-packages/", "/node_modules/",
	"/vendor/", "/gems/", "/.cache/", "/pkg/mod/", "/.pyenv/", "/.rustup/", "/.cargo/registry/"}

// fixtureDirs are directory names of test fixtures and examples. Inside a third-party path
// (Python's test suite in /usr/local/lib/python3.12/test, a package's tests in node_modules,
// Go's testdata) they hold published test keys and fake tokens: such files are skipped.
var fixtureDirs = map[string]bool{"test": true, "tests": true, "testdata": true, "test-data": true,
	"testing": true, "fixtures": true, "fixture": true, "certdata": true, "examples": true,
	"example": true, "samples": true, "sample": true, "__tests__": true, "spec": true, "demo": true}

// skippedPrefixes hold documentation that packages install, and the Go toolchain (whose
// source tree is full of test keys); nothing there is the image's secret.
var skippedPrefixes = []string{"/usr/share/doc/", "/usr/share/man/", "/usr/share/info/",
	"/usr/local/share/doc/", "/usr/local/share/man/", "/usr/local/go/"}

// testFile reports whether a file name is a test source file in a common convention:
// x_test.go, test_x.py, x_test.py, x.test.js, x.spec.ts, x_spec.rb.
func testFile(base string) bool {
	return strings.HasPrefix(base, "test_") || strings.Contains(base, "_test.") ||
		strings.Contains(base, ".test.") || strings.Contains(base, ".spec.") || strings.Contains(base, "_spec.")
}

// distroConfigs are configuration files that distributions ship with sample values in them:
// nsswitch.conf ("passwd: files"), openssl.cnf (a CMP example with "secret = pass:insta").
// Tokens and keys are still looked for there; assignments are not.
var distroConfigs = map[string]bool{"/etc/nsswitch.conf": true, "/etc/ssl/openssl.cnf": true,
	"/usr/lib/ssl/openssl.cnf": true, "/etc/pki/tls/openssl.cnf": true, "/etc/ssl1.1/openssl.cnf": true,
	"/etc/login.defs": true, "/etc/adduser.conf": true, "/etc/security/pwquality.conf": true}

func thirdParty(p string) bool {
	for _, pre := range thirdPartyPrefixes {
		if strings.HasPrefix(p, pre) {
			return true
		}
	}
	for _, part := range thirdPartyParts {
		if strings.Contains(p, part) {
			return true
		}
	}
	return false
}

// skipped reports whether a file is not analyzed at all: documentation, the Go toolchain,
// and test files, test fixtures and examples inside third-party paths.
func skipped(p string) bool {
	for _, pre := range skippedPrefixes {
		if strings.HasPrefix(p, pre) {
			return true
		}
	}
	if !thirdParty(p) {
		return false
	}
	if testFile(p[strings.LastIndexByte(p, '/')+1:]) {
		return true
	}
	for dir := p[:max(strings.LastIndexByte(p, '/'), 0)]; dir != ""; {
		i := strings.LastIndexByte(dir, '/')
		if fixtureDirs[dir[i+1:]] {
			return true
		}
		dir = dir[:max(i, 0)]
	}
	return false
}

// classify decides from a path alone how a file is analyzed. It does not allocate.
func classify(p string) fileType {
	slash := strings.LastIndexByte(p, '/')
	dir, base := p[:max(slash, 0)], p[slash+1:]
	switch base {
	case ".npmrc", "npmrc":
		return fileNpmrc
	case ".netrc", "_netrc":
		return fileNetrc
	case ".pypirc":
		return filePypirc
	case ".git-credentials":
		return fileGitCredentials
	case ".dockercfg":
		return fileDockerConfig
	case "credentials":
		if strings.HasSuffix(dir, "/.aws") || dir == ".aws" {
			return fileAWS
		}
		if strings.HasSuffix(dir, "/git") {
			return fileGitCredentials // $XDG_CONFIG_HOME/git/credentials
		}
	case "config.json":
		if strings.HasSuffix(dir, "/.docker") || dir == ".docker" {
			return fileDockerConfig
		}
	case "auth.json":
		if strings.Contains(dir, "containers") {
			return fileDockerConfig // podman, skopeo, buildah
		}
	}
	if thirdParty(p) || distroConfigs[p] {
		return fileNone
	}
	if strings.HasPrefix(base, ".env") {
		return fileConfig // .env, .env.production, .envrc
	}
	switch base {
	case "credentials", "secrets", "settings.py", "local_settings.py":
		return fileConfig
	case "config":
		if strings.HasSuffix(dir, "/.git") {
			return fileConfig // remote URLs with tokens
		}
	}
	if dot := strings.LastIndexByte(base, '.'); dot >= 0 && configExts[base[dot+1:]] {
		return fileConfig
	}
	return fileNone
}

// IsConfigPath reports whether DetectFile treats the file at p as configuration (looking for
// password assignments and URL passwords) or as a credentials file.
func IsConfigPath(p string) bool { return classify(p) != fileNone }

// binaryMagic are file signatures of binary formats that may lack a NUL in their first bytes.
var binaryMagic = [][]byte{
	[]byte("\x7fELF"), []byte("\x1f\x8b"), []byte("PK\x03\x04"), []byte("\x89PNG"),
	[]byte("\xff\xd8\xff"), []byte("GIF8"), []byte("BZh"), []byte("\xfd7zXZ"),
	[]byte("\x28\xb5\x2f\xfd"), []byte("!<arch>"), []byte("\xca\xfe\xba\xbe"),
	[]byte("%PDF"), []byte("\x00asm"), []byte("MZ"), []byte("wOFF"), []byte("wOF2"),
	[]byte("SQLite format 3"), []byte("\x04\x22\x4d\x18"), []byte("7z\xbc\xaf\x27\x1c"),
}

// IsBinary reports whether data looks like a binary file: a NUL byte in its first 8 KiB, or
// the signature of a common binary format (ELF, archives, images, fonts, PDF, WebAssembly).
func IsBinary(data []byte) bool {
	head := data[:min(len(data), 8<<10)]
	if bytes.IndexByte(head, 0) >= 0 {
		return true
	}
	for _, m := range binaryMagic {
		if bytes.HasPrefix(head, m) {
			return true
		}
	}
	return false
}

// span is a half-open byte range of the input.
type span struct{ s, e int }

func trimSpan(d []byte, s, e int) span {
	for s < e && (d[s] == ' ' || d[s] == '\t' || d[s] == '\r') {
		s++
	}
	for e > s && (d[e-1] == ' ' || d[e-1] == '\t' || d[e-1] == '\r') {
		e--
	}
	return span{s, e}
}

func unquote(d []byte, sp span) span {
	if sp.e-sp.s >= 2 && (d[sp.s] == '"' || d[sp.s] == '\'') && d[sp.e-1] == d[sp.s] {
		return span{sp.s + 1, sp.e - 1}
	}
	return sp
}

// iniLines calls fn for each "key = value" line of an INI-like file (also "key: value" when
// colon is set), with the current [section]. Comment lines are skipped.
func iniLines(d []byte, colon bool, fn func(section, key, val span)) {
	var section span
	for i := 0; i < len(d); {
		le := bytes.IndexByte(d[i:], '\n')
		if le < 0 {
			le = len(d)
		} else {
			le += i
		}
		line := trimSpan(d, i, le)
		i = le + 1
		if line.s == line.e || d[line.s] == '#' || d[line.s] == ';' {
			continue
		}
		if d[line.s] == '[' {
			if j := bytes.IndexByte(d[line.s:line.e], ']'); j > 0 {
				section = span{line.s + 1, line.s + j}
			}
			continue
		}
		sep := bytes.IndexByte(d[line.s:line.e], '=')
		if colon {
			if c := bytes.IndexByte(d[line.s:line.e], ':'); c >= 0 && (sep < 0 || c < sep) {
				sep = c
			}
		}
		if sep <= 0 {
			continue
		}
		sep += line.s
		fn(section, trimSpan(d, line.s, sep), unquote(d, trimSpan(d, sep+1, line.e)))
	}
}

func parseCredentialsFile(ft fileType, st *scanner) {
	d := st.data
	str := func(sp span) string { return string(d[sp.s:sp.e]) }
	secretVal := func(sp span) bool {
		v := d[sp.s:sp.e]
		return !isPlaceholder(v, nil) && !st.example(v)
	}
	switch ft {
	case fileAWS:
		iniLines(d, false, func(sec, k, v span) {
			key := d[k.s:k.e]
			switch {
			case equalFold(key, "aws_access_key_id"):
				// An identifier, reported with its secret: keep the AKIA pattern quiet.
				st.add(Match{Kind: kindCovered, Start: v.s, End: v.e})
			case equalFold(key, "aws_secret_access_key"), equalFold(key, "aws_session_token"),
				equalFold(key, "aws_security_token"):
				if secretVal(v) {
					st.add(Match{Kind: KindAWSCredentialsFile, Start: v.s, End: v.e,
						Key: str(k), Note: "profile " + str(sec)})
				}
			}
		})
	case fileNpmrc:
		iniLines(d, false, func(_, k, v span) {
			key := d[k.s:k.e]
			last := key[bytes.LastIndexByte(key, ':')+1:]
			if (equalFold(last, "_authtoken") || equalFold(last, "_auth") || equalFold(last, "_password")) &&
				secretVal(v) {
				st.add(Match{Kind: KindNpmrcAuth, Start: v.s, End: v.e, Key: str(k)})
			}
		})
	case filePypirc:
		iniLines(d, true, func(sec, k, v span) {
			if equalFold(d[k.s:k.e], "password") && secretVal(v) {
				st.add(Match{Kind: KindPypircPassword, Start: v.s, End: v.e, Key: str(sec)})
			}
		})
	case fileNetrc:
		parseNetrc(st, secretVal)
	case fileGitCredentials:
		for i := 0; i < len(d); {
			le := bytes.IndexByte(d[i:], '\n')
			if le < 0 {
				le = len(d)
			} else {
				le += i
			}
			line := trimSpan(d, i, le)
			i = le + 1
			ss := bytes.Index(d[line.s:line.e], []byte("://"))
			if ss < 0 {
				continue
			}
			ui := line.s + ss + 3
			at := bytes.LastIndexByte(d[ui:line.e], '@')
			if at < 0 {
				continue
			}
			at += ui
			colon := bytes.IndexByte(d[ui:at], ':')
			if colon < 0 {
				continue
			}
			pw := span{ui + colon + 1, at}
			he := run(d, at+1, func(c byte) bool { return c != '/' && c != ':' && !isSpace(c) }, 256)
			if pw.e > pw.s && secretVal(pw) {
				st.add(Match{Kind: KindGitCredentials, Start: pw.s, End: pw.e, Key: string(d[at+1 : he]),
					ctxStart: line.s, ctxEnd: he})
			}
		}
	case fileDockerConfig:
		parseDockerConfig(st, secretVal)
	}
}

// parseNetrc reads "machine HOST login USER password PASS" tokens (any whitespace, any
// order); "macdef" bodies run to the next blank line and are skipped.
func parseNetrc(st *scanner, secretVal func(span) bool) {
	d := st.data
	i := 0
	next := func() span {
		for i < len(d) && isSpace(d[i]) {
			i++
		}
		s := i
		for i < len(d) && !isSpace(d[i]) {
			i++
		}
		return span{s, i}
	}
	machine := ""
	for {
		t := next()
		if t.s == t.e {
			return
		}
		tok := d[t.s:t.e]
		switch {
		case equalFold(tok, "machine"):
			m := next()
			machine = string(d[m.s:m.e])
		case equalFold(tok, "default"):
			machine = "default"
		case equalFold(tok, "password"), equalFold(tok, "passwd"):
			v := next()
			if v.e > v.s && secretVal(v) {
				st.add(Match{Kind: KindNetrcPassword, Start: v.s, End: v.e, Key: machine})
			}
		case equalFold(tok, "macdef"):
			if j := bytes.Index(d[i:], []byte("\n\n")); j >= 0 {
				i += j + 2
			} else {
				return
			}
		case tok[0] == '#':
			for i < len(d) && d[i] != '\n' {
				i++
			}
		}
	}
}

// parseDockerConfig finds "auth", "identitytoken" and "password" string values in a Docker
// config.json, a legacy .dockercfg or a containers auth.json. It reads the JSON text rather
// than decoding it, so a truncated or slightly broken file is still analyzed and every value
// keeps its offset. The registry is the key of the object that holds the value.
func parseDockerConfig(st *scanner, secretVal func(span) bool) {
	d := st.data
	for _, field := range []string{`"auth"`, `"identitytoken"`, `"password"`} {
		for off := 0; ; {
			j := bytes.Index(d[off:], []byte(field))
			if j < 0 {
				break
			}
			k := off + j + len(field)
			off = k
			for k < len(d) && isSpace(d[k]) {
				k++
			}
			if k >= len(d) || d[k] != ':' {
				continue
			}
			k++
			for k < len(d) && isSpace(d[k]) {
				k++
			}
			if k >= len(d) || d[k] != '"' {
				continue
			}
			vs := k + 1
			ve := vs
			for ve < len(d) && d[ve] != '"' && d[ve] != '\n' {
				ve++
			}
			if ve >= len(d) || d[ve] != '"' || ve == vs {
				continue
			}
			v := span{vs, ve}
			if field == `"auth"` && !authHasPassword(d[vs:ve]) || !secretVal(v) {
				continue
			}
			st.add(Match{Kind: KindDockerConfigAuth, Start: vs, End: ve, Key: dockerRegistry(d, off-len(field))})
		}
	}
}

// authHasPassword reports whether a base64 "user:password" value has a password. Values that
// do not decode are reported as they are.
func authHasPassword(b64 []byte) bool {
	var buf [512]byte
	n, ok := decodeBase64(b64, buf[:])
	if !ok {
		return true
	}
	c := bytes.IndexByte(buf[:n], ':')
	return c < 0 || c+1 < n
}

// dockerRegistry returns the key of the JSON object that contains offset at, or "".
func dockerRegistry(d []byte, at int) string {
	ob := bytes.LastIndexByte(d[:at], '{')
	if ob < 0 {
		return ""
	}
	k := ob - 1
	for k >= 0 && isSpace(d[k]) {
		k--
	}
	if k < 0 || d[k] != ':' {
		return ""
	}
	k--
	for k >= 0 && isSpace(d[k]) {
		k--
	}
	if k < 0 || d[k] != '"' {
		return ""
	}
	e := k
	s := bytes.LastIndexByte(d[:e], '"')
	if s < 0 || e-s > 256 {
		return ""
	}
	return string(d[s+1 : e])
}

// decodeBase64 decodes standard base64 (padding optional) into dst without allocating.
func decodeBase64(src, dst []byte) (int, bool) {
	var acc uint32
	bits, n := 0, 0
	for _, c := range src {
		var v byte
		switch {
		case 'A' <= c && c <= 'Z':
			v = c - 'A'
		case 'a' <= c && c <= 'z':
			v = c - 'a' + 26
		case '0' <= c && c <= '9':
			v = c - '0' + 52
		case c == '+' || c == '-':
			v = 62
		case c == '/' || c == '_':
			v = 63
		case c == '=':
			continue
		default:
			return 0, false
		}
		acc = acc<<6 | uint32(v)
		bits += 6
		if bits >= 8 {
			bits -= 8
			if n >= len(dst) {
				return 0, false
			}
			dst[n] = byte(acc >> bits)
			n++
		}
	}
	return n, true
}
