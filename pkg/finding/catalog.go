package finding

import (
	"fmt"
	"sort"
	"strings"
)

// Catalog indexes rules by ID and by slug.
type Catalog struct {
	rules []*Rule
	byKey map[string]*Rule
}

// NewCatalog indexes rules. Duplicate IDs or slugs are an error.
func NewCatalog(rules ...*Rule) (*Catalog, error) {
	c := &Catalog{byKey: map[string]*Rule{}}
	for _, r := range rules {
		for _, k := range []string{r.ID, r.Slug} {
			if k == "" {
				return nil, fmt.Errorf("rule %q has an empty ID or slug", r.ID+r.Slug)
			}
			if prev, ok := c.byKey[strings.ToLower(k)]; ok && prev != r {
				return nil, fmt.Errorf("rules %s and %s share the key %q", prev.ID, r.ID, k)
			}
			c.byKey[strings.ToLower(k)] = r
		}
		c.rules = append(c.rules, r)
	}
	sort.Slice(c.rules, func(i, j int) bool { return c.rules[i].ID < c.rules[j].ID })
	return c, nil
}

// Rules returns every rule, sorted by ID.
func (c *Catalog) Rules() []*Rule { return c.rules }

// Lookup finds a rule by ID or slug (case-insensitive).
func (c *Catalog) Lookup(key string) (*Rule, bool) {
	r, ok := c.byKey[strings.ToLower(key)]
	return r, ok
}
