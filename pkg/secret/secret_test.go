package secret

import (
	"fmt"
	"github.com/imgharden/imgharden/internal/secrettest"
	"strings"
	"testing"
)

type hit struct {
	kind  Kind
	value string // the secret Detect must return (Match.Value)
	key   string // Match.Key, checked when set
	line  int    // Match.Line, checked when set
}

func (h hit) String() string {
	return fmt.Sprintf("%s %q key=%q line=%d", h.kind, h.value, h.key, h.line)
}

func check(t *testing.T, input string, got []Match, want []hit) {
	t.Helper()
	if len(got) != len(want) {
		var gs []string
		for _, m := range got {
			gs = append(gs, hit{m.Kind, input[m.Start:m.End], m.Key, m.Line}.String())
		}
		t.Fatalf("got %d matches, want %d:\n got: %s\nwant: %v", len(got), len(want), strings.Join(gs, "\n      "), want)
	}
	for i, w := range want {
		m := got[i]
		g := hit{m.Kind, input[m.Start:m.End], m.Key, m.Line}
		if g.kind != w.kind || g.value != w.value || (w.key != "" && g.key != w.key) || (w.line != 0 && g.line != w.line) {
			t.Errorf("match %d:\n got %v\nwant %v", i, g, w)
		}
	}
}

func TestDetectTokens(t *testing.T) {
	var (
		keyID, awsSecret = secrettest.AWSKeyID(1), secrettest.AWSSecret(2)
		gh, ghPAT, gl    = secrettest.GitHub(3), secrettest.GitHubPAT(4), secrettest.GitLab(5)
		slack, hook      = secrettest.Slack(6), secrettest.SlackWebhook(7)
		npm, pypi, dckr  = secrettest.NPM(8), secrettest.PyPI(9), secrettest.DockerHub(10)
		ghOAuth          = secrettest.Fake(11, "gho_", 36, secrettest.Alnum)
		ghApp            = secrettest.Fake(12, "ghs_", 36, secrettest.Alnum)
		asia             = secrettest.Fake(13, "ASIA", 16, secrettest.Base32)
	)
	hookPath := hook[strings.Index(hook, "services/")+len("services/"):]
	tests := []struct {
		name  string
		input string
		want  []hit
	}{
		{"aws key id", "aws_access_key_id = " + keyID + "\n", []hit{{kind: KindAWSAccessKeyID, value: keyID}}},
		{"aws temporary key id in a URL", "https://s3.amazonaws.com/b/o?X-Amz-Credential=" + asia + "%2F20260101", []hit{{kind: KindAWSAccessKeyID, value: asia}}},
		{"aws secret, credentials file spelling", "aws_secret_access_key = " + awsSecret + "\n", []hit{{kind: KindAWSSecretAccessKey, value: awsSecret, key: "aws_secret_access_key"}}},
		{"aws secret, env spelling", "export AWS_SECRET_ACCESS_KEY=" + awsSecret, []hit{{kind: KindAWSSecretAccessKey, value: awsSecret, key: "AWS_SECRET_ACCESS_KEY"}}},
		{"aws secret, JSON from create-access-key", `{"AccessKey": {"AccessKeyId": "` + keyID + `", "SecretAccessKey": "` + awsSecret + `"}}`,
			[]hit{{kind: KindAWSAccessKeyID, value: keyID}, {kind: KindAWSSecretAccessKey, value: awsSecret, key: "SecretAccessKey"}}},
		{"aws secret after a printf escape", `printf '[default]\naws_secret_access_key = ` + awsSecret + `\n'`,
			[]hit{{kind: KindAWSSecretAccessKey, value: awsSecret, key: "aws_secret_access_key"}}},
		{"aws secret, yaml quoted", "aws-secret-access-key: '" + awsSecret + "'", []hit{{kind: KindAWSSecretAccessKey, value: awsSecret}}},
		{"github classic", "token: " + gh, []hit{{kind: KindGitHubToken, value: gh}}},
		{"github oauth and app", ghOAuth + " " + ghApp, []hit{{kind: KindGitHubToken, value: ghOAuth}, {kind: KindGitHubToken, value: ghApp}}},
		{"github fine-grained", "GH=" + ghPAT + "\n", []hit{{kind: KindGitHubToken, value: ghPAT}}},
		{"gitlab", "private-token: " + gl, []hit{{kind: KindGitLabToken, value: gl}}},
		{"slack bot token", `"` + slack + `"`, []hit{{kind: KindSlackToken, value: slack}}},
		{"slack webhook", "url = " + hook + "\n", []hit{{kind: KindSlackWebhook, value: hookPath}}},
		{"npm", "//registry.npmjs.org/:_authToken=" + npm, []hit{{kind: KindNPMToken, value: npm}}},
		{"pypi", "password = " + pypi, []hit{{kind: KindPyPIToken, value: pypi}}},
		{"docker hub", "echo " + dckr + " | docker login -u me --password-stdin", []hit{{kind: KindDockerHubToken, value: dckr}}},
		{"line numbers", "a\nb\n\n" + gh + "\nc\n" + npm, []hit{{kind: KindGitHubToken, value: gh, line: 4}, {kind: KindNPMToken, value: npm, line: 6}}},
		{"token at the very start and end", gh, []hit{{kind: KindGitHubToken, value: gh}}},

		// Negatives.
		// Outside third-party files, documentation keys and EXAMPLE-spelled tokens are reported:
		// nothing tells them from real ones (TestDetectFile covers the third-party case).
		{"aws documentation example id", "AKIAIOSFODNN7EXAMPLE", []hit{{kind: KindAWSAccessKeyID, value: "AKIAIOSFODNN7EXAMPLE"}}},
		{"aws documentation example secret", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
			[]hit{{kind: KindAWSSecretAccessKey, value: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}}},
		{"example-spelled github token", "ghp_0EXAMPLE0EXAMPLE0EXAMPLE0EXAMPLE0EXA", []hit{{kind: KindGitHubToken, value: "ghp_0EXAMPLE0EXAMPLE0EXAMPLE0EXAMPLE0EXA"}}},
		{"example-spelled gitlab token", "glpat-EXAMPLE0EXAMPLE0EXAM", []hit{{kind: KindGitLabToken, value: "glpat-EXAMPLE0EXAMPLE0EXAM"}}},
		{"aws key id in lowercase", strings.ToLower(keyID), nil},
		{"aws key id glued to a word", "X" + keyID, nil},
		{"aws filler id", "AKIAXXXXXXXXXXXXXXXX", nil},
		{"40 chars without an aws name", "checksum = " + awsSecret, nil},
		{"aws secret too long", "aws_secret_access_key = " + awsSecret + "A", nil},
		{"github prefix in prose", "tokens start with ghp_ and are 40 characters long", nil},
		{"github too short", secrettest.Fake(20, "ghp_", 20, secrettest.Alnum), nil},
		{"github filler", "ghp_" + strings.Repeat("x", 36), nil},
		{"github glued to a word", "xghp_" + gh[4:], nil},
		{"npm config env var", "npm_config_cache=/root/.npm npm_package_version=1.2.3", nil},
		{"npm too long", secrettest.Fake(21, "npm_", 40, secrettest.Alnum), nil},
		{"slack without digits", "xoxb-your-token-goes-here-please", nil},
		{"slack documentation webhook", "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX", nil},
		{"pypi prefix only", "pypi-AgEIcHlwaS5vcmc", nil},
		{"docker hub too short", "dckr_pat_abc", nil},
		{"assignment in token mode", "password = " + secrettest.Password(22), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, tt.input, DetectString(tt.input, ModeTokens), tt.want)
		})
	}
}

func TestDetectPrivateKeys(t *testing.T) {
	pkcs8, sec1, _ := secrettest.ECKey(t)
	body := func(p string) string {
		lines := strings.Split(strings.TrimSpace(p), "\n")
		return strings.Join(lines[1:len(lines)-1], "\n")
	}
	rsa := secrettest.PEM(1, "RSA PRIVATE KEY")
	openssh := secrettest.PEM(2, "OPENSSH PRIVATE KEY")
	dsa := secrettest.PEM(3, "DSA PRIVATE KEY")
	enc := secrettest.PEM(4, "ENCRYPTED PRIVATE KEY")
	legacyEnc := "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,0123456789ABCDEF0123456789ABCDEF\n\n" +
		secrettest.PEMBody(5, 600) + "-----END RSA PRIVATE KEY-----\n"
	pgp := "-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\nComment: test\n\n" + secrettest.PEMBody(6, 900) +
		"=AbCd\n-----END PGP PRIVATE KEY BLOCK-----\n"
	jsonKey := `{"type": "service_account", "private_key": "` + strings.ReplaceAll(pkcs8, "\n", `\n`) + `", "client_email": "x@y"}`
	indented := "key: |\n  " + strings.ReplaceAll(strings.TrimSpace(sec1), "\n", "\n  ") + "\n"
	tests := []struct {
		name  string
		input string
		want  []hit
	}{
		{"pkcs8", pkcs8, []hit{{kind: KindPrivateKey, value: body(pkcs8), line: 2}}},
		{"sec1 ec", "junk\n" + sec1, []hit{{kind: KindPrivateKey, value: body(sec1), line: 3}}},
		{"rsa", rsa, []hit{{kind: KindPrivateKey, value: body(rsa)}}},
		{"openssh", openssh, []hit{{kind: KindPrivateKey, value: body(openssh)}}},
		{"dsa", dsa, []hit{{kind: KindPrivateKey, value: body(dsa)}}},
		{"encrypted pkcs8", enc, []hit{{kind: KindPrivateKey, value: body(enc)}}},
		{"legacy encrypted with headers", legacyEnc, []hit{{kind: KindPrivateKey, value: strings.TrimSpace(secrettest.PEMBody(5, 600))}}},
		{"pgp", pgp, []hit{{kind: KindPrivateKey, value: strings.TrimSpace(secrettest.PEMBody(6, 900)) + "\n=AbCd"}}},
		{"json escaped newlines", jsonKey, []hit{{kind: KindPrivateKey}}},
		{"yaml block scalar", indented, []hit{{kind: KindPrivateKey}}},

		{"ca bundle", secrettest.CABundle(t, 12), nil},
		{"public key and ssh public key", "-----BEGIN PUBLIC KEY-----\n" + secrettest.PEMBody(7, 120) + "-----END PUBLIC KEY-----\nssh-rsa " + secrettest.Fake(8, "AAAAB3NzaC1yc2E", 300, secrettest.B64) + " me@host\n", nil},
		{"rsa public key", "-----BEGIN RSA PUBLIC KEY-----\n" + secrettest.PEMBody(9, 300) + "-----END RSA PUBLIC KEY-----\n", nil},
		{"header in source code", `if strings.HasPrefix(line, "-----BEGIN RSA PRIVATE KEY-----") {` + "\n" + `	return parse(line)` + "\n}\n", nil},
		{"header constant then code", "PEM_HEADER = \"-----BEGIN PRIVATE KEY-----\"\nPEM_FOOTER = \"-----END PRIVATE KEY-----\"\n", nil},
		{"documentation with an elided body", "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA...\n...\n-----END RSA PRIVATE KEY-----\n", nil},
		{"header without body", "-----BEGIN OPENSSH PRIVATE KEY-----\n-----END OPENSSH PRIVATE KEY-----\n", nil},
		{"lowercase header", strings.ToLower(rsa), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DetectString(tt.input, ModeTokens)
			if len(tt.want) == 1 && tt.want[0].value == "" {
				if len(got) != 1 || got[0].Kind != KindPrivateKey {
					t.Fatalf("got %v, want one private key", got)
				}
				return
			}
			check(t, tt.input, got, tt.want)
		})
	}
}

func TestDetectConfig(t *testing.T) {
	pw := secrettest.Password(1)
	gh := secrettest.GitHub(2)
	tests := []struct {
		name  string
		input string
		want  []hit
	}{
		{"dotenv", "DB_HOST=db\nDB_PASSWORD=" + pw + "\n", []hit{{kind: KindAssignment, value: pw, key: "DB_PASSWORD", line: 2}}},
		{"dotenv export quoted", `export API_KEY="` + pw + `"`, []hit{{kind: KindAssignment, value: pw, key: "API_KEY"}}},
		{"yaml", "database:\n  password: " + pw + "\n", []hit{{kind: KindAssignment, value: pw, key: "password"}}},
		{"yaml quoted", "client_secret: '" + pw + "'\n", []hit{{kind: KindAssignment, value: pw, key: "client_secret"}}},
		{"json", `{"user": "app", "dbPassword": "` + pw + `"}`, []hit{{kind: KindAssignment, value: pw, key: "dbPassword"}}},
		{"ini", "[db]\npasswd = " + pw + "\n", []hit{{kind: KindAssignment, value: pw, key: "passwd"}}},
		{"properties", "spring.datasource.password=" + pw + "\n", []hit{{kind: KindAssignment, value: pw, key: "spring.datasource.password"}}},
		{"toml", `secret_key = "` + pw + `"`, []hit{{kind: KindAssignment, value: pw, key: "secret_key"}}},
		{"xml element", "<password>" + pw + "</password>", []hit{{kind: KindAssignment, value: pw, key: "password"}}},
		{"xml attribute", `<add key="x" accessToken="` + pw + `"/>`, []hit{{kind: KindAssignment, value: pw, key: "accessToken"}}},
		{"ruby hash", `:auth_token => "` + pw + `"`, []hit{{kind: KindAssignment, value: pw, key: "auth_token"}}},
		{"token pattern wins over the assignment", "GITHUB_TOKEN=" + gh + "\n", []hit{{kind: KindGitHubToken, value: gh}}},
		{"url password", "DATABASE_URL=postgres://app:" + pw + "@db.internal:5432/app\n", []hit{{kind: KindURLCredentials, value: pw, key: "db.internal"}}},
		{"url token as user info", "url = https://oauth2:" + pw + "@gitlab.example.org/group/repo.git", []hit{{kind: KindURLCredentials, value: pw}}},

		{"placeholder changeme", "DB_PASSWORD=changeme", nil},
		{"placeholder variable", "DB_PASSWORD=${DB_PASSWORD}\nTOKEN=$TOKEN\n", nil},
		{"placeholder template", "password: <password>\ntoken: {{ .Values.token }}\n", nil},
		{"placeholder filler", "password = xxxxxxxx\nsecret = ********\n", nil},
		{"placeholder empty", "PASSWORD=\npassword: \"\"\n", nil},
		{"placeholder your", "api_key: your-api-key-here\n", nil},
		{"placeholder boolean and number", "MYSQL_ALLOW_EMPTY_PASSWORD=yes\ntoken_ttl: 3600\npassword_min_length = 12\n", nil},
		{"path by convention", "POSTGRES_PASSWORD_FILE=/run/secrets/db\npassword_file = ./secret.txt\n", nil},
		{"secret store reference", "DB_PASSWORD=arn:aws:secretsmanager:eu-west-1:123:secret:db\n", nil},
		{"comment", "# password = " + pw + "\n; token = " + pw + "\n// apiKey: " + pw + "\n", nil},
		{"shell reference", `if [ "$PASSWORD" = "` + pw + `" ]; then`, nil},
		{"comparison", `if password == "` + pw + `":`, nil},
		{"json schema", `{"password": {"type": "string", "minLength": 8}}`, nil},
		{"i18n prose value", `{"password": "Enter your password", "token": "Token expired, sign in again"}`, nil},
		{"key ends in a non-secret word", "TOKEN_URL=https://auth.example.org/token\nsecret_name: db-creds\n", nil},
		{"words inside other words", "tokenizer = " + pw + "\nbypass = " + pw + "\nkeyboard = " + pw + "\n", nil},
		{"sshd style", "PasswordAuthentication no\nPermitEmptyPasswords no\n", nil},
		{"url with placeholder password", "postgres://user:password@localhost/db https://u:${TOKEN}@git.example.org", nil},
		{"url without password", "https://user@example.org/ and https://example.org:8443/", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, tt.input, DetectString(tt.input, ModeConfig), tt.want)
		})
	}
}

func TestDetectFile(t *testing.T) {
	keyID, awsSecret, tok := secrettest.AWSKeyID(1), secrettest.AWSSecret(2), secrettest.Fake(3, "", 120, secrettest.B64)
	npm, pw, pypi := secrettest.NPM(4), secrettest.Password(5), secrettest.PyPI(6)
	gh := secrettest.GitHub(7)
	auth := secrettest.DockerAuth("deploy", pw)
	tests := []struct {
		name, path, input string
		want              []hit
	}{
		{"aws credentials", "/root/.aws/credentials",
			"[default]\naws_access_key_id = " + keyID + "\naws_secret_access_key = " + awsSecret + "\n[ci]\naws_access_key_id=" + keyID + "\naws_secret_access_key=" + awsSecret + "\naws_session_token=" + tok + "\n",
			[]hit{{kind: KindAWSCredentialsFile, value: awsSecret, key: "aws_secret_access_key", line: 3},
				{kind: KindAWSCredentialsFile, value: awsSecret, line: 6},
				{kind: KindAWSCredentialsFile, value: tok, key: "aws_session_token", line: 7}}},
		{"aws credentials with documentation keys", "/home/app/.aws/credentials",
			"[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
			[]hit{{kind: KindAWSCredentialsFile, value: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}}},
		{"npmrc auth token", "/root/.npmrc", "registry=https://registry.npmjs.org/\n//registry.npmjs.org/:_authToken=" + npm + "\n",
			[]hit{{kind: KindNpmrcAuth, value: npm, key: "//registry.npmjs.org/:_authToken"}}},
		{"npmrc legacy auth", "/app/.npmrc", "_auth = " + auth + "\nemail=a@b.c\n", []hit{{kind: KindNpmrcAuth, value: auth, key: "_auth"}}},
		{"npmrc with variable", "/app/.npmrc", "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n", nil},
		{"netrc", "/root/.netrc", "machine github.com\n  login x-access-token\n  password " + gh + "\nmachine example.org login a password " + pw + "\n",
			[]hit{{kind: KindNetrcPassword, value: gh, key: "github.com"}, {kind: KindNetrcPassword, value: pw, key: "example.org"}}},
		{"netrc without password", "/root/.netrc", "machine example.org login anonymous\n", nil},
		{"pypirc", "/root/.pypirc", "[distutils]\nindex-servers = pypi\n\n[pypi]\nusername = __token__\npassword = " + pypi + "\n",
			[]hit{{kind: KindPypircPassword, value: pypi, key: "pypi"}}},
		{"pypirc placeholder", "/root/.pypirc", "[pypi]\nusername = __token__\npassword = <your token>\n", nil},
		{"git credentials", "/root/.git-credentials", "https://deploy:" + gh + "@github.com\nhttps://anon@example.org\n",
			[]hit{{kind: KindGitCredentials, value: gh, key: "github.com"}}},
		{"xdg git credentials", "/home/u/.config/git/credentials", "https://u:" + pw + "@git.example.org\n",
			[]hit{{kind: KindGitCredentials, value: pw, key: "git.example.org"}}},
		{"docker config", "/root/.docker/config.json", `{"auths": {"registry.example.org": {"auth": "` + auth + `"}, "other.io": {"auth": ""}}, "credsStore": "pass"}`,
			[]hit{{kind: KindDockerConfigAuth, value: auth, key: "registry.example.org"}}},
		{"podman auth.json", "/run/containers/0/auth.json", "{\n\t\"auths\": {\n\t\t\"quay.io\": {\n\t\t\t\"auth\": \"" + auth + "\"\n\t\t}\n\t}\n}\n",
			[]hit{{kind: KindDockerConfigAuth, value: auth, key: "quay.io", line: 4}}},
		{"docker config with helpers only", "/root/.docker/config.json", `{"credHelpers": {"123.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login"}, "auths": {"x.io": {}}}`, nil},
		{"docker config with empty password", "/root/.docker/config.json", `{"auths": {"x.io": {"auth": "` + secrettest.DockerAuth("user", "") + `"}}}`, nil},
		{"dotenv", "/app/.env", "DB_PASSWORD=" + pw + "\n", []hit{{kind: KindAssignment, value: pw}}},
		{"dotenv variant", "/srv/app/.env.production", "SECRET_KEY_BASE=" + pw + "\n", []hit{{kind: KindAssignment, value: pw}}},
		{"yaml config", "/etc/app/config.yml", "db:\n  password: " + pw + "\n", []hit{{kind: KindAssignment, value: pw}}},
		{"git config remote url", "/app/.git/config", "[remote \"origin\"]\n\turl = https://x:" + pw + "@git.example.org/r.git\n", []hit{{kind: KindURLCredentials, value: pw}}},
		{"tokens in any text file", "/app/deploy.sh", "curl -H 'Authorization: token " + gh + "' https://api.github.com\n", []hit{{kind: KindGitHubToken, value: gh}}},

		{"README talks about passwords", "/app/README.md",
			"# Setup\n\nSet `DB_PASSWORD=hunter2hunter2` in your environment; the password: is never logged.\nTokens (token=abc123def456) rotate daily.\npostgres://app:s3cr3tpassw0rd@db/app\n", nil},
		{"assignment in source code", "/app/main.py", "password = '" + pw + "'\n", nil},
		{"sample config of a package", "/usr/share/doc/mysql/examples/my.cnf", "[client]\npassword = " + pw + "\n", nil},
		{"library data file", "/usr/local/lib/python3.12/site-packages/botocore/data/iam/examples-1.json", `{"NewPassword": "]35d/{pB9Fo9wJ"}`, nil},
		{"sdk documentation keys", "/usr/local/lib/python3.12/site-packages/botocore/data/iam/2010-05-08/examples-1.json",
			`{"AccessKeyId": "AKIAIOSFODNN7EXAMPLE", "SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}`, nil},
		{"real token in a package", "/usr/local/lib/node_modules/leaky/index.js", "const t = '" + gh + "'\n", []hit{{kind: KindGitHubToken, value: gh}}},
		{"runtime test suite key", "/usr/local/lib/python3.12/test/certdata/keycert.pem", secrettest.PEM(8, "PRIVATE KEY"), nil},
		{"package test fixture", "/app/node_modules/jws/test/fixtures/rsa.key", secrettest.PEM(9, "RSA PRIVATE KEY"), nil},
		{"go module cache testdata", "/root/go/pkg/mod/golang.org/x/crypto@v0.57.0/ssh/testdata/keys.go", "key := `" + secrettest.PEM(10, "OPENSSH PRIVATE KEY") + "`", nil},
		{"test source in a package", "/usr/lib/python3/dist-packages/paramiko/test_keys.py", "KEY = '" + secrettest.PEM(13, "RSA PRIVATE KEY") + "'", nil},
		{"go toolchain", "/usr/local/go/src/crypto/x509/platform_root_key.pem", secrettest.PEM(14, "EC PRIVATE KEY"), nil},
		{"the application's test source is reported", "/app/auth_test.go", "const k = `" + secrettest.PEM(15, "RSA PRIVATE KEY") + "`",
			[]hit{{kind: KindPrivateKey, value: strings.TrimSpace(secrettest.PEMBody(15, 600))}}},
		{"documentation", "/usr/share/doc/awscli/README", "export AWS_SECRET_ACCESS_KEY=" + secrettest.AWSSecret(11) + "\n", nil},
		{"the application's own test fixtures are reported", "/app/test/fixtures/prod.key", secrettest.PEM(12, "RSA PRIVATE KEY"),
			[]hit{{kind: KindPrivateKey, value: strings.TrimSpace(secrettest.PEMBody(12, 600))}}},
		{"nsswitch", "/etc/nsswitch.conf", "passwd:         files systemd\ngroup:          files\nshadow: files\n", nil},
		{"openssl.cnf sample section", "/etc/ssl/openssl.cnf", "[cmp]\nref = 3078 # user identification\nsecret = pass:insta # can be used\n", nil},
		{"maven settings comment block", "/etc/maven/settings.xml", "<proxies>\n  <!-- proxy\n   |\n  <proxy>\n    <password>proxypass</password>\n  </proxy>\n  -->\n</proxies>\n<servers>\n  <server><password>" + pw + "</password></server>\n</servers>\n",
			[]hit{{kind: KindAssignment, value: pw, line: 10}}},
		{"workflow permissions", "/app/.github/workflows/ci.yml", "permissions:\n  id-token: write\n  contents: read\n", nil},
		{"prose after a colon", "/app/messages.yaml", "password: please enter it below\nPassword: Required field\n", nil},
		{"go test -json output", "/app/testdata/run.json", `{"Action":"output","Output":"--- PASS: TestAscii (0.00s)\n"}` + "\n" + `{"Output":"ok  \tpkg\ttoken: abcdef1234\n"}`, nil},
		{"assignment inside a JSON string", "/app/taskdef.json", `{"environment": [{"name": "JAVA_OPTS", "value": "-Ddb.password=` + pw + `"}]}`,
			[]hit{{kind: KindAssignment, value: pw, key: "db.password"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, tt.input, DetectFile(tt.path, []byte(tt.input)), tt.want)
		})
	}
}

func TestSensitiveName(t *testing.T) {
	yes := []string{"AWS_SECRET_ACCESS_KEY", "DB_PASSWORD", "POSTGRES_PASSWORD", "GITHUB_TOKEN", "NPM_TOKEN",
		"API_KEY", "STRIPE_API_KEY", "apiKey", "APIKey", "client_secret", "clientSecret", "SECRET", "password",
		"dbPassword", "spring.datasource.password", "DB_PASS", "DB_PWD", "SECRET_KEY_BASE", "RAILS_MASTER_KEY",
		"JWT_SIGNING_KEY", "AWS_SESSION_TOKEN", "accessToken", "refresh-token", "KEYSTORE_PASSPHRASE",
		"GOOGLE_CREDENTIALS", "app.secrets", "PRIVATE_KEY", "sshPrivateKey", "ROOTPASSWORD"}
	no := []string{"PWD", "OLDPWD", "PATH", "HOME", "GPG_KEY", "AWS_ACCESS_KEY_ID", "AWS_REGION", "PASSWORD_FILE",
		"POSTGRES_PASSWORD_FILE", "TOKEN_URL", "SECRET_NAME", "passwordMinLength", "token_ttl", "tokenizer",
		"bypass", "keyboard", "KEY", "PASS", "pass", "POSTGRES_HOST_AUTH_METHOD", "PYTHON_SHA256", "GOSU_VERSION", "SECRETS_DIR",
		"password_hash_algorithm", "", "_", "TOKEN_TYPE"}
	for _, n := range yes {
		if !SensitiveName(n) {
			t.Errorf("SensitiveName(%q) = false, want true", n)
		}
	}
	for _, n := range no {
		if SensitiveName(n) {
			t.Errorf("SensitiveName(%q) = true, want false", n)
		}
	}
}

func TestIsPlaceholder(t *testing.T) {
	yes := []string{"", " ", "abc", "changeme", "CHANGEME", "change_me", "${DB_PASSWORD}", "$TOKEN", "%DB_PASS%",
		"{{ .Values.pw }}", "<password>", "xxx", "xxxxxxxxxx", "********", "...", "none", "null", "true", "false",
		"yes", "12345678", "your-token-here", "YOUR_API_KEY", "/run/secrets/db", "./secret", "~/.pw",
		"arn:aws:secretsmanager:eu-west-1:1:secret:x", "vault:secret/data/db#pw", "__TOKEN__", "@DB_PASSWORD@",
		`"changeme"`, "'${X}'", "example", "os.environ['PW']", "password", "!vault |", "|", ">-", "write"}
	no := []string{"hunter2hunter2", "s3cr3t-P4ss", "admin123!", secrettest.Password(1), "Tr0ub4dor&3", "not-a-real-password-e2e",
		"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "an-example-value"}
	for _, v := range yes {
		if !IsPlaceholder(v) {
			t.Errorf("IsPlaceholder(%q) = false, want true", v)
		}
	}
	for _, v := range no {
		if IsPlaceholder(v) {
			t.Errorf("IsPlaceholder(%q) = true, want false", v)
		}
	}
}

func TestIsBinary(t *testing.T) {
	tests := []struct {
		name string
		data string
		want bool
	}{
		{"text", "hello\nworld\n", false},
		{"empty", "", false},
		{"utf8", "héllo wörld — ✓\n", false},
		{"nul", "abc\x00def", true},
		{"elf", "\x7fELF\x02\x01\x01", true},
		{"gzip", "\x1f\x8b\x08", true},
		{"png", "\x89PNG\r\n\x1a\n", true},
		{"nul after 8 KiB", strings.Repeat("a", 9000) + "\x00", false},
	}
	for _, tt := range tests {
		if got := IsBinary([]byte(tt.data)); got != tt.want {
			t.Errorf("%s: IsBinary = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestIsConfigPath(t *testing.T) {
	yes := []string{"/app/.env", "/app/.env.local", "/srv/prod.env", "/etc/app/config.yaml", "/app/appsettings.json",
		"/etc/mysql/debian.cnf", "/app/application.properties", "/root/.aws/credentials", "/root/.npmrc",
		"/usr/local/etc/npmrc", "/root/.netrc", "/app/.git/config", "/app/settings.py", "/root/.docker/config.json"}
	no := []string{"/app/README.md", "/app/main.go", "/usr/share/doc/x/example.conf", "/usr/lib/node_modules/x/package.json",
		"/app/node_modules/x/config.json", "/usr/local/lib/python3.12/site-packages/x/data.json", "/etc/passwd", "/app/config"}
	for _, p := range yes {
		if !IsConfigPath(p) {
			t.Errorf("IsConfigPath(%q) = false, want true", p)
		}
	}
	for _, p := range no {
		if IsConfigPath(p) {
			t.Errorf("IsConfigPath(%q) = true, want false", p)
		}
	}
}

// TestScanLanes checks the four interleaved walks of the automaton: an anchor that crosses a
// lane boundary, or sits at either end of the input, is found exactly once.
func TestScanLanes(t *testing.T) {
	gh := secrettest.GitHub(1)
	for _, n := range []int{1000, 4095, 4096, 5000, 16384, 16387} {
		q := n / 4
		for _, b := range []int{0, q, 2 * q, 3 * q, n} {
			for off := b - len(gh); off <= b; off++ {
				if off < 0 || off+len(gh) > n {
					continue
				}
				buf := []byte(strings.Repeat(".", n))
				copy(buf[off:], gh)
				got := Detect(buf, ModeTokens)
				if len(got) != 1 || got[0].Start != off {
					t.Fatalf("n=%d off=%d: got %v, want one match at %d", n, off, got, off)
				}
			}
		}
	}
}

func TestDetectAllocatesNothingWithoutSecrets(t *testing.T) {
	text := []byte(strings.Repeat("func main() { key := map[string]string{\"password\": os.Getenv(\"X\")} }\n", 200))
	allocs := testing.AllocsPerRun(20, func() {
		if DetectFile("/app/config.json", text) != nil {
			t.Fatal("unexpected match")
		}
	})
	if allocs != 0 {
		t.Errorf("DetectFile allocated %.0f times on a file without secrets", allocs)
	}
}

func TestMaxMatches(t *testing.T) {
	var b strings.Builder
	for i := range maxMatches + 50 {
		b.WriteString(secrettest.GitHub(uint64(i)) + "\n")
	}
	if got := len(DetectString(b.String(), ModeTokens)); got != maxMatches {
		t.Errorf("got %d matches, want the cap %d", got, maxMatches)
	}
}

func TestRedact(t *testing.T) {
	gh, pw, keyID := secrettest.GitHub(1), secrettest.Password(2), secrettest.AWSKeyID(3)
	pkcs8, _, _ := secrettest.ECKey(t)
	tests := []struct {
		name, in string
		secrets  []string
		keep     []string
	}{
		{"buildkit arg prefix", "RUN |2 GITHUB_TOKEN=" + gh + " DB_PASSWORD=" + pw + " /bin/sh -c make # buildkit",
			[]string{gh, pw}, []string{"RUN |2 GITHUB_TOKEN=ghp_", "DB_PASSWORD=", " /bin/sh -c make # buildkit"}},
		{"env", "/bin/sh -c #(nop)  ENV AWS_ACCESS_KEY_ID=" + keyID, []string{keyID}, []string{"ENV AWS_ACCESS_KEY_ID=AKIA"}},
		{"url", "cloning https://deploy:" + pw + "@git.example.org/x.git failed", []string{pw}, []string{"https://deploy:", "@git.example.org/x.git failed"}},
		{"private key in env", "KEY=" + strings.ReplaceAll(pkcs8, "\n", `\n`), []string{strings.Split(pkcs8, "\n")[1]}, []string{"-----BEGIN PRIVATE KEY-----"}},
		{"nothing to hide", "RUN apt-get install -y curl", nil, []string{"RUN apt-get install -y curl"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := RedactText(tt.in)
			for _, s := range tt.secrets {
				if strings.Contains(got, s) {
					t.Errorf("RedactText kept the secret %q: %s", s, got)
				}
			}
			for _, k := range tt.keep {
				if !strings.Contains(got, k) {
					t.Errorf("RedactText lost %q: %s", k, got)
				}
			}
		})
	}
}

func TestRedactInstruction(t *testing.T) {
	npm, pw := secrettest.NPM(1), secrettest.Password(2)
	tests := []struct{ in, want string }{
		{"RUN |1 NPM_TOKEN=" + npm + " /bin/sh -c npm ci # buildkit", "RUN |1 NPM_TOKEN=" + Mask(npm) + " /bin/sh -c npm ci # buildkit"},
		{"/bin/sh -c #(nop)  ENV DB_PASSWORD " + pw, "/bin/sh -c #(nop)  ENV DB_PASSWORD " + Mask(pw)},
		{`ENV DB_PASSWORD="` + pw + ` x"`, `ENV DB_PASSWORD="` + Mask(pw+" x") + `"`},
		{"COPY . /app # buildkit", "COPY . /app # buildkit"},
	}
	for _, tt := range tests {
		if got := RedactInstruction(tt.in); got != tt.want {
			t.Errorf("RedactInstruction(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

func TestEvidence(t *testing.T) {
	gh, pw := secrettest.GitHub(1), secrettest.Password(2)
	rsa := secrettest.PEM(3, "RSA PRIVATE KEY")
	pyp := secrettest.PyPI(4)
	tests := []struct {
		name, in string
		mode     Mode
		want     string
	}{
		{"token", "t=" + gh, ModeTokens, gh[:4] + strings.Repeat("*", maxStars) + gh[len(gh)-4:]},
		{"short password", "PASSWORD=abcdefg", ModeConfig, "*******"},
		{"url", "u=https://me:" + pw + "@h.example.org/x", ModeConfig, "https://me:" + pw[:2] + strings.Repeat("*", len(pw)-4) + pw[len(pw)-2:] + "@h.example.org"},
		{"private key", rsa, ModeTokens, "-----BEGIN RSA PRIVATE KEY----- " + rsa[32:36] + strings.Repeat("*", maxStars) + rsa[32+60:32+64]},
		{"long token is shortened", pyp, ModeTokens, pyp[:4] + strings.Repeat("*", maxStars) + pyp[len(pyp)-4:]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms := DetectString(tt.in, tt.mode)
			if len(ms) != 1 {
				t.Fatalf("got %d matches, want 1", len(ms))
			}
			if got := ms[0].Evidence([]byte(tt.in)); got != tt.want {
				t.Errorf("Evidence = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDetectInstruction(t *testing.T) {
	gh, pw := secrettest.GitHub(1), secrettest.Password(2)
	tests := []struct {
		name, in string
		instr    string
		want     []hit
	}{
		{"buildkit arg default", "ARG DB_PASSWORD=" + pw, "ARG", []hit{{kind: KindAssignment, value: pw, key: "DB_PASSWORD"}}},
		{"buildkit env quoted with spaces", `ENV DB_PASSWORD="` + pw + ` two" MODE=prod`, "ENV", []hit{{kind: KindAssignment, value: pw + " two", key: "DB_PASSWORD"}}},
		{"classic env", "/bin/sh -c #(nop)  ENV API_KEY=" + pw, "ENV", []hit{{kind: KindAssignment, value: pw, key: "API_KEY"}}},
		{"legacy env form", "/bin/sh -c #(nop)  ENV DB_PASSWORD " + pw, "ENV", []hit{{kind: KindAssignment, value: pw, key: "DB_PASSWORD"}}},
		{"buildkit run build args", "RUN |2 GITHUB_TOKEN=" + gh + " DB_PASSWORD=" + pw + " /bin/sh -c make # buildkit", "RUN",
			[]hit{{kind: KindGitHubToken, value: gh}, {kind: KindAssignment, value: pw, key: "DB_PASSWORD"}}},
		{"classic run build args", "|1 NPM_TOKEN=" + pw + " /bin/sh -c npm ci", "RUN", []hit{{kind: KindAssignment, value: pw, key: "NPM_TOKEN"}}},
		{"token in a command", "/bin/sh -c git clone https://x:" + gh + "@github.com/o/r.git", "RUN", []hit{{kind: KindGitHubToken, value: gh}}},
		{"inline assignment in a command", "RUN export DB_PASSWORD=" + pw + " && ./migrate", "RUN", []hit{{kind: KindAssignment, value: pw}}},
		{"assignment after a printf escape", `RUN printf 'user=x\npassword=` + pw + `\n' > /etc/app.ini`, "RUN", []hit{{kind: KindAssignment, value: pw, key: "password"}}},
		{"label", `LABEL com.example.api-key="` + pw + `" maintainer="me"`, "LABEL", []hit{{kind: KindAssignment, value: pw, key: "com.example.api-key"}}},

		{"arg without default", "ARG DB_PASSWORD", "ARG", nil},
		{"arg placeholder", "ARG DB_PASSWORD=changeme", "ARG", nil},
		{"env file convention", "ENV POSTGRES_PASSWORD_FILE=/run/secrets/pg", "ENV", nil},
		{"plain env", "/bin/sh -c #(nop)  ENV PATH=/usr/local/bin:/usr/bin LANG=C.UTF-8", "ENV", nil},
		{"run without args", "/bin/sh -c apt-get update && apt-get install -y curl", "RUN", nil},
		{"build args without secrets", "|2 VERSION=1.2 TARGETARCH=amd64 /bin/sh -c make", "RUN", nil},
		{"copy", "COPY dir:0123abcd in /app ", "COPY", nil},
		{"secret mount", "RUN --mount=type=secret,id=npm,target=/root/.npmrc npm ci # buildkit", "RUN", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Instruction(tt.in); got != tt.instr {
				t.Errorf("Instruction = %q, want %q", got, tt.instr)
			}
			check(t, tt.in, DetectInstruction(tt.in), tt.want)
		})
	}
}
