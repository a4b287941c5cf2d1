package checks

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/imgharden/imgharden/pkg/analyze"
	"github.com/imgharden/imgharden/pkg/finding"
)

// RuleRootUser reports images whose default user is root.
var RuleRootUser = &finding.Rule{
	ID: "IH2001", Slug: "root-user", Title: "Image runs as root",
	Severity: finding.SeverityHigh, Category: finding.CategoryConfig,
	Description: "The image config's User is empty (the runtime default is root), root, UID 0 in any spelling (0, 0:0, " +
		"root:GROUP, 0:GROUP), or a name that the image's /etc/passwd maps to UID 0. A process running as root " +
		"in the container is one kernel or runtime bug away from root on the host, and can change everything in " +
		"the image. A numeric non-zero UID is accepted without an /etc/passwd entry.",
	Remediation: "Create an unprivileged user and switch to it at the end of the Dockerfile: " +
		"RUN useradd --uid 10001 --no-create-home app, then USER 10001 (a numeric UID lets the platform verify " +
		"that the user is not root).",
	Refs: []string{"ecs:R8", "cis-docker:4.1"},
}

type rootUser struct{}

func (rootUser) Rules() []*finding.Rule { return []*finding.Rule{RuleRootUser} }

// Retain keeps /etc/passwd, to map a user name to its UID.
func (rootUser) Retain(e *analyze.Entry) bool { return e.Path == "/etc/passwd" }

// passwdUID finds name in /etc/passwd content.
func passwdUID(passwd []byte, name string) (int, bool) {
	for _, line := range strings.Split(string(passwd), "\n") {
		fields := strings.Split(strings.TrimSpace(line), ":")
		if len(fields) < 3 || fields[0] != name {
			continue
		}
		uid, err := strconv.Atoi(fields[2])
		return uid, err == nil
	}
	return 0, false
}

func (rootUser) CheckImage(_ context.Context, v *analyze.View, r analyze.Reporter) error {
	user := strings.TrimSpace(v.Config().Config.User)
	name, _, _ := strings.Cut(user, ":")
	var why string
	switch {
	case user == "":
		why = "no USER is set, so the container runs as root"
	case name == "root":
		why = fmt.Sprintf("USER %s runs as root", user)
	default:
		if uid, err := strconv.Atoi(name); err == nil {
			if uid != 0 {
				return nil
			}
			why = fmt.Sprintf("USER %s is UID 0 (root)", user)
			break
		}
		passwd, err := v.ReadFile("/etc/passwd")
		if err != nil {
			if errors.Is(err, analyze.ErrNotExist) || errors.Is(err, analyze.ErrNotRetained) {
				return nil // the user cannot be resolved; nothing says it is root
			}
			return fmt.Errorf("reading /etc/passwd: %w", err)
		}
		if uid, ok := passwdUID(passwd, name); !ok || uid != 0 {
			return nil
		}
		why = fmt.Sprintf("USER %s has UID 0 in /etc/passwd", user)
	}
	loc := v.ConfigLocation()
	loc.CreatedBy = lastInstruction(v, "USER")
	f := finding.New(RuleRootUser, loc, "the image runs as root: "+why, fmt.Sprintf("User=%q", user))
	f.Details = map[string]string{"user": user}
	r.Report(nil, f)
	return nil
}
