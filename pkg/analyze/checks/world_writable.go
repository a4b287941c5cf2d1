package checks

import (
	"context"
	"fmt"
	"io/fs"
	"strings"

	"github.com/imgharden/imgharden/pkg/analyze"
	"github.com/imgharden/imgharden/pkg/finding"
)

// RuleWorldWritable reports world-writable files, and directories without the sticky bit.
var RuleWorldWritable = &finding.Rule{
	ID: "IH1011", Slug: "world-writable", Title: "File or directory is world-writable",
	Severity: finding.SeverityMedium, Category: finding.CategoryImageFS,
	Description: "A regular file, or a directory without the sticky bit, in the final root filesystem is writable " +
		"by every user. Any process in the container, whatever its UID, can then replace programs, configuration " +
		"or data that others trust. Directories with the sticky bit (/tmp, mode 1777) are fine. A world-writable " +
		"directory is reported once, with a count of the world-writable entries below it. Symlinks (always 0777) " +
		"and hardlinks (reported at their target) are skipped.",
	Remediation: "Give files and directories to the user that needs them (COPY --chown=app:app, chown) with modes " +
		"such as 0644/0755, or add the sticky bit to shared scratch directories (chmod 1777).",
	Refs: []string{"ecs:R9", "ecs:R8"},
}

type worldWritable struct{}

func (worldWritable) Rules() []*finding.Rule { return []*finding.Rule{RuleWorldWritable} }

func isWorldWritable(e *analyze.Entry) bool {
	if e.IsSymlink() || e.Hardlink || e.Mode.Perm()&0o002 == 0 {
		return false
	}
	if e.IsDir() {
		return e.Mode&fs.ModeSticky == 0
	}
	return e.IsRegular()
}

func (worldWritable) CheckImage(_ context.Context, v *analyze.View, r analyze.Reporter) error {
	type dir struct {
		e      *analyze.Entry
		prefix string // e.Path + "/"
		below  int
	}
	var dirs []*dir
	var cur *dir // the reported directory the walk is inside of
	for _, e := range entries(v) {
		if cur != nil && strings.HasPrefix(e.Path, cur.prefix) {
			if isWorldWritable(e) {
				cur.below++
			}
			continue
		}
		cur = nil
		if !isWorldWritable(e) {
			continue
		}
		if e.IsDir() {
			cur = &dir{e: e, prefix: e.Path + "/"}
			dirs = append(dirs, cur)
			continue
		}
		r.Report(e, finding.New(RuleWorldWritable, finding.Location{},
			fmt.Sprintf("file %s is world-writable (mode %04o)", e.Path, e.UnixMode()),
			fmt.Sprintf("mode=%04o uid=%d gid=%d", e.UnixMode(), e.UID, e.GID)))
	}
	for _, d := range dirs {
		msg := fmt.Sprintf("directory %s is world-writable without the sticky bit (mode %04o)", d.e.Path, d.e.UnixMode())
		ev := fmt.Sprintf("mode=%04o uid=%d gid=%d", d.e.UnixMode(), d.e.UID, d.e.GID)
		if d.below > 0 {
			what := "1 entry below it is"
			if d.below > 1 {
				what = fmt.Sprintf("%d entries below it are", d.below)
			}
			msg += "; " + what + " world-writable too"
			ev += fmt.Sprintf(" below=%d", d.below)
		}
		f := finding.New(RuleWorldWritable, finding.Location{}, msg, ev)
		if d.below > 0 {
			f.Details = map[string]string{"below": fmt.Sprint(d.below)}
		}
		r.Report(d.e, f)
	}
	return nil
}
