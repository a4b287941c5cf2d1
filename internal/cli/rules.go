package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/imgharden/imgharden/docs"
	"github.com/imgharden/imgharden/internal/catalog"
	"github.com/imgharden/imgharden/pkg/finding"
	"github.com/spf13/cobra"
)

// RulesOptions are the inputs of `imgharden rules`.
type RulesOptions struct {
	Out    io.Writer
	Format string // "text" or "json"
	Key    string // rule ID or slug; "" lists the whole catalog
	// Rules returns the catalog. The command wires catalog.All; tests inject their own.
	Rules func() []*finding.Rule
	// Pages holds rules/<ID>.md pages; a rule without one gets a page generated from its
	// record. nil means generate every page.
	Pages fs.FS
}

var ruleFormats = []string{"text", "json"}

// NewCmdRules builds `imgharden rules [ID|slug]`. runF replaces rulesRun in tests.
func NewCmdRules(runF func(context.Context, *RulesOptions) error) *cobra.Command {
	o := &RulesOptions{Format: "text", Rules: catalog.All, Pages: docs.Rules}
	cmd := &cobra.Command{
		Use:   "rules [ID|slug]",
		Short: "List the rule catalog, or show one rule's documentation",
		Long: "Without an argument, list every rule imgharden can report: ID, slug, default severity,\n" +
			"category and title. With a rule ID or slug, print that rule's documentation page.",
		Example: "  imgharden rules\n  imgharden rules IH1001\n  imgharden rules setuid-binary\n  imgharden rules --format json | jq '.[].id'",
		Args:    UsageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Out = cmd.OutOrStdout()
			if len(args) == 1 {
				o.Key = args[0]
			}
			if !slices.Contains(ruleFormats, o.Format) {
				return Usagef("unknown format %q for rules (want %s)", o.Format, strings.Join(ruleFormats, " or "))
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return rulesRun(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVarP(&o.Format, "format", "f", o.Format, "output format: "+strings.Join(ruleFormats, " or "))
	return cmd
}

func rulesRun(_ context.Context, o *RulesOptions) error {
	cat, err := finding.NewCatalog(o.Rules()...)
	if err != nil {
		return fmt.Errorf("rule catalog: %w", err)
	}
	if o.Key == "" {
		if o.Format == "json" {
			list := make([]ruleJSON, 0, len(cat.Rules()))
			for _, r := range cat.Rules() {
				list = append(list, toRuleJSON(r))
			}
			return writeRulesJSON(o.Out, list)
		}
		return writeRuleTable(o.Out, cat.Rules())
	}
	r, ok := cat.Lookup(o.Key)
	if !ok {
		return Usagef("unknown rule %q; run 'imgharden rules' for the list", o.Key)
	}
	if o.Format == "json" {
		return writeRulesJSON(o.Out, toRuleJSON(r))
	}
	page, err := rulePage(o.Pages, r)
	if err != nil {
		return err
	}
	_, err = io.WriteString(o.Out, page)
	return err
}

func writeRuleTable(w io.Writer, rules []*finding.Rule) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSLUG\tSEVERITY\tCATEGORY\tTITLE")
	for _, r := range rules {
		title := r.Title
		if r.Experimental {
			title += " (experimental)"
		}
		if r.Deprecated {
			title += " (deprecated)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.Slug, r.Severity, r.Category, title)
	}
	return tw.Flush()
}

// rulePage returns the rule's page from pages, or one generated from its record.
func rulePage(pages fs.FS, r *finding.Rule) (string, error) {
	if pages != nil {
		b, err := fs.ReadFile(pages, "rules/"+r.ID+".md")
		switch {
		case err == nil:
			s := string(b)
			if !strings.HasSuffix(s, "\n") {
				s += "\n"
			}
			return s, nil
		case !errors.Is(err, fs.ErrNotExist):
			return "", fmt.Errorf("reading the page of %s: %w", r.ID, err)
		}
	}
	return generatedRulePage(r), nil
}

// generatedRulePage renders a rule record as a Markdown page, for rules without a written one.
func generatedRulePage(r *finding.Rule) string {
	var b strings.Builder
	refs := "none"
	if len(r.Refs) > 0 {
		refs = strings.Join(r.Refs, ", ")
	}
	fmt.Fprintf(&b, "# %s %s: %s\n", r.ID, r.Slug, r.Title)
	fmt.Fprintf(&b, "Severity: %s · Category: %s · References: %s\n", r.Severity, r.Category, refs)
	if r.Experimental {
		b.WriteString("\nExperimental: enable it with `experimental: [" + r.ID + "]` in .imgharden.yaml.\n")
	}
	if r.Deprecated {
		b.WriteString("\nDeprecated: this rule no longer reports anything new and will not be reused.\n")
	}
	if r.Description != "" {
		fmt.Fprintf(&b, "\n## Description\n\n%s\n", r.Description)
	}
	if r.Remediation != "" {
		fmt.Fprintf(&b, "\n## Remediation\n\n%s\n", r.Remediation)
	}
	b.WriteString("\n## References\n\n")
	for _, ref := range r.Refs {
		fmt.Fprintf(&b, "- %s\n", ref)
	}
	fmt.Fprintf(&b, "- %s\n", r.DocURL())
	return b.String()
}

type ruleJSON struct {
	ID           string   `json:"id"`
	Slug         string   `json:"slug"`
	Title        string   `json:"title"`
	Severity     string   `json:"severity"`
	Category     string   `json:"category"`
	Description  string   `json:"description"`
	Remediation  string   `json:"remediation"`
	Refs         []string `json:"refs"`
	Experimental bool     `json:"experimental"`
	Deprecated   bool     `json:"deprecated"`
	HelpURI      string   `json:"helpUri"`
}

func toRuleJSON(r *finding.Rule) ruleJSON {
	refs := r.Refs
	if refs == nil {
		refs = []string{}
	}
	return ruleJSON{ID: r.ID, Slug: r.Slug, Title: r.Title, Severity: r.Severity.String(),
		Category: r.Category.String(), Description: r.Description, Remediation: r.Remediation,
		Refs: refs, Experimental: r.Experimental, Deprecated: r.Deprecated, HelpURI: r.DocURL()}
}

func writeRulesJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
