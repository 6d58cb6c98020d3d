package refs

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/premortem/premortem/internal/audit"
	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/output"
)

var outsideWriters = output.Writers[*OutsideResult]{{Format: "table", Write: writeOutsideTable}, output.Wide(writeOutsideTable), output.JSONWriter[*OutsideResult]()}

// WriteOutside renders r as "table" or "json" (Formats).
func WriteOutside(w io.Writer, format string, r *OutsideResult) error {
	return outsideWriters.Write(w, format, r)
}

func writeOutsideTable(w io.Writer, r *OutsideResult) error {
	files := fmt.Sprintf("%d logs", len(r.Inputs))
	if len(r.Inputs) == 1 {
		files = output.Text(r.Inputs[0].Name)
	}
	fmt.Fprintf(w, "Audit logs: %s", files)
	if !r.From.IsZero() {
		fmt.Fprintf(w, ", %s to %s UTC", r.From.Format("2006-01-02 15:04:05"), r.To.Format("2006-01-02 15:04:05"))
	}
	fmt.Fprintln(w)
	var classes []string
	for _, c := range slices.Sorted(maps.Keys(r.Requests)) {
		classes = append(classes, fmt.Sprintf("%s %d", c, r.Requests[c]))
	}
	fmt.Fprintf(w, "Requests by client address: %s\n", strings.Join(classes, ", "))
	k := r.Known
	fmt.Fprintf(w, "Known to be the cluster's: %s with %s, %s with %s, pod CIDRs %s, cluster CIDRs %s, and loopback\n\n",
		check.Plural(k.Nodes, "node", "nodes"), check.Plural(k.NodeAddresses, "address", "addresses"),
		check.Plural(k.Pods, "pod", "pods"), check.Plural(k.PodAddresses, "address", "addresses"), list(k.PodCIDRs), list(k.ClusterCIDRs))
	if len(r.Identities) == 0 {
		fmt.Fprintln(w, "No identity reached the API server from outside the cluster.")
	} else {
		fmt.Fprintf(w, "%s reached the API server from outside the cluster (neither a node nor a pod):\n",
			check.Plural(len(r.Identities), "identity", "identities"))
		tw := output.NewTable(w, output.DisplayOf(w), 2).Shrink(5, 0, 4).Drop(2, 3)
		fmt.Fprintln(tw, "  USER\tREQUESTS\tFIRST SEEN\tLAST SEEN\tSOURCES\tUSER AGENTS")
		for _, id := range r.Identities {
			fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\t%s\t%s\n", output.Text(id.User), id.Requests, check.FormatTime(id.First), check.FormatTime(id.Last),
				output.Text(counts(id.Sources, id.OtherSources)), output.Text(counts(id.UserAgents, id.OtherUserAgents)))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintln(w, "These clients break when the API server's address or name changes, and no search of the cluster finds their configuration.")
	}
	if r.DroppedRequests > 0 {
		fmt.Fprintf(w, "%d more requests from outside came from identities past the first %d (--max-identities): not listed.\n", r.DroppedRequests, r.MaxIdentities)
	}
	for _, s := range r.NotRead {
		fmt.Fprintf(w, "NOT READ: %s\n", output.Text(s))
	}
	if !r.Complete() {
		fmt.Fprintln(w, "The answer is incomplete: see what was not read.")
	}
	return nil
}

// counts lists the first three values and how many requests had others.
func counts(cs []audit.NamedCount, other int64) string {
	var parts []string
	var rest int64
	for i, c := range cs {
		if i < 3 {
			parts = append(parts, c.Name)
		} else {
			rest += c.Requests
		}
	}
	if rest += other; rest > 0 {
		parts = append(parts, fmt.Sprintf("(+%d requests from others)", rest))
	}
	return strings.Join(parts, ", ")
}

func list(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	if len(s) > 4 {
		return strings.Join(s[:4], ", ") + fmt.Sprintf(" (+%d)", len(s)-4)
	}
	return strings.Join(s, ", ")
}
