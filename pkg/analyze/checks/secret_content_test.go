package checks

import (
	"fmt"
	"io/fs"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgharden/imgharden/internal/imagetest"
	st "github.com/imgharden/imgharden/internal/secrettest"
	"github.com/imgharden/imgharden/pkg/analyze"
	"github.com/imgharden/imgharden/pkg/finding"
)

// runSecretChecks scans img with the secret checks only.
func runSecretChecks(t *testing.T, img v1.Image, opts ...analyze.Option) []finding.Finding {
	t.Helper()
	opts = append([]analyze.Option{analyze.WithChecks(secretContent{}, secretConfig{})}, opts...)
	res, err := analyze.New(opts...).Run(t.Context(), img)
	if err != nil {
		t.Fatal(err)
	}
	return res.Findings
}

// want is the part of a finding a test pins down.
type want struct {
	rule    *finding.Rule
	path    string
	line    int
	removed bool
}

func (w want) String() string {
	return fmt.Sprintf("%s %s:%d removed=%t", w.rule.ID, w.path, w.line, w.removed)
}

func got(fs []finding.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%s %s:%d removed=%t (%s) [%s]", f.RuleID, f.Location.Path, f.Location.Line, f.Location.Removed, f.Message, f.Evidence))
	}
	return out
}

// sameFindings compares findings with wants, ignoring order (the engine sorts by severity).
func sameFindings(t *testing.T, fs []finding.Finding, ws []want) {
	t.Helper()
	match := func(f finding.Finding, w want) bool {
		return f.RuleID == w.rule.ID && f.Location.Path == w.path && (w.line == 0 || f.Location.Line == w.line) &&
			f.Location.Removed == w.removed && f.Severity == w.rule.Severity && f.Slug == w.rule.Slug
	}
	used := make([]bool, len(fs))
	ok := len(fs) == len(ws)
	for _, w := range ws {
		found := false
		for i, f := range fs {
			if !used[i] && match(f, w) {
				used[i], found = true, true
				break
			}
		}
		ok = ok && found
	}
	if !ok {
		t.Fatalf("findings differ\n got: %s\nwant: %v", strings.Join(got(fs), "\n      "), ws)
	}
	for _, w := range ws {
		markPositive(t, w.rule)
	}
}

func TestSecretContentRules(t *testing.T) {
	pkcs8, _, _ := st.ECKey(t)
	keyID, awsSecret := st.AWSKeyID(1), st.AWSSecret(2)
	gh, npm, pw := st.GitHub(3), st.NPM(4), st.Password(5)
	auth := st.DockerAuth("ci", pw)
	tests := []struct {
		name  string
		files []imagetest.File
		want  []want
	}{
		{"private key", []imagetest.File{imagetest.Reg("/etc/ssl/private/server.key", pkcs8)},
			[]want{{rule: RulePrivateKey, path: "/etc/ssl/private/server.key", line: 2}}},
		{"openssh deploy key", []imagetest.File{{Path: "/root/.ssh/id_ed25519", Mode: 0o600, Content: st.PEM(6, "OPENSSH PRIVATE KEY")}},
			[]want{{rule: RulePrivateKey, path: "/root/.ssh/id_ed25519"}}},
		{"aws key id and secret in a script", []imagetest.File{imagetest.Reg("/app/deploy.sh",
			"#!/bin/sh\nexport AWS_ACCESS_KEY_ID="+keyID+"\nexport AWS_SECRET_ACCESS_KEY="+awsSecret+"\naws s3 sync . s3://b\n")},
			[]want{{rule: RuleAWSAccessKeyID, path: "/app/deploy.sh", line: 2}, {rule: RuleAWSSecretAccessKey, path: "/app/deploy.sh", line: 3}}},
		{"github", []imagetest.File{imagetest.Reg("/app/main.py", "GH = '"+gh+"'\n")},
			[]want{{rule: RuleGitHubToken, path: "/app/main.py", line: 1}}},
		{"gitlab", []imagetest.File{imagetest.Reg("/app/ci.txt", "x "+st.GitLab(7)+"\n")}, []want{{rule: RuleGitLabToken, path: "/app/ci.txt"}}},
		{"slack token", []imagetest.File{imagetest.Reg("/app/bot.js", "const t = '"+st.Slack(8)+"';\n")}, []want{{rule: RuleSlackToken, path: "/app/bot.js"}}},
		{"slack webhook", []imagetest.File{imagetest.Reg("/app/notify.rb", "URL = '"+st.SlackWebhook(9)+"'\n")}, []want{{rule: RuleSlackWebhook, path: "/app/notify.rb"}}},
		{"npm", []imagetest.File{imagetest.Reg("/app/publish.sh", "NPM_TOKEN="+npm+" npm publish\n")}, []want{{rule: RuleNPMToken, path: "/app/publish.sh"}}},
		{"pypi", []imagetest.File{imagetest.Reg("/app/upload.sh", "twine upload -p "+st.PyPI(10)+" dist/*\n")}, []want{{rule: RulePyPIToken, path: "/app/upload.sh"}}},
		{"docker hub", []imagetest.File{imagetest.Reg("/app/login.sh", "docker login -u me -p "+st.DockerHub(11)+"\n")}, []want{{rule: RuleDockerHubToken, path: "/app/login.sh"}}},
		{"url credentials in config", []imagetest.File{imagetest.Reg("/app/config/database.yml", "production:\n  url: postgres://app:"+pw+"@db:5432/app\n")},
			[]want{{rule: RuleURLCredentials, path: "/app/config/database.yml", line: 2}}},
		{"aws credentials file", []imagetest.File{imagetest.Reg("/root/.aws/credentials", "[default]\naws_access_key_id = "+keyID+"\naws_secret_access_key = "+awsSecret+"\n")},
			[]want{{rule: RuleAWSCredentialsFile, path: "/root/.aws/credentials", line: 3}}},
		{"npmrc", []imagetest.File{imagetest.Reg("/usr/src/app/.npmrc", "//registry.npmjs.org/:_authToken="+npm+"\n")},
			[]want{{rule: RuleNpmrcAuth, path: "/usr/src/app/.npmrc", line: 1}}},
		{"netrc", []imagetest.File{imagetest.Reg("/root/.netrc", "machine github.com login x password "+gh+"\n")},
			[]want{{rule: RuleNetrcPassword, path: "/root/.netrc"}}},
		{"pypirc", []imagetest.File{imagetest.Reg("/root/.pypirc", "[pypi]\nusername = me\npassword = "+pw+"\n")},
			[]want{{rule: RulePypircPassword, path: "/root/.pypirc", line: 3}}},
		{"git credentials", []imagetest.File{imagetest.Reg("/root/.git-credentials", "https://me:"+pw+"@github.com\n")},
			[]want{{rule: RuleGitCredentials, path: "/root/.git-credentials"}}},
		{"docker config", []imagetest.File{imagetest.Reg("/root/.docker/config.json", `{"auths":{"https://index.docker.io/v1/":{"auth":"`+auth+`"}}}`)},
			[]want{{rule: RuleDockerConfigAuth, path: "/root/.docker/config.json"}}},
		{"dotenv", []imagetest.File{imagetest.Reg("/app/.env", "DEBUG=0\nDB_PASSWORD="+pw+"\n")},
			[]want{{rule: RulePasswordAssignment, path: "/app/.env", line: 2}}},
		{"mysql client config", []imagetest.File{imagetest.Reg("/etc/mysql/debian.cnf", "[client]\nhost = localhost\nuser = debian-sys-maint\npassword = "+pw+"\n")},
			[]want{{rule: RulePasswordAssignment, path: "/etc/mysql/debian.cnf", line: 4}}},

		// Negatives.
		{"ca bundle", []imagetest.File{imagetest.Reg("/etc/ssl/certs/ca-certificates.crt", st.CABundle(t, 20))}, nil},
		{"README about secrets", []imagetest.File{imagetest.Reg("/app/README.md",
			"# Configuration\n\nSet DB_PASSWORD=hunter2hunter2 and API_TOKEN before start. The password: field\nis never logged; tokens rotate. Example: postgres://app:s3cretpassw0rd@db/app\n"+
				"Private keys look like `-----BEGIN RSA PRIVATE KEY-----` followed by base64.\n")}, nil},
		{"public keys", []imagetest.File{imagetest.Reg("/root/.ssh/authorized_keys", "ssh-ed25519 "+st.Fake(12, "AAAAC3NzaC1lZDI1NTE5AAAA", 44, st.B64)+" me@laptop\n"),
			imagetest.Reg("/etc/pki/key.pub", "-----BEGIN PUBLIC KEY-----\n"+st.PEMBody(13, 200)+"-----END PUBLIC KEY-----\n")}, nil},
		{"placeholders in config", []imagetest.File{imagetest.Reg("/app/.env", "DB_PASSWORD=changeme\nAPI_KEY=${API_KEY}\nSECRET=<secret>\nTOKEN=xxx\nPASSWORD=\n"),
			imagetest.Reg("/root/.npmrc", "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n"),
			imagetest.Reg("/root/.docker/config.json", `{"credsStore":"ecr-login","auths":{}}`)}, nil},
		{"package sample config", []imagetest.File{imagetest.Reg("/usr/share/doc/redis/examples/redis.conf", "requirepass = "+pw+"\nmasterauth = "+pw+"\n")}, nil},
		{"assignment in source code", []imagetest.File{imagetest.Reg("/app/settings_test.go", `password := "`+pw+`"`+"\n")}, nil},
		{"binary with a token", []imagetest.File{{Path: "/usr/bin/tool", Mode: 0o755, Content: "\x7fELF\x02\x01\x01\x00" + gh}}, nil},
		{"text with a NUL and a token", []imagetest.File{imagetest.Reg("/app/data.txt", "abc\x00"+gh)}, nil},
		{"binary by name", []imagetest.File{imagetest.Reg("/usr/lib/libx.so.1", gh), imagetest.Reg("/app/x.pyc", gh)}, nil},
		{"symlink and directory", []imagetest.File{imagetest.Dir("/root/.aws/"), imagetest.Symlink("/root/.npmrc", "/run/secrets/npmrc")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := imagetest.Image(t, v1.Config{}, imagetest.Layer{CreatedBy: "COPY . /", Files: tt.files})
			sameFindings(t, runSecretChecks(t, img), tt.want)
		})
	}
}

func TestSecretContentRemovedAndOverwritten(t *testing.T) {
	npm, pw := st.NPM(1), st.Password(2)
	img := imagetest.Image(t, v1.Config{},
		imagetest.Layer{CreatedBy: "COPY . /", Files: []imagetest.File{
			imagetest.Reg("/root/.npmrc", "//registry.npmjs.org/:_authToken="+npm+"\n"),
			imagetest.Reg("/app/.env", "DB_PASSWORD="+pw+"\n"),
			imagetest.Reg("/app/keep.env", "API_KEY="+pw+"\n"),
		}},
		imagetest.Layer{CreatedBy: "RUN rm /root/.npmrc && echo > /app/.env", Whiteouts: []string{"/root/.npmrc"},
			Files: []imagetest.File{imagetest.Reg("/app/.env", "DB_PASSWORD=${DB_PASSWORD}\n")}},
	)
	sameFindings(t, runSecretChecks(t, img), []want{
		{rule: RuleNpmrcAuth, path: "/root/.npmrc", removed: true},
		{rule: RulePasswordAssignment, path: "/app/.env", removed: true},
		{rule: RulePasswordAssignment, path: "/app/keep.env"},
	})
}

func TestSecretContentLargeFileFirstChunk(t *testing.T) {
	gh1, gh2 := st.GitHub(1), st.GitHub(2)
	big := "t=" + gh1 + "\n" + strings.Repeat("filler line of a large log file\n", 1000) + "t=" + gh2 + "\n"
	img := imagetest.Image(t, v1.Config{}, imagetest.Layer{Files: []imagetest.File{imagetest.Reg("/var/log/app.log", big)}})
	fs := runSecretChecks(t, img, analyze.WithMaxFileSize(4096))
	sameFindings(t, fs, []want{{rule: RuleGitHubToken, path: "/var/log/app.log", line: 1}})
}

func TestSecretContentCapPerFile(t *testing.T) {
	var b strings.Builder
	for i := range maxFindingsPerFile + 10 {
		b.WriteString(st.GitHub(uint64(i)) + "\n")
	}
	img := imagetest.Image(t, v1.Config{}, imagetest.Layer{Files: []imagetest.File{imagetest.Reg("/app/tokens.txt", b.String())}})
	fs := runSecretChecks(t, img)
	if len(fs) != maxFindingsPerFile {
		t.Fatalf("got %d findings, want %d", len(fs), maxFindingsPerFile)
	}
	more := 0
	for _, f := range fs {
		if f.Details["moreInFile"] == "10" {
			more++
		}
	}
	if more != 1 {
		t.Errorf("want exactly one finding saying 10 more secrets were left out, got %d:\n%s", more, strings.Join(got(fs), "\n"))
	}
}

func TestSecretContentWants(t *testing.T) {
	tests := []struct {
		e    analyze.Entry
		want bool
	}{
		{analyze.Entry{Path: "/app/.env", Mode: 0o644, Size: 100}, true},
		{analyze.Entry{Path: "/app/big.log", Mode: 0o644, Size: 1 << 40}, true},
		{analyze.Entry{Path: "/usr/bin/curl", Mode: 0o755, Size: 200000}, true}, // sniffed as binary later
		{analyze.Entry{Path: "/app/tiny", Mode: 0o644, Size: 5}, false},
		{analyze.Entry{Path: "/app/", Mode: fs.ModeDir | 0o755}, false},
		{analyze.Entry{Path: "/app/link", Mode: fs.ModeSymlink | 0o777, Linkname: "/etc/passwd"}, false},
		{analyze.Entry{Path: "/app/hard", Mode: 0o644, Size: 100, Hardlink: true, Linkname: "/app/.env"}, false},
		{analyze.Entry{Path: "/dev/null", Mode: fs.ModeDevice | fs.ModeCharDevice | 0o666}, false},
		{analyze.Entry{Path: "/usr/lib/x86_64-linux-gnu/libssl.so.3", Mode: 0o644, Size: 600000}, false},
		{analyze.Entry{Path: "/usr/lib/python3.11/__pycache__/os.cpython-311.pyc", Mode: 0o644, Size: 40000}, false},
		{analyze.Entry{Path: "/usr/share/locale/de/LC_MESSAGES/apt.mo", Mode: 0o644, Size: 40000}, false},
		{analyze.Entry{Path: "/app/app.jar", Mode: 0o644, Size: 40000}, false},
		{analyze.Entry{Path: "/app/libfoo.so.conf", Mode: 0o644, Size: 400}, true},
	}
	for _, tt := range tests {
		if got := (secretContent{}).Wants(&tt.e); got != tt.want {
			t.Errorf("Wants(%s) = %v, want %v", tt.e.Path, got, tt.want)
		}
	}
}
