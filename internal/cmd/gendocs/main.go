// Command gendocs regenerates the rule table in the README from the rule catalog, between the
// lines <!-- rules:start --> and <!-- rules:end -->. `make docs` runs it; `make verify` runs it
// with -check, which changes nothing and fails when the table is out of date.
//
//	go run ./internal/cmd/gendocs [-readme README.md] [-check]
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/imgharden/imgharden/internal/catalog"
	"github.com/imgharden/imgharden/pkg/finding"
)

const (
	startMarker = "<!-- rules:start -->"
	endMarker   = "<!-- rules:end -->"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, catalog.All())) }

func run(args []string, stdout, stderr io.Writer, rules []*finding.Rule) int {
	fl := flag.NewFlagSet("gendocs", flag.ContinueOnError)
	fl.SetOutput(stderr)
	readme := fl.String("readme", "README.md", "file holding the rule table markers")
	check := fl.Bool("check", false, "fail if the table is out of date instead of rewriting it")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if fl.NArg() > 0 {
		fmt.Fprintf(stderr, "gendocs: unexpected arguments %q\n", fl.Args())
		return 2
	}
	if _, err := finding.NewCatalog(rules...); err != nil {
		fmt.Fprintf(stderr, "gendocs: %v\n", err)
		return 1
	}
	old, err := os.ReadFile(*readme)
	if err != nil {
		fmt.Fprintf(stderr, "gendocs: %v\n", err)
		return 1
	}
	updated, err := rewrite(string(old), ruleTable(rules))
	if err != nil {
		fmt.Fprintf(stderr, "gendocs: %s: %v\n", *readme, err)
		return 1
	}
	if updated == string(old) {
		return 0
	}
	if *check {
		fmt.Fprintf(stderr, "gendocs: %s: the rule table is out of date; run make docs\n", *readme)
		return 1
	}
	if err := replaceFile(*readme, []byte(updated)); err != nil {
		fmt.Fprintf(stderr, "gendocs: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "gendocs: wrote the rule table (%d rules) to %s\n", len(rules), *readme)
	return 0
}

// ruleTable renders the catalog as a Markdown table, one row per rule, in ID order.
func ruleTable(rules []*finding.Rule) string {
	var b strings.Builder
	b.WriteString("| ID | Slug | Severity | Category | Title |\n")
	b.WriteString("|----|------|----------|----------|-------|\n")
	for _, r := range rules {
		title := r.Title
		if r.Experimental {
			title += " (experimental)"
		}
		if r.Deprecated {
			title += " (deprecated)"
		}
		fmt.Fprintf(&b, "| [%s](docs/rules/%s.md) | `%s` | %s | %s | %s |\n",
			r.ID, r.ID, r.Slug, r.Severity, r.Category, cell(title))
	}
	return b.String()
}

// cell escapes what would break a table row.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.Join(strings.Fields(s), " ")
}

// rewrite replaces what lies between the marker lines with table.
func rewrite(doc, table string) (string, error) {
	start := strings.Index(doc, startMarker)
	end := strings.Index(doc, endMarker)
	switch {
	case start < 0 || end < 0:
		return "", fmt.Errorf("no %s ... %s markers", startMarker, endMarker)
	case strings.Count(doc, startMarker) > 1 || strings.Count(doc, endMarker) > 1:
		return "", errors.New("the rule table markers appear more than once")
	case end < start:
		return "", fmt.Errorf("%s comes before %s", endMarker, startMarker)
	}
	head := doc[:start+len(startMarker)]
	return head + "\n" + table + doc[end:], nil
}

// replaceFile writes data next to path and renames it over path, so a failed write never
// leaves a half-written README. The file keeps its mode.
func replaceFile(path string, data []byte) error {
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".gendocs-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, bytes.NewReader(data)); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(info.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
