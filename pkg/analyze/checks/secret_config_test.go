package checks

import (
	"fmt"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgharden/imgharden/internal/imagetest"
	st "github.com/imgharden/imgharden/internal/secrettest"
	"github.com/imgharden/imgharden/pkg/finding"
)

// cwant pins down a config finding.
type cwant struct {
	rule    *finding.Rule
	env     string
	label   string
	layer   int    // LayerIndex
	history string // Details["history"], for history findings
	repeats string // Details["repeats"]
}

func (w cwant) String() string {
	return fmt.Sprintf("%s env=%q label=%q layer=%d history=%q repeats=%q", w.rule.ID, w.env, w.label, w.layer, w.history, w.repeats)
}

func sameConfigFindings(t *testing.T, fs []finding.Finding, ws []cwant) {
	t.Helper()
	var gs []string
	for _, f := range fs {
		gs = append(gs, fmt.Sprintf("%s env=%q label=%q layer=%d details=%v createdBy=%q (%s) [%s]", f.RuleID, f.Location.Env,
			f.Location.Label, f.Location.LayerIndex, f.Details, f.Location.CreatedBy, f.Message, f.Evidence))
	}
	ok := len(fs) == len(ws)
	used := make([]bool, len(fs))
	for _, w := range ws {
		found := false
		for i, f := range fs {
			if !used[i] && f.RuleID == w.rule.ID && f.Severity == w.rule.Severity && f.Location.Env == w.env &&
				f.Location.Label == w.label && f.Location.LayerIndex == w.layer && f.Details["history"] == w.history &&
				f.Details["repeats"] == w.repeats {
				used[i], found = true, true
				break
			}
		}
		ok = ok && found
	}
	if !ok {
		t.Fatalf("findings differ\n got: %s\nwant: %v", strings.Join(gs, "\n      "), ws)
	}
	for _, w := range ws {
		markPositive(t, w.rule)
	}
}

func TestSecretConfigEnvAndLabels(t *testing.T) {
	gh, pw, keyID := st.GitHub(1), st.Password(2), st.AWSKeyID(3)
	pkcs8, _, _ := st.ECKey(t)
	tests := []struct {
		name string
		cfg  v1.Config
		want []cwant
	}{
		{"env by name", v1.Config{Env: []string{"PATH=/usr/bin", "POSTGRES_PASSWORD=" + pw, "AWS_SECRET_ACCESS_KEY=" + pw + pw}},
			[]cwant{{rule: RuleEnvSecretName, env: "POSTGRES_PASSWORD", layer: -1}, {rule: RuleEnvSecretName, env: "AWS_SECRET_ACCESS_KEY", layer: -1}}},
		{"documentation keys are reported in ENV", v1.Config{Env: []string{"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
			"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}},
			[]cwant{{rule: RuleEnvSecretValue, env: "AWS_ACCESS_KEY_ID", layer: -1}, {rule: RuleEnvSecretName, env: "AWS_SECRET_ACCESS_KEY", layer: -1}}},
		{"env by name, value with spaces", v1.Config{Env: []string{"KEYSTORE_PASSPHRASE=correct horse battery staple"}},
			[]cwant{{rule: RuleEnvSecretName, env: "KEYSTORE_PASSPHRASE", layer: -1}}},
		{"env by value", v1.Config{Env: []string{"GITHUB_TOKEN=" + gh, "X=" + keyID, "DATABASE_URL=postgres://app:" + pw + "@db/app",
			"JAVA_OPTS=-Xmx1g -Dspring.datasource.password=" + pw, "TLS_KEY=" + strings.ReplaceAll(pkcs8, "\n", `\n`)}},
			[]cwant{{rule: RuleEnvSecretValue, env: "GITHUB_TOKEN", layer: -1}, {rule: RuleEnvSecretValue, env: "X", layer: -1},
				{rule: RuleEnvSecretValue, env: "DATABASE_URL", layer: -1}, {rule: RuleEnvSecretValue, env: "JAVA_OPTS", layer: -1},
				{rule: RuleEnvSecretValue, env: "TLS_KEY", layer: -1}}},
		{"env negatives", v1.Config{Env: []string{"PATH=/usr/local/bin:/usr/bin", "PWD=/app", "GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D",
			"POSTGRES_PASSWORD_FILE=/run/secrets/pg", "MYSQL_ALLOW_EMPTY_PASSWORD=yes", "DB_PASSWORD=changeme", "API_TOKEN=",
			"SECRET_KEY=${SECRET_KEY}", "NOEQUALS", "=novalue", "TOKEN_URL=https://auth/token"}}, nil},
		{"labels", v1.Config{Labels: map[string]string{"com.example.api-key": pw, "org.opencontainers.image.source": "https://ci:" + pw + "@git.example.org/app",
			"com.example.deploy": "token " + gh}},
			[]cwant{{rule: RuleLabelSecret, label: "com.example.api-key", layer: -1}, {rule: RuleLabelSecret, label: "org.opencontainers.image.source", layer: -1},
				{rule: RuleLabelSecret, label: "com.example.deploy", layer: -1}}},
		{"label negatives", v1.Config{Labels: map[string]string{"org.opencontainers.image.description": "Rotates your API tokens and passwords",
			"maintainer": "ops@example.org", "com.example.token-ttl": "3600", "com.example.secret": "changeme"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := imagetest.Image(t, tt.cfg, imagetest.Layer{CreatedBy: "COPY app /app", Files: []imagetest.File{imagetest.Reg("/app/x", "x")}})
			sameConfigFindings(t, runSecretChecks(t, img), tt.want)
			// The same image without any history reports the same.
			sameConfigFindings(t, runSecretChecks(t, imagetest.WithHistory(t, img, nil)), tt.want)
		})
	}
}

func TestSecretConfigHistory(t *testing.T) {
	gh, pw, pw2, npm := st.GitHub(1), st.Password(2), st.Password(3), st.NPM(4)
	layers := []imagetest.Layer{
		{Files: []imagetest.File{imagetest.Reg("/etc/os-release", "ID=debian")}},
		{Files: []imagetest.File{imagetest.Reg("/app/a", "a")}},
		{Files: []imagetest.File{imagetest.Reg("/app/b", "b")}},
		{Files: []imagetest.File{imagetest.Reg("/app/c", "c")}},
	}
	tests := []struct {
		name    string
		env     []string
		history []v1.History
		want    []cwant
	}{
		{"arg default on an empty layer and build args on RUN layers", nil, []v1.History{
			{CreatedBy: "ADD rootfs.tar.xz / # buildkit"},
			{CreatedBy: "ARG DB_PASSWORD=" + pw, EmptyLayer: true},
			{CreatedBy: "RUN |2 DB_PASSWORD=" + pw + " NPM_TOKEN=" + npm + " /bin/sh -c npm ci # buildkit"},
			{CreatedBy: "RUN |2 DB_PASSWORD=" + pw + " NPM_TOKEN=" + npm + " /bin/sh -c npm run build # buildkit"},
			{CreatedBy: "RUN |2 DB_PASSWORD=" + pw + " NPM_TOKEN=" + npm + " /bin/sh -c npm prune # buildkit"},
		}, []cwant{
			{rule: RuleHistorySecret, layer: -1, history: "1", repeats: "3"},
			{rule: RuleHistorySecret, layer: 1, history: "2", repeats: "2"},
		}},
		{"classic builder env, still in config, is left to the ENV rule", []string{"API_KEY=" + pw}, []v1.History{
			{CreatedBy: "/bin/sh -c #(nop) ADD file:0123 in / "},
			{CreatedBy: "/bin/sh -c #(nop)  ENV API_KEY=" + pw, EmptyLayer: true},
			{CreatedBy: "/bin/sh -c apt-get update"},
			{CreatedBy: "/bin/sh -c make"},
			{CreatedBy: "/bin/sh -c make install"},
		}, []cwant{{rule: RuleEnvSecretName, env: "API_KEY", layer: -1}}},
		{"env overridden later, and the legacy form", []string{"API_KEY="}, []v1.History{
			{CreatedBy: "/bin/sh -c #(nop) ADD file:0123 in / "},
			{CreatedBy: "/bin/sh -c #(nop)  ENV API_KEY=" + pw, EmptyLayer: true},
			{CreatedBy: "/bin/sh -c #(nop)  ENV DB_PASSWORD " + pw2, EmptyLayer: true},
			{CreatedBy: "/bin/sh -c #(nop)  ENV API_KEY=", EmptyLayer: true},
			{CreatedBy: "/bin/sh -c echo"},
			{CreatedBy: "/bin/sh -c git clone https://x:" + gh + "@github.com/o/r /src"},
			{CreatedBy: "/bin/sh -c make"},
		}, []cwant{
			{rule: RuleHistorySecret, layer: -1, history: "1"},
			{rule: RuleHistorySecret, layer: -1, history: "2"},
			{rule: RuleHistorySecret, layer: 2, history: "5"},
		}},
		{"clean history", nil, []v1.History{
			{CreatedBy: "ADD rootfs.tar.xz / # buildkit"},
			{CreatedBy: "ARG DB_PASSWORD", EmptyLayer: true},
			{CreatedBy: "ARG VERSION=1.2.3", EmptyLayer: true},
			{CreatedBy: "RUN |1 VERSION=1.2.3 /bin/sh -c make # buildkit"},
			{CreatedBy: "RUN --mount=type=secret,id=npm,target=/root/.npmrc /bin/sh -c npm ci # buildkit"},
			{CreatedBy: "ENV POSTGRES_PASSWORD_FILE=/run/secrets/pg", EmptyLayer: true},
			{CreatedBy: "COPY . /app # buildkit"},
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := imagetest.WithHistory(t, imagetest.Image(t, v1.Config{Env: tt.env}, layers...), tt.history)
			fs := runSecretChecks(t, img)
			sameConfigFindings(t, fs, tt.want)
			for _, f := range fs {
				if f.RuleID != RuleHistorySecret.ID {
					continue
				}
				for _, s := range []string{pw, pw2, npm, gh} {
					if strings.Contains(f.Location.CreatedBy, s) {
						t.Errorf("createdBy of %s is not redacted: %q", f.Message, f.Location.CreatedBy)
					}
				}
				if f.Location.CreatedBy == "" {
					t.Errorf("history finding without createdBy: %v", f)
				}
			}
		})
	}
}
