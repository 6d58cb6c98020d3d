package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/output"
	"github.com/premortem/premortem/internal/snapshot"
)

// CatalogEntry is one check in `checks list -o json`.
type CatalogEntry struct {
	ID       string         `json:"id"`
	Title    string         `json:"title"`
	Category string         `json:"category"`
	Severity check.Severity `json:"severity"`
	// Escalation is the one higher severity the check may report, and when.
	Escalation  *CatalogEscalation `json:"escalation,omitempty"`
	Incidents   []string           `json:"incidents"`
	Reads       []string           `json:"reads"`
	Optional    []string           `json:"optional"`
	Doc         string             `json:"doc"`
	Remediation string             `json:"remediation"`
	Params      []CatalogParam     `json:"params"`
	Evidence    []CatalogKey       `json:"evidence"`
}

// CatalogEscalation is when a check reports above its default severity.
type CatalogEscalation struct {
	To   check.Severity `json:"to"`
	When string         `json:"when"`
}

// CatalogKey documents one evidence key of a CatalogEntry.
type CatalogKey struct {
	Name string `json:"name"`
	Doc  string `json:"doc"`
}

// CatalogParam is one parameter of a CatalogEntry.
type CatalogParam struct {
	Name    string `json:"name"`
	Key     string `json:"key"` // <check-id>.<name>, as scan takes it
	Type    string `json:"type"`
	Default string `json:"default"`
	Doc     string `json:"doc"`
}

func resourceNames(rs []snapshot.Resource) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.Name())
	}
	return out
}

func entry(c *check.Check) CatalogEntry {
	e := CatalogEntry{ID: c.ID, Title: c.Title, Category: c.Category, Severity: c.Severity, Incidents: c.Incidents,
		Reads: resourceNames(c.Reads), Optional: resourceNames(c.Optional), Doc: c.Doc, Remediation: c.Remediation,
		Params: []CatalogParam{}, Evidence: []CatalogKey{}}
	if x := c.Escalation; x != nil {
		e.Escalation = &CatalogEscalation{To: x.To, When: x.When}
	}
	for _, k := range c.Evidence {
		e.Evidence = append(e.Evidence, CatalogKey{Name: k.Name, Doc: k.Doc})
	}
	for _, p := range c.Params {
		e.Params = append(e.Params, CatalogParam{Name: p.Name, Key: c.ID + "." + p.Name, Type: string(p.Type), Default: p.Default, Doc: p.Doc})
	}
	return e
}

// WriteCatalog renders the catalog for `checks list`: table, json or markdown.
func WriteCatalog(w io.Writer, format string, cs []*check.Check) error {
	if format == "md" {
		format = "markdown"
	}
	return catalogWriters.Write(w, format, cs)
}

var catalogWriters = output.Writers[[]*check.Check]{
	{Format: "table", Write: writeCatalogTable},
	output.Wide(writeCatalogTable),
	{Format: "json", Write: func(w io.Writer, cs []*check.Check) error {
		es := make([]CatalogEntry, 0, len(cs))
		for _, c := range cs {
			es = append(es, entry(c))
		}
		return output.JSON(w, es)
	}},
	{Format: "markdown", Write: func(w io.Writer, cs []*check.Check) error {
		var b strings.Builder
		catalogTable(&b, cs)
		_, err := io.WriteString(w, b.String())
		return err
	}},
}

func writeCatalogTable(w io.Writer, cs []*check.Check) error {
	tw := output.NewTable(w, output.DisplayOf(w), 2).Shrink(4, 3).Drop(3, 2).Paint(1, output.SeverityStyle)
	fmt.Fprintln(tw, "ID\tSEVERITY\tCATEGORY\tINCIDENTS\tTITLE")
	for _, c := range cs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.ID, c.Severity, c.Category, strings.Join(c.Incidents, ","), c.Title)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write catalog: %w", err)
	}
	return nil
}

func catalogTable(b *strings.Builder, cs []*check.Check) {
	b.WriteString("| ID | Severity | Category | Incidents | Title |\n|---|---|---|---|---|\n")
	for _, c := range cs {
		fmt.Fprintf(b, "| [`%s`](#%s) | %s | %s | %s | %s |\n", c.ID, c.ID, c.Severity, c.Category, strings.Join(c.Incidents, ", "), mdCell(c.Title))
	}
}

// Explain writes everything the catalog says about one check, as plain text.
func Explain(w io.Writer, c *check.Check) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n\n", c.ID, c.Title)
	tw := tabwriter.NewWriter(&b, 0, 4, 1, ' ', 0)
	fmt.Fprintf(tw, "Category:\t%s\n", c.Category)
	fmt.Fprintf(tw, "Severity:\t%s\n", c.Severity)
	if x := c.Escalation; x != nil {
		fmt.Fprintf(tw, "Escalates:\tto %s when %s\n", x.To, x.When)
	}
	fmt.Fprintf(tw, "Incidents:\t%s\n", strings.Join(c.Incidents, ", "))
	fmt.Fprintf(tw, "Reads:\t%s\n", strings.Join(resourceNames(c.Reads), ", "))
	if len(c.Optional) > 0 {
		fmt.Fprintf(tw, "Also uses:\t%s (when read)\n", strings.Join(resourceNames(c.Optional), ", "))
	}
	tw.Flush()
	fmt.Fprintf(&b, "\n%s\n\nRemediation:\n%s\n", strings.TrimSpace(c.Doc), indent(strings.TrimSpace(c.Remediation), "  "))
	if len(c.Params) > 0 {
		fmt.Fprintf(&b, "\nParameters (set as %s.<name>=<value>):\n", c.ID)
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		for _, p := range c.Params {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", p.Name, p.Type, "default "+p.Default, p.Doc)
		}
		tw.Flush()
	}
	if len(c.Evidence) > 0 {
		b.WriteString("\nEvidence (keys of each finding's evidence in -o json):\n")
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		for _, k := range c.Evidence {
			fmt.Fprintf(tw, "  %s\t%s\n", k.Name, k.Doc)
		}
		tw.Flush()
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func indent(s, prefix string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "\n")
}

// WriteReference writes docs/reference/checks.md: the catalog table, then
// each check in full. It is generated; edit the check declarations instead.
func WriteReference(w io.Writer, cs []*check.Check) error {
	var b strings.Builder
	b.WriteString("<!-- Code generated by `go generate ./internal/checks`; DO NOT EDIT. -->\n\n")
	b.WriteString("# Check reference\n\n")
	b.WriteString("Every check premortem runs, generated from the declarations in `internal/checks`. " +
		"`premortem checks explain <ID>` prints the same text. Parameters are set as `<check-id>.<name>=<value>`.\n\n")
	catalogTable(&b, cs)
	for _, c := range cs {
		fmt.Fprintf(&b, "\n## %s\n\n%s\n\n", c.ID, mdEscape(c.Title))
		fmt.Fprintf(&b, "- Severity: %s\n", c.Severity)
		if e := c.Escalation; e != nil {
			fmt.Fprintf(&b, "- Escalates to %s when %s\n", e.To, mdEscape(e.When))
		}
		fmt.Fprintf(&b, "- Category: %s\n- Incidents: %s\n- Reads: %s\n", c.Category,
			strings.Join(c.Incidents, ", "), codeList(resourceNames(c.Reads)))
		if len(c.Optional) > 0 {
			fmt.Fprintf(&b, "- Also uses, when read: %s\n", codeList(resourceNames(c.Optional)))
		}
		fmt.Fprintf(&b, "\n%s\n\n**Remediation.** %s\n", mdDoc(c.Doc), mdDoc(c.Remediation))
		if len(c.Params) > 0 {
			b.WriteString("\n| Parameter | Type | Default | Meaning |\n|---|---|---|---|\n")
			for _, p := range c.Params {
				fmt.Fprintf(&b, "| `%s.%s` | %s | `%s` | %s |\n", c.ID, p.Name, p.Type, p.Default, mdCell(p.Doc))
			}
		}
		if len(c.Evidence) > 0 {
			b.WriteString("\n| Evidence key | Meaning |\n|---|---|\n")
			for _, k := range c.Evidence {
				fmt.Fprintf(&b, "| `%s` | %s |\n", k.Name, mdCell(k.Doc))
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func codeList(xs []string) string {
	if len(xs) == 0 {
		return "-"
	}
	return "`" + strings.Join(xs, "`, `") + "`"
}

// mdDoc renders a doc string as markdown: paragraphs kept, lines that start
// with "- " kept as list items, everything escaped.
func mdDoc(s string) string {
	paras := strings.Split(strings.TrimSpace(s), "\n\n")
	for i, p := range paras {
		lines := strings.Split(p, "\n")
		list := false
		for _, l := range lines {
			if strings.HasPrefix(strings.TrimSpace(l), "- ") {
				list = true
			}
		}
		if !list {
			paras[i] = mdEscape(oneLine(p))
			continue
		}
		// Join continuation lines onto their item.
		var items []string
		for _, l := range lines {
			t := strings.TrimSpace(l)
			if strings.HasPrefix(t, "- ") || len(items) == 0 {
				items = append(items, t)
			} else {
				items[len(items)-1] += " " + t
			}
		}
		for j := range items {
			items[j] = mdEscape(items[j])
		}
		paras[i] = strings.Join(items, "\n")
	}
	return strings.Join(paras, "\n\n")
}
