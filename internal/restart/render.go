package restart

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/premortem/premortem/internal/output"
)

var writers = output.Writers[*Plan]{{Format: "table", Write: writeTable}, output.Wide(writeTable), output.JSONWriter[*Plan]()}

// Formats lists the formats WritePlan accepts.
var Formats = writers.Formats()

// WritePlan renders p as "table" (for people) or "json" (the documented
// schema, see docs/restart.md).
func WritePlan(w io.Writer, format string, p *Plan) error { return writers.Write(w, format, p) }

func writeTable(out io.Writer, p *Plan) error {
	var b strings.Builder
	scope := "all namespaces"
	if p.Namespace != "" {
		scope = "namespace " + p.Namespace
	}
	if p.Selector != "" {
		scope += ", selector " + p.Selector
	}
	kinds := make([]string, len(p.Kinds))
	for i, k := range p.Kinds {
		kinds[i] = string(k)
	}
	fmt.Fprintf(&b, "Restart plan, run %s: %s; %s\n\n", output.Text(p.RunID), output.Text(scope), strings.Join(kinds, ","))

	if len(p.Steps) == 0 {
		b.WriteString("No workload in scope.\n")
	} else {
		tw := output.NewTable(&b, output.DisplayOf(out), 2).Shrink(5, 3)
		fmt.Fprintln(tw, "WAVE\tPHASE\tACTION\tWORKLOAD\tREPLICAS\tROLLOUT")
		for _, s := range p.Steps {
			wave := "-"
			if s.Wave > 0 {
				wave = strconv.Itoa(s.Wave)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", wave, s.Phase, s.Action, output.Text(s.ID), s.Replicas, output.Text(s.Progress.Detail))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}

	section := func(title string, lines []string) {
		if len(lines) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n%s\n", title)
		for _, l := range lines {
			// Lines name workloads and quote the cluster's messages; on a
			// terminal they wrap, indented under their start.
			fmt.Fprintf(&b, "%s\n", output.DisplayOf(out).Wrap("  "+output.Text(l), "      "))
		}
	}
	var held, forced, order, warn, other, critical, prepull, leftovers []string
	for _, s := range p.Steps {
		if s.Prepull != nil {
			nodes := "every node it can land on"
			if s.Prepull.Nodes > 0 {
				nodes = fmt.Sprintf("the %d node(s) it can land on", s.Prepull.Nodes)
			}
			prepull = append(prepull, fmt.Sprintf("%s: %s onto %s (DaemonSet %s/%s)", s.ID, strings.Join(s.Prepull.Images, ", "), nodes, s.Namespace, s.Prepull.DaemonSet))
		}
		if len(s.Critical) > 0 {
			critical = append(critical, fmt.Sprintf("%s: %s", s.ID, strings.Join(s.Critical, ", ")))
		}
		for _, g := range s.Gates {
			line := fmt.Sprintf("%s  [%s] %s", s.ID, g.ID, g.Message)
			if g.Forced {
				forced = append(forced, line)
			} else {
				held = append(held, line)
			}
		}
		if len(s.After) > 0 && s.Runs() {
			order = append(order, fmt.Sprintf("%s: only while %s is fully rolled out and ready", s.ID, strings.Join(s.After, ", ")))
		}
		for _, w := range s.Warnings {
			warn = append(warn, fmt.Sprintf("%s: %s", s.ID, w))
		}
		if s.Reason != "" {
			other = append(other, fmt.Sprintf("%s: %s: %s", s.ID, s.Action, s.Reason))
		}
	}
	for _, l := range p.PrepullLeftovers {
		if l.RunID == p.RunID {
			leftovers = append(leftovers, fmt.Sprintf("%s/%s (this run, for %s): --apply removes it first", l.Namespace, l.Name, l.For))
		} else {
			leftovers = append(leftovers, fmt.Sprintf("%s/%s (run %s, for %s): resuming that run removes it, or kubectl delete daemonset -n %s %s", l.Namespace, l.Name, l.RunID, l.For, l.Namespace, l.Name))
		}
	}
	if p.BGPWindow != nil {
		section("BGP graceful-restart window (Calico):", windowText(p.BGPWindow))
	}
	section("Pre-pull (--prepull): a short-lived DaemonSet pulls the images before the restart, removed after it:", prepull)
	section("Pre-pull DaemonSets left by interrupted runs:", leftovers)
	section("Held back (restart one anyway with --force ID):", held)
	section("Forced past its gates:", forced)
	section("Critical, restarted one at a time after every application workload:", critical)
	section("Dependencies (servers before clients):", order)
	section("Warnings:", warn)
	section("Already handled or nothing to do:", other)
	if len(p.OtherRuns) > 0 {
		var runs []string
		for _, r := range p.OtherRuns {
			runs = append(runs, fmt.Sprintf("%s on %d workload(s): pass --run-id %s to resume it instead", r.RunID, r.Workloads, r.RunID))
		}
		section("Earlier runs found in the cluster:", runs)
	}
	section("Notes:", p.Notes)
	c := p.Counts
	fmt.Fprintf(&b, "\n%d to restart, %d to wait for, %d already done, %d held back, %d with nothing to do; %d waves (application concurrency %d).\n",
		c.Restart, c.Wait, c.Done, c.Skip, c.None, p.Waves, p.Concurrency)
	_, err := io.WriteString(out, b.String())
	return err
}
