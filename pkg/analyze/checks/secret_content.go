package checks

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/imgharden/imgharden/pkg/analyze"
	"github.com/imgharden/imgharden/pkg/finding"
	"github.com/imgharden/imgharden/pkg/secret"
)

// Secret content rules (family 10, IH40xx): one rule per kind of secret, so each can be
// tuned on its own. All of them come from one FileCheck, secretContent.

var secretRefs = []string{"ecs:R17", "cis-docker:4.10"}

const secretRemediation = "Revoke the credential now: it is in every copy of the image, and deleting the file in a later layer does not remove it from the earlier one. Then keep it out of the build: use a BuildKit secret mount (RUN --mount=type=secret), add the file to .dockerignore, or build in a stage whose files are not copied into the final image. At run time, inject secrets from AWS Secrets Manager or SSM Parameter Store through the ECS task definition's secrets field."

func secretRule(id, slug, title string, sev finding.Severity, desc, extra string) *finding.Rule {
	rem := secretRemediation
	if extra != "" {
		rem = extra + " " + secretRemediation
	}
	return &finding.Rule{ID: id, Slug: slug, Title: title, Severity: sev, Category: finding.CategorySecret,
		Description: desc, Remediation: rem, Refs: secretRefs}
}

var (
	RulePrivateKey = secretRule("IH4001", "private-key", "Private key in a file", finding.SeverityCritical,
		"A PEM, OpenSSH or PGP private key block (RSA, EC, DSA, Ed25519, PKCS#8, encrypted or not) with a key body. Whoever pulls the image can impersonate the key's owner: a TLS server, an SSH deploy key, a signing key. Public keys and certificates (a CA bundle) are not reported, nor is a BEGIN line without a key body (source code that parses keys, documentation).",
		"Generate keys at run time or mount them (ECS: secrets from Secrets Manager; TLS: terminate at the load balancer with ACM).")
	RuleAWSAccessKeyID = secretRule("IH4002", "aws-access-key-id", "AWS access key ID in a file", finding.SeverityHigh,
		"An AWS access key ID (AKIA... long-term, ASIA... temporary). The ID alone does not sign requests, but it names the IAM user and is almost always stored next to its secret key. AWS's documentation keys (ending in EXAMPLE) are ignored.",
		"Deactivate the key in IAM and look for its secret. Tasks should use an IAM task role instead of keys.")
	RuleAWSSecretAccessKey = secretRule("IH4003", "aws-secret-access-key", "AWS secret access key in a file", finding.SeverityCritical,
		"A 40-character AWS secret access key assigned to an aws_secret_access_key-like name (aws_secret_access_key, AWS_SECRET_ACCESS_KEY, SecretAccessKey). With its key ID it grants every permission of the IAM user.",
		"Deactivate and delete the key in IAM; give the task an IAM task role instead of keys.")
	RuleGitHubToken = secretRule("IH4004", "github-token", "GitHub token in a file", finding.SeverityHigh,
		"A GitHub personal access token (ghp_, fine-grained github_pat_), OAuth token (gho_), user-to-server (ghu_), server-to-server (ghs_) or refresh token (ghr_). It can read, and often push to, private repositories.",
		"Revoke the token in GitHub's settings (or the app's installation).")
	RuleGitLabToken = secretRule("IH4005", "gitlab-token", "GitLab personal access token in a file", finding.SeverityHigh,
		"A GitLab personal access token (glpat-). It acts as its user on the GitLab API and Git over HTTPS.",
		"Revoke the token in GitLab's access token settings.")
	RuleSlackToken = secretRule("IH4006", "slack-token", "Slack token in a file", finding.SeverityHigh,
		"A Slack bot, user, app, refresh or legacy token (xoxb-, xoxp-, xoxa-, xoxr-, xoxs-). It reads and posts messages as the bot or user.",
		"Revoke the token in the Slack app's OAuth settings.")
	RuleSlackWebhook = secretRule("IH4007", "slack-webhook", "Slack incoming webhook URL in a file", finding.SeverityHigh,
		"A Slack incoming webhook or workflow trigger URL. Anyone with the URL can post into the channel, a convenient phishing vector.",
		"Regenerate the webhook URL in the Slack app.")
	RuleNPMToken = secretRule("IH4008", "npm-token", "npm access token in a file", finding.SeverityHigh,
		"An npm access token (npm_). A publish token lets anyone release new versions of your packages.",
		"Revoke the token with npm token revoke.")
	RulePyPIToken = secretRule("IH4009", "pypi-token", "PyPI API token in a file", finding.SeverityHigh,
		"A PyPI or TestPyPI API token (pypi-AgEIcHlwaS5vcmc...). It can upload releases of your projects.",
		"Remove the token in PyPI's account settings.")
	RuleDockerHubToken = secretRule("IH4010", "dockerhub-token", "Docker Hub access token in a file", finding.SeverityHigh,
		"A Docker Hub personal access token (dckr_pat_). It can push images under your account.",
		"Delete the token in Docker Hub's security settings.")
	RuleURLCredentials = secretRule("IH4011", "url-credentials", "Password embedded in a URL", finding.SeverityHigh,
		"A URL with a password in its user info (https://user:password@host, postgres://app:password@db) in a configuration file or a .git/config remote. Placeholders (password, ${VAR}) are ignored.",
		"Take the password out of the URL and pass it separately, from a secret store.")
	RuleAWSCredentialsFile = secretRule("IH4020", "aws-credentials-file", "AWS shared credentials file holds a secret key", finding.SeverityCritical,
		"An AWS shared credentials file (~/.aws/credentials) with an aws_secret_access_key or session token. It gives every permission of the IAM user or role to anyone who pulls the image.",
		"Delete the keys in IAM and never copy ~/.aws into a build context (.dockerignore it); use an IAM task role.")
	RuleNpmrcAuth = secretRule("IH4021", "npmrc-auth", ".npmrc holds a registry credential", finding.SeverityHigh,
		"An .npmrc (user, project or global npmrc) with an _authToken, _auth or _password value. ${NPM_TOKEN}-style references are fine and not reported.",
		"Write the token as ${NPM_TOKEN} and provide it with a secret mount: RUN --mount=type=secret,id=npmrc,target=/root/.npmrc npm ci.")
	RuleNetrcPassword = secretRule("IH4022", "netrc-password", ".netrc holds a password", finding.SeverityHigh,
		"A .netrc with a password entry. curl, git, ftp and pip read it, so it usually holds a live token for a Git host or a package index.",
		"Mount the .netrc as a build secret instead of copying it.")
	RulePypircPassword = secretRule("IH4023", "pypirc-password", ".pypirc holds a package index password", finding.SeverityHigh,
		"A .pypirc with a password (often a PyPI API token) for an upload index.",
		"Upload from CI with a trusted publisher or a secret environment variable, not from the image.")
	RuleGitCredentials = secretRule("IH4024", "git-credentials", "Git credential store holds a password", finding.SeverityHigh,
		"A git credential store (~/.git-credentials or $XDG_CONFIG_HOME/git/credentials) written by git's store helper: one https://user:password@host line per remote, in clear text.",
		"Clone with a secret mount (RUN --mount=type=secret or --mount=type=ssh) and never run 'git config credential.helper store' in a Dockerfile.")
	RuleDockerConfigAuth = secretRule("IH4025", "docker-config-auth", "Docker config holds a registry credential", finding.SeverityHigh,
		"A Docker config.json, legacy .dockercfg or containers auth.json with a non-empty auths.*.auth (base64 user:password), identitytoken or password. It can push and pull as that user. Credential helper entries (credsStore, credHelpers) are fine.",
		"Log in at run time or use a credential helper (ECR: amazon-ecr-credential-helper), and never copy ~/.docker into an image.")
	RulePasswordAssignment = secretRule("IH4030", "password-assignment", "Secret assigned in a configuration file", finding.SeverityMedium,
		"A password, secret, token or API key assigned a literal value in a configuration file (.env, YAML, JSON, INI, TOML, properties, XML). Only configuration files the application ships are read, not package data under /usr/share, /usr/lib, site-packages or node_modules, and neither prose nor source code. Placeholders (empty, changeme, ${VAR}, <password>, xxx, your-token-here), references to secret stores and *_FILE paths are ignored.",
		"Read the value from the environment at run time (injected from Secrets Manager or SSM Parameter Store) and keep a placeholder in the file.")
)

// secretKindRule maps each kind of secret to its rule.
var secretKindRule = [secret.NumKinds]*finding.Rule{
	secret.KindPrivateKey:         RulePrivateKey,
	secret.KindAWSAccessKeyID:     RuleAWSAccessKeyID,
	secret.KindAWSSecretAccessKey: RuleAWSSecretAccessKey,
	secret.KindGitHubToken:        RuleGitHubToken,
	secret.KindGitLabToken:        RuleGitLabToken,
	secret.KindSlackToken:         RuleSlackToken,
	secret.KindSlackWebhook:       RuleSlackWebhook,
	secret.KindNPMToken:           RuleNPMToken,
	secret.KindPyPIToken:          RulePyPIToken,
	secret.KindDockerHubToken:     RuleDockerHubToken,
	secret.KindURLCredentials:     RuleURLCredentials,
	secret.KindAWSCredentialsFile: RuleAWSCredentialsFile,
	secret.KindNpmrcAuth:          RuleNpmrcAuth,
	secret.KindNetrcPassword:      RuleNetrcPassword,
	secret.KindPypircPassword:     RulePypircPassword,
	secret.KindGitCredentials:     RuleGitCredentials,
	secret.KindDockerConfigAuth:   RuleDockerConfigAuth,
	secret.KindAssignment:         RulePasswordAssignment,
}

// describe says what a match is, without its value: "GitHub token", "secret assigned to
// DB_PASSWORD", "password for machine github.com".
func describe(m secret.Match) string {
	switch m.Kind {
	case secret.KindPrivateKey:
		return "private key (" + strings.Trim(m.Note, "- ") + ")"
	case secret.KindAssignment:
		return "secret assigned to " + m.Key
	case secret.KindAWSSecretAccessKey:
		return "AWS secret access key assigned to " + m.Key
	case secret.KindURLCredentials:
		return "password in a URL for " + m.Key
	case secret.KindAWSCredentialsFile:
		return m.Key + " in AWS credentials " + m.Note
	case secret.KindNpmrcAuth:
		return "npm registry credential " + m.Key
	case secret.KindNetrcPassword:
		return "password for machine " + m.Key
	case secret.KindPypircPassword:
		return "password for package index [" + m.Key + "]"
	case secret.KindGitCredentials:
		return "git password for " + m.Key
	case secret.KindDockerConfigAuth:
		if m.Key != "" {
			return "registry credential for " + m.Key
		}
		return "registry credential"
	}
	return m.Kind.Title()
}

// maxFindingsPerFile caps what one file reports; the last finding says how many more there were.
const maxFindingsPerFile = 50

// minSecretFileSize is the smallest file that can hold a detectable secret
// ("machine h password 12345" is 24 bytes; an AWS key ID alone is 20).
const minSecretFileSize = 16

type secretContent struct{}

func (secretContent) Rules() []*finding.Rule {
	return []*finding.Rule{RulePrivateKey, RuleAWSAccessKeyID, RuleAWSSecretAccessKey, RuleGitHubToken,
		RuleGitLabToken, RuleSlackToken, RuleSlackWebhook, RuleNPMToken, RulePyPIToken, RuleDockerHubToken,
		RuleURLCredentials, RuleAWSCredentialsFile, RuleNpmrcAuth, RuleNetrcPassword, RulePypircPassword,
		RuleGitCredentials, RuleDockerConfigAuth, RulePasswordAssignment}
}

// Wants takes every regular file big enough to hold a secret, except formats that are binary
// by name (shared objects, compiled Python, archives, images, fonts, message catalogs). Files
// above the engine's size cap are still read: their first chunk is scanned.
func (secretContent) Wants(e *analyze.Entry) bool {
	return e.Mode.IsRegular() && !e.Hardlink && e.Size >= minSecretFileSize && !binaryByName(e.Path)
}

func binaryByName(p string) bool {
	base := p[strings.LastIndexByte(p, '/')+1:]
	dot := strings.LastIndexByte(base, '.')
	if dot < 0 {
		return false
	}
	switch base[dot+1:] {
	case "so", "a", "o", "pyc", "pyo", "mo", "gmo", "gz", "tgz", "xz", "txz", "bz2", "zst", "lz4",
		"zip", "jar", "war", "ear", "whl", "egg", "deb", "rpm", "png", "jpg", "jpeg", "gif",
		"ico", "webp", "bmp", "tif", "tiff", "woff", "woff2", "ttf", "otf", "eot", "pdf", "mp3",
		"mp4", "ogg", "wasm", "class", "dll", "exe", "node", "qm", "pack", "idx", "db", "sqlite",
		"cache", "pcf", "bin", "dat":
		return true
	}
	// Versioned shared objects: libssl.so.3, libc.so.6.
	return strings.Contains(base, ".so.") && base[len(base)-1] >= '0' && base[len(base)-1] <= '9'
}

func (secretContent) CheckFile(_ context.Context, e *analyze.Entry, body analyze.Body, r analyze.Reporter) error {
	data, err := body.Bytes()
	if err != nil {
		return err
	}
	if secret.IsBinary(data) {
		return nil
	}
	ms := secret.DetectFile(e.Path, data)
	for i, m := range ms {
		if i == maxFindingsPerFile {
			break
		}
		f := finding.New(secretKindRule[m.Kind], finding.Location{Line: m.Line},
			fmt.Sprintf("%s on line %d", describe(m), m.Line), m.Evidence(data))
		if i == maxFindingsPerFile-1 && len(ms) > maxFindingsPerFile {
			f.Details = map[string]string{"moreInFile": strconv.Itoa(len(ms) - maxFindingsPerFile)}
			f.Message += fmt.Sprintf(" (and %d more secrets in this file)", len(ms)-maxFindingsPerFile)
		}
		r.Report(e, f)
	}
	return nil
}
