package checks

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/imgharden/imgharden/pkg/analyze"
	"github.com/imgharden/imgharden/pkg/finding"
	"github.com/imgharden/imgharden/pkg/secret"
)

// Secret config rules (family 11, IH201x): secrets in the image config's environment, labels
// and history. One ImageCheck, secretConfig, reports all four. None of them needs history to
// exist: ENV and labels are read from the config itself.

var (
	RuleEnvSecretName = &finding.Rule{
		ID: "IH2010", Slug: "env-secret-name", Title: "ENV variable named like a secret has a value",
		Severity: finding.SeverityHigh, Category: finding.CategoryConfig, Refs: secretRefs,
		Description: "An environment variable in the image config whose name says it holds a secret (AWS_SECRET_ACCESS_KEY, *_PASSWORD, *_TOKEN, *_SECRET, API_KEY, ...) has a literal value. ENV values are part of the image config: docker inspect, the ECS console, the task metadata endpoint and logs of the environment all show them. Placeholders (empty, changeme, ${VAR}, yes/no) and the *_FILE convention (POSTGRES_PASSWORD_FILE=/run/secrets/...) are not reported.",
		Remediation: "Remove the ENV line (and the ARG that feeds it) from the Dockerfile. Inject the value at run time from AWS Secrets Manager or SSM Parameter Store with the secrets field of the ECS container definition, or point a *_FILE variable at a mounted secret.",
	}
	RuleEnvSecretValue = &finding.Rule{
		ID: "IH2011", Slug: "env-secret-value", Title: "ENV variable value contains a secret",
		Severity: finding.SeverityHigh, Category: finding.CategoryConfig, Refs: secretRefs,
		Description: "An environment variable in the image config holds a recognisable secret whatever its name: a token with a known format (GitHub, AWS, npm...), a private key, a password in a URL (DATABASE_URL=postgres://app:password@db) or a password assignment inside the value (JAVA_OPTS=-Ddb.password=...). Anyone who can inspect the image or the running task can read it.",
		Remediation: "Revoke the credential, remove it from the Dockerfile, and inject it at run time from AWS Secrets Manager or SSM Parameter Store (ECS container definition secrets).",
	}
	RuleHistorySecret = &finding.Rule{
		ID: "IH2012", Slug: "history-secret", Title: "Image history leaks a secret",
		Severity: finding.SeverityHigh, Category: finding.CategoryConfig, Refs: secretRefs,
		Description: "The image history (created_by of a build step) holds a secret: the default of an ARG (ARG DB_PASSWORD=...), an ENV that a later step overrode, the build arguments BuildKit and the classic builder record before each RUN (|1 TOKEN=... /bin/sh -c ...), or a token typed into a RUN command. Build arguments are not secret: docker history shows them to anyone who pulls the image. ENV values still in the config are reported by IH2010/IH2011 instead.",
		Remediation: "Revoke the credential. Pass build-time secrets with BuildKit secret mounts (docker build --secret id=token,env=TOKEN; RUN --mount=type=secret,id=token ...), never with --build-arg or ARG defaults.",
	}
	RuleLabelSecret = &finding.Rule{
		ID: "IH2013", Slug: "label-secret", Title: "Image label holds a secret",
		Severity: finding.SeverityHigh, Category: finding.CategoryConfig, Refs: secretRefs,
		Description: "A label of the image config holds a recognisable secret (a token, a private key, a password in a URL) or has a secret-sounding key (com.example.api-key) with a literal value. Labels are public metadata: registries, scanners and docker inspect display them.",
		Remediation: "Revoke the credential and remove the LABEL; labels are for metadata only.",
	}
)

type secretConfig struct{}

func (secretConfig) Rules() []*finding.Rule {
	return []*finding.Rule{RuleEnvSecretName, RuleEnvSecretValue, RuleHistorySecret, RuleLabelSecret}
}

func (secretConfig) CheckImage(_ context.Context, v *analyze.View, r analyze.Reporter) error {
	cf := v.Config()
	if cf == nil {
		return nil
	}
	cfg := cf.Config

	// ENV, in config order.
	for _, kv := range cfg.Env {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			continue
		}
		loc := v.ConfigLocation()
		loc.Env = name
		if ms := secret.DetectString(val, secret.ModeConfig); ms != nil {
			for _, m := range ms {
				r.Report(nil, finding.New(RuleEnvSecretValue, loc,
					fmt.Sprintf("%s in ENV %s", describe(m), name), m.Evidence([]byte(val))))
			}
			continue
		}
		if secret.SensitiveName(name) && !secret.IsPlaceholder(val) {
			r.Report(nil, finding.New(RuleEnvSecretName, loc,
				fmt.Sprintf("ENV %s has a literal value and its name says it is a secret", name), secret.Mask(val)))
		}
	}

	// Labels, sorted by key.
	keys := make([]string, 0, len(cfg.Labels))
	for k := range cfg.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		val := cfg.Labels[k]
		loc := v.ConfigLocation()
		loc.Label = k
		if ms := secret.DetectString(val, secret.ModeConfig); ms != nil {
			for _, m := range ms {
				r.Report(nil, finding.New(RuleLabelSecret, loc,
					fmt.Sprintf("%s in label %s", describe(m), k), m.Evidence([]byte(val))))
			}
			continue
		}
		if secret.SensitiveName(k) && !secret.IsPlaceholder(val) {
			r.Report(nil, finding.New(RuleLabelSecret, loc,
				fmt.Sprintf("label %s has a literal value and its key says it is a secret", k), secret.Mask(val)))
		}
	}

	checkHistory(v, cfg.Env, cfg.Labels, r)
	return nil
}

// checkHistory reports secrets in created_by lines. A secret that several entries repeat
// (the build arguments BuildKit records before every RUN) is reported once, at its first
// entry, with the number of repeats. ENV and LABEL values that the config still holds are
// left to the ENV and label rules. Every history finding's createdBy is redacted.
func checkHistory(v *analyze.View, env []string, labels map[string]string, r analyze.Reporter) {
	type pending struct {
		f       finding.Finding
		repeats int
	}
	var out []*pending
	seen := map[string]*pending{}
	inConfig := func(instr, val string) bool {
		switch instr {
		case "ENV":
			for _, kv := range env {
				if _, v, _ := strings.Cut(kv, "="); strings.Contains(v, val) {
					return true
				}
			}
		case "LABEL":
			for _, v := range labels {
				if strings.Contains(v, val) {
					return true
				}
			}
		}
		return false
	}
	for i, h := range v.History() {
		cb := h.CreatedBy
		ms := secret.DetectInstruction(cb)
		if ms == nil {
			continue
		}
		instr := secret.Instruction(cb)
		loc := v.ConfigLocation()
		if h.Layer >= 0 {
			loc = v.LayerLocation(h.Layer)
		}
		loc.CreatedBy = secret.Redact([]byte(cb), ms)
		for _, m := range ms {
			val := cb[m.Start:m.End]
			if inConfig(instr, val) {
				continue
			}
			key := m.Kind.String() + "\x00" + val
			if p := seen[key]; p != nil {
				p.repeats++
				continue
			}
			what := instr
			if what == "" {
				what = "build step"
			}
			f := finding.New(RuleHistorySecret, loc,
				fmt.Sprintf("%s in history entry %d (%s)", describe(m), i, what), m.Evidence([]byte(cb)))
			f.Details = map[string]string{"history": strconv.Itoa(i)}
			if instr != "" {
				f.Details["instruction"] = instr
			}
			p := &pending{f: f}
			seen[key] = p
			out = append(out, p)
		}
	}
	for _, p := range out {
		if p.repeats > 0 {
			p.f.Details["repeats"] = strconv.Itoa(p.repeats)
			plural := "entries"
			if p.repeats == 1 {
				plural = "entry"
			}
			p.f.Message += fmt.Sprintf(", repeated in %d later history %s", p.repeats, plural)
		}
		r.Report(nil, p.f)
	}
}
