package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/output"
)

// maxObjects bounds the objects a markdown finding lists; the JSON has them all.
const maxObjects = 20

func writeMarkdown(w io.Writer, r *check.Result) error {
	var b strings.Builder
	b.WriteString("# premortem scan\n\n")
	fmt.Fprintf(&b, "- Source: `%s`\n", output.Text(r.Info.Source))
	if !r.Info.TakenAt.IsZero() {
		fmt.Fprintf(&b, "- Taken at: %s\n", r.Info.TakenAt.UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	if r.Info.ServerVersion != "" {
		fmt.Fprintf(&b, "- Server version: %s\n", r.Info.ServerVersion)
	}
	fmt.Fprintf(&b, "\n**%s**\n", mdEscape(output.Text(Summary(r))))
	if len(r.Findings) > 0 {
		b.WriteString("\n| Severity | Check | Object | Finding | Incident |\n|---|---|---|---|---|\n")
		for _, f := range r.Findings {
			fmt.Fprintf(&b, "| %s | `%s` | %s | %s | %s |\n", f.Severity, f.ID, mdCell(objectsCell(f)), mdCell(f.Title), incidentsCell(f))
		}
		b.WriteString("\n## Findings\n")
		for i, f := range r.Findings {
			fmt.Fprintf(&b, "\n### %d. %s: %s\n\n", i+1, strings.ToUpper(f.Severity.String()), mdEscape(output.Text(oneLine(f.Title))))
			fmt.Fprintf(&b, "Check `%s`; resembles incident %s.\n\n", f.ID, strings.Join(f.Incidents, ", "))
			fmt.Fprintf(&b, "%s\n\n", mdEscape(output.Text(f.Message)))
			if len(f.Objects) > 0 {
				b.WriteString("Objects:\n\n")
				for j, o := range f.Objects {
					if j == maxObjects {
						fmt.Fprintf(&b, "- ... and %d more\n", len(f.Objects)-maxObjects)
						break
					}
					fmt.Fprintf(&b, "- %s\n", mdEscape(output.Text(objectRef(o))))
				}
				b.WriteString("\n")
			}
			if len(f.Evidence) > 0 {
				ev, err := json.MarshalIndent(f.Evidence, "", "  ")
				if err != nil {
					return fmt.Errorf("write markdown: evidence of %s: %w", f.ID, err)
				}
				fmt.Fprintf(&b, "Evidence:\n\n```json\n%s\n```\n\n", output.Lines(string(ev)))
			}
			fmt.Fprintf(&b, "Remediation: %s\n", mdEscape(oneLine(f.Remediation)))
		}
	}
	if missing := NotRead(r.Info); len(missing) > 0 {
		b.WriteString("\n## Not read\n\n")
		for _, m := range missing {
			fmt.Fprintf(&b, "- %s\n", mdEscape(output.Text(m)))
		}
	}
	if len(r.NotRun) > 0 {
		b.WriteString("\n## Checks not run\n\n")
		for _, n := range r.NotRun {
			fmt.Fprintf(&b, "- `%s`: %s\n", n.ID, mdEscape(output.Text(firstLine(n.Reason))))
		}
	}
	if len(r.Ran) > 0 {
		fmt.Fprintf(&b, "\nChecks run: %s.\n", "`"+strings.Join(r.Ran, "`, `")+"`")
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write markdown: %w", err)
	}
	return nil
}

// objectRef renders an object with its group: "Deployment.apps kube-system/coredns".
func objectRef(o check.Object) string {
	kind := o.Kind
	if o.Group != "" {
		kind += "." + o.Group
	}
	if o.Namespace == "" {
		return kind + " " + o.Name
	}
	return kind + " " + o.Namespace + "/" + o.Name
}

var mdReplacer = strings.NewReplacer("*", `\*`, "_", `\_`, "<", "&lt;", ">", "&gt;", "`", "'")

func mdEscape(s string) string { return mdReplacer.Replace(s) }

func mdCell(s string) string { return strings.ReplaceAll(mdEscape(output.Text(oneLine(s))), "|", `\|`) }
