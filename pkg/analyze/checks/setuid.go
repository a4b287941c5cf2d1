package checks

import (
	"context"
	"fmt"
	"io/fs"
	"sort"

	"github.com/imgharden/imgharden/pkg/analyze"
	"github.com/imgharden/imgharden/pkg/finding"
)

// RuleSetuidBinary reports regular files with the setuid or setgid bit.
var RuleSetuidBinary = &finding.Rule{
	ID: "IH1001", Slug: "setuid-binary", Title: "File has the setuid or setgid bit",
	Severity: finding.SeverityHigh, Category: finding.CategoryImageFS,
	Description: "A regular file in the final root filesystem has the setuid or setgid bit: whoever runs it gets " +
		"the privileges of its owner or group, usually root. Setuid programs are the classic way to climb from " +
		"an unprivileged user to root inside a container. The finding says whether the file is new in this " +
		"image or comes from its base (compared with --base, or with the base identified from the history).",
	Remediation: "Remove the bits in the last stage of the build: " +
		"RUN find / -xdev -perm /6000 -type f -exec chmod a-s {} \\; || true",
	Refs: []string{"ecs:R4", "cis-docker:4.8"},
}

type setuid struct {
	baseLabel string
	base      map[string]bool // setuid paths of the base image; nil = identify from history
}

func newSetuid(o options) setuid { return setuid{baseLabel: o.baseLabel, base: o.baseSetuid} }

func (setuid) Rules() []*finding.Rule { return []*finding.Rule{RuleSetuidBinary} }

// setuidTarget returns the regular file e stands for (the target of a hardlink) when it has
// the setuid or setgid bit.
func setuidTarget(v *analyze.View, e *analyze.Entry) (*analyze.Entry, bool) {
	if e.IsSymlink() || e.IsDir() {
		return nil, false
	}
	t := e
	if e.Hardlink {
		var err error
		if t, err = v.Resolve(e.Path); err != nil {
			return nil, false
		}
	}
	return t, t.Mode.IsRegular() && t.Mode&(fs.ModeSetuid|fs.ModeSetgid) != 0
}

// SetuidPaths lists the setuid and setgid regular files of an image's final root
// filesystem, sorted. The CLI scans the --base image with it and passes the result to
// WithBaseSetuid.
func SetuidPaths(v *analyze.View) []string {
	var out []string
	for _, e := range entries(v) {
		if _, ok := setuidTarget(v, e); ok {
			out = append(out, e.Path)
		}
	}
	sort.Strings(out)
	return out
}

func (c setuid) CheckImage(_ context.Context, v *analyze.View, r analyze.Reporter) error {
	var base baseInfo
	known := c.base != nil
	how := "--base"
	if c.baseLabel != "" {
		how = c.baseLabel
	}
	if !known {
		base, known = identifyBase(v)
		how = base.how
		if !known {
			how = "unknown: no --base given and none identified from the history"
		}
	}
	for _, e := range entries(v) {
		t, ok := setuidTarget(v, e)
		if !ok {
			continue
		}
		bits := "setuid"
		switch {
		case t.Mode&fs.ModeSetuid != 0 && t.Mode&fs.ModeSetgid != 0:
			bits = "setuid and setgid"
		case t.Mode&fs.ModeSetgid != 0:
			bits = "setgid"
		}
		msg := fmt.Sprintf("%s is %s (owner uid %d, group gid %d)", e.Path, bits, t.UID, t.GID)
		details := map[string]string{"base": how}
		if known {
			isNew := e.Layer >= base.layers
			if c.base != nil {
				isNew = !c.base[e.Path]
			}
			details["new"] = fmt.Sprint(isNew)
			if isNew {
				msg += "; new in this image, not in its base (" + how + ")"
			} else {
				msg += "; inherited from the base image (" + how + ")"
			}
		}
		f := finding.New(RuleSetuidBinary, finding.Location{}, msg,
			fmt.Sprintf("mode=%04o uid=%d gid=%d", t.UnixMode(), t.UID, t.GID))
		f.Details = details
		r.Report(e, f)
	}
	return nil
}
