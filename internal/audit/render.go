package audit

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/premortem/premortem/internal/output"
)

var writers = output.Writers[*Report]{
	{Format: "table", Write: WriteText},
	output.Wide(WriteText),
	output.JSONWriter[*Report](),
	{Format: "html", Write: WriteHTML},
}

// Formats lists the formats Write accepts.
var Formats = writers.Formats()

// Write renders r as "table" (terminal tables), "json" or "html" (one
// self-contained page).
func Write(w io.Writer, format string, r *Report) error { return writers.Write(w, format, r) }

// WriteText writes the load report as terminal tables.
func WriteText(w io.Writer, r *Report) error {
	ew := &errWriter{w: w}
	writeSummary(ew, r)
	if r.Deletion != nil {
		writeDeletion(ew, r.Deletion)
		return ew.err
	}
	if r.Total.Requests+r.Total.LongRunning == 0 {
		ew.printf("\nNo completed requests to attribute.\n")
		return ew.err
	}

	ew.printf("\nLOAD BY USER (query time: completed requests, watches and other long-running requests apart)\n")
	tw := ew.table().Shrink(13, 0).Drop(8, 7, 12, 11, 4, 9, 10)
	fmt.Fprintln(tw, "USER\tREQUESTS\tQUERY TIME\tSHARE\tP50\tP99\tMAX\tIN FLIGHT PEAK\tMEAN\t429\t5XX\tLONG-RUNNING\tSOURCES\tTOP USER AGENT")
	for _, u := range r.Users {
		ua := ""
		if len(u.UserAgents) > 0 {
			ua = u.UserAgents[0].Name
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%d\t%.2f\t%d\t%d\t%d\t%d\t%s\n", named(u.Name), u.Requests, seconds(u.QuerySeconds), percent(u.Share),
			millis(u.P50ms), millis(u.P99ms), millis(u.MaxMs), u.PeakInFlight, u.MeanInFlight, u.Throttled, u.ServerErrors, u.LongRunning, u.Sources, truncate(named(ua), 48))
	}
	tw.Flush()

	ew.printf("\nLOAD BY USER AGENT\n")
	writeLoads(ew, "USER AGENT", r.UserAgents)
	ew.printf("\nLOAD BY VERB AND RESOURCE\n")
	writeLoads(ew, "VERB RESOURCE", r.VerbResources)

	ew.printf("\nLIST READS BY SEMANTICS\n")
	tw = ew.table().Shrink(5).Drop(3, 4)
	fmt.Fprintln(tw, "CLASS\tLISTS\tQUERY TIME\tWITH SELECTOR\tCLUSTER-WIDE\tSERVED FROM")
	for _, c := range r.Lists.Classes {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\t%s\n", c.Class, c.Count, seconds(c.QuerySeconds), c.Selector, c.ClusterWide, c.Served)
	}
	tw.Flush()
	if len(r.Lists.Clients) > 0 {
		ew.printf("\nCLIENTS MAKING LISTS THAT MAY READ ETCD (consistent, consistent-paged, continue, exact)\n")
		tw = ew.table().Shrink(7, 0, 6).Drop(5, 3, 4, 2)
		fmt.Fprintln(tw, "USER\tLISTS\tQUERY TIME\tWITH SELECTOR\tCLUSTER-WIDE\tIN FLIGHT PEAK\tCLASSES\tUSER AGENT")
		for _, c := range r.Lists.Clients {
			var cls []string
			for _, cc := range c.Classes {
				cls = append(cls, fmt.Sprintf("%s:%d", cc.Class, cc.Count))
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\t%d\t%s\t%s\n", named(c.User), c.Count, seconds(c.QuerySeconds), c.Selector, c.ClusterWide, c.PeakInFlight, strings.Join(cls, " "), truncate(named(c.UserAgent), 48))
		}
		tw.Flush()
	}
	ew.printf("\n%s\nConfirm on the API server:\n", wrap(r.Lists.Caveat, 100))
	for _, m := range r.Lists.Metrics {
		ew.printf("  - %s\n", m)
	}
	writeFanOut(ew, r)

	if len(r.Timeline.Series) > 0 {
		end := r.Timeline.Start.Add(time.Duration(int64(r.Timeline.Steps)*r.Timeline.StepSeconds) * time.Second)
		endFormat := "15:04"
		if end.Sub(r.Timeline.Start) >= 24*time.Hour || end.Day() != r.Timeline.Start.Day() {
			endFormat = "2006-01-02 15:04" // a log of days
		}
		ew.printf("\nTIMELINE: query seconds per %s, top users (%s to %s UTC)\n", stepName(r.Timeline.StepSeconds),
			r.Timeline.Start.Format("2006-01-02 15:04"), end.Format(endFormat))
		tw = ew.table().Shrink(0, 1)
		for _, s := range r.Timeline.Series {
			peak := 0.0
			for _, v := range s.QuerySeconds {
				peak = math.Max(peak, v)
			}
			fmt.Fprintf(tw, "%s\t%s\tmax %s/%s\n", truncate(s.User, 48), sparkline(s.QuerySeconds, 72), seconds(peak), stepName(r.Timeline.StepSeconds))
		}
		tw.Flush()
		if len(r.Timeline.Bursts) > 0 {
			// A burst is a column or two of a long log's sparkline.
			ew.printf("\nBURSTS: minutes far above the rest of the log (-o json has them a minute a step, -o html draws them)\n")
			tw = ew.table()
			fmt.Fprintln(tw, "FROM\tTO\tREQUESTS\tQUERY TIME\tTOP USER")
			for _, b := range r.Timeline.Bursts {
				top := ""
				if len(b.Window.Series) > 0 {
					top = b.Window.Series[0].User
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", b.From.Format("2006-01-02 15:04"), b.To.Format("2006-01-02 15:04"), b.Requests, seconds(b.QuerySeconds), named(top))
			}
			tw.Flush()
		}
	}
	if r.ClippedRequests > 0 {
		ew.printf("\n%d requests lasted longer than the concurrency window (%s) or arrived out of order; their in-flight time was clipped.\n", r.ClippedRequests, time.Duration(sweepWindow))
	}
	return ew.err
}

func writeSummary(ew *errWriter, r *Report) {
	files := fmt.Sprintf("%d inputs", len(r.Inputs))
	if len(r.Inputs) == 1 {
		files = r.Inputs[0].Name
	}
	ew.printf("%d events in %d lines from %s", r.Events, r.Lines, files)
	if !r.From.IsZero() {
		ew.printf(", %s to %s UTC (%s)", r.From.Format("2006-01-02 15:04:05"), r.To.Format("2006-01-02 15:04:05"), r.To.Sub(r.From).Round(time.Second))
	}
	ew.printf("\n")
	if r.Total.Requests+r.Total.LongRunning > 0 {
		ew.printf("%d completed requests, %s of query time; %d long-running (%s); %d throttled (429), %d server errors (5xx)\n",
			r.Total.Requests, seconds(r.Total.QuerySeconds), r.Total.LongRunning, seconds(r.Total.LongRunningSeconds), r.Total.Throttled, r.Total.ServerErrors)
	}
	if r.Filtered > 0 || r.Untimed > 0 {
		ew.printf("%d completed events left out by --since/--until or filters, %d without usable timestamps\n", r.Filtered, r.Untimed)
	}
	if r.Malformed > 0 {
		ew.printf("%d malformed lines, first ones:\n", r.Malformed)
		for _, m := range r.MalformedExamples {
			ew.printf("  %s:%d: %s\n", m.File, m.Line, m.Error)
		}
	}
	for _, in := range r.Inputs {
		if in.Truncated != "" {
			ew.printf("%s: %s\n", in.Name, in.Truncated)
		}
	}
	if len(r.Inputs) > 1 && r.Deletion == nil {
		ew.printf("\nINPUTS (one per API server, or rotated logs of one)\n")
		tw := ew.table().Shrink(0)
		fmt.Fprintln(tw, "INPUT\tLINES\tMALFORMED\tREQUESTS\tQUERY TIME\tSHARE")
		for _, in := range r.Inputs {
			share := 0.0
			if r.Total.QuerySeconds > 0 {
				share = in.QuerySeconds / r.Total.QuerySeconds
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\n", in.Name, in.Lines, in.Malformed, in.Requests, seconds(in.QuerySeconds), percent(share))
		}
		tw.Flush()
	}
}

func writeLoads(ew *errWriter, title string, ls []Load) {
	tw := ew.table().Shrink(0).Drop(9, 7, 8, 4)
	fmt.Fprintf(tw, "%s\tREQUESTS\tQUERY TIME\tSHARE\tP50\tP99\tMAX\t429\t5XX\tLONG-RUNNING\n", title)
	for _, l := range ls {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\n", truncate(named(l.Name), 64), l.Requests, seconds(l.QuerySeconds), percent(l.Share),
			millis(l.P50ms), millis(l.P99ms), millis(l.MaxMs), l.Throttled, l.ServerErrors, l.LongRunning)
	}
	tw.Flush()
}

func writeDeletion(ew *errWriter, d *DeletionReport) {
	ew.printf("\nDELETION OF %s\n", d.Target)
	line := func(label string, x *Deletion) {
		ew.printf("%-22s %s by %s", label, x.Time.Format(time.RFC3339Nano), x.User)
		if x.UserAgent != "" {
			ew.printf(" (%s)", truncate(x.UserAgent, 48))
		}
		if len(x.SourceIPs) > 0 {
			ew.printf(" from %s", strings.Join(x.SourceIPs, ", "))
		}
		ew.printf(", %s %s", x.Verb, objectName(x))
		ew.printf(", code %d", x.Code)
		if x.ObjectCount > 0 {
			ew.printf(", removed %d: %s", x.ObjectCount, objectList(x))
		}
		if x.AuditID != "" {
			ew.printf(", auditID %s", x.AuditID)
		}
		ew.printf("\n")
	}
	if d.Request != nil {
		line("Delete request:", d.Request)
	}
	for i := range d.Requests {
		if d.Request == nil || d.Requests[i].AuditID != d.Request.AuditID {
			line("Other delete attempt:", &d.Requests[i])
		}
	}
	if d.CascadeStart != nil {
		ew.printf("%-22s %d deletes from %s to %s (%s), starting %s after the request\n", "Cascade:", d.CascadeDeletes,
			d.CascadeStart.Format(timeMillis), d.CascadeEnd.Format(timeMillis), duration(*d.DurationSeconds), duration(*d.GapSeconds))
		tw := ew.table().Shrink(7, 0, 2).Drop(5, 4)
		fmt.Fprintln(tw, "  ACTOR\tVERB\tRESOURCE\tCOUNT\tREMOVED\tFIRST\tLAST\tUSER")
		// When the log says what the namespace held, the deletes that
		// removed none of it (the controller empties every resource type)
		// are summed up in one line; -o json lists them.
		var quiet, quietDeletes int64
		for _, g := range d.Cascade {
			if d.KnownObjects > 0 && g.Removed == 0 && g.Verb == "deletecollection" {
				quiet++
				quietDeletes += g.Count
				continue
			}
			removed := "-"
			if d.KnownObjects > 0 {
				removed = fmt.Sprint(g.Removed)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", output.Text(g.Actor), g.Verb, output.Text(g.Resource), g.Count, removed, g.First.Format(timeMillis), g.Last.Format(timeMillis), output.Text(g.User))
		}
		tw.Flush()
		if quiet > 0 {
			ew.printf("  and %d deletecollection calls on %d other resources that removed nothing created in these logs (see -o json)\n", quietDeletes, quiet)
		}
	}
	if d.LastRemoved != nil {
		line("Last object removed:", d.LastRemoved)
	}
	if d.KnownObjects > 0 {
		ew.printf("%-22s %d objects created in these logs were in the namespace at the request", "Known contents:", d.KnownObjects)
		if len(d.Remaining) > 0 {
			ew.printf("; not seen removed: %s", strings.Join(d.Remaining, " "))
		} else {
			ew.printf("; all seen removed")
		}
		ew.printf("\n")
	}
	if d.LastNamed != nil && d.LastNamed != d.LastRemoved {
		line("Last named delete:", d.LastNamed)
	}
	if d.Removed != nil {
		line("Namespace finalized:", d.Removed)
	}
	if d.ChangeCount > 0 {
		ew.printf("%-22s %d (create, status updates while the controller retries, finalize); see -o json\n", "Changes to the target:", d.ChangeCount)
	}
	for i := range d.OtherDeletes {
		line("Other delete after:", &d.OtherDeletes[i])
	}
	if d.Before > 0 {
		ew.printf("%-22s %d\n", "Deletes before:", d.Before)
	}
	for _, n := range d.Notes {
		ew.printf("Note: %s\n", wrap(n, 100))
	}
}

// objectList names what a delete removed; objects created with generateName
// have no name in a Metadata-level log.
func objectList(d *Deletion) string {
	names := output.Text(strings.Join(d.Objects, " "))
	if extra := d.ObjectCount - len(d.Objects); extra > 0 {
		if names != "" {
			names += " "
		}
		names += fmt.Sprintf("(+%d unnamed or not listed)", extra)
	}
	return names
}

// named shows an empty user or user agent (absent from the events).
func named(s string) string {
	if s == "" {
		return "(none)"
	}
	return output.Text(s)
}

func objectName(d *Deletion) string {
	s := d.Resource
	if d.Subresource != "" {
		s += "/" + d.Subresource
	}
	if d.Namespace != "" && !strings.HasPrefix(d.Resource, "namespaces") {
		s += " " + d.Namespace + "/"
	} else {
		s += " "
	}
	if d.Name != "" {
		s += d.Name
	} else {
		s += "(collection)"
	}
	return output.Text(s)
}

// timeMillis is RFC 3339 with milliseconds: a cascade takes milliseconds.
const timeMillis = "2006-01-02T15:04:05.000Z07:00"

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, a ...any) { fmt.Fprintf(e, format, a...) }

// table is a table on e, laid out for the Display of the writer e wraps.
func (e *errWriter) table() *output.Table { return output.NewTable(e, output.DisplayOf(e.w), 2) }

func seconds(s float64) string { return duration(s) }

// duration prints seconds compactly: 850µs, 12ms, 3.4s, 5m12s, 4d2h.
func duration(s float64) string {
	switch {
	case s == 0:
		return "0"
	case s < 1e-3:
		return fmt.Sprintf("%.0fµs", s*1e6)
	case s < 1:
		return fmt.Sprintf("%.0fms", s*1e3)
	case s < 60:
		return fmt.Sprintf("%.1fs", s)
	case s < 86400:
		return time.Duration(s * float64(time.Second)).Round(time.Second).String()
	default:
		d := int64(s)
		return fmt.Sprintf("%dd%dh%dm", d/86400, d%86400/3600, d%3600/60)
	}
}

func millis(ms float64) string { return duration(ms / 1e3) }

func percent(f float64) string { return fmt.Sprintf("%.1f%%", f*100) }

// truncate keeps the head and the tail: user agents differ at the end
// ("kube-controller-manager/v1.30.4 ... /system:serviceaccount:kube-system:job-controller").
func truncate(s string, n int) string {
	// Names come from the logs: a user agent is whatever a client sent.
	s = output.Text(s)
	if len(s) <= n {
		return s
	}
	head := (n - 1) / 2
	return s[:head] + "…" + s[len(s)-(n-1-head):]
}

func stepName(sec int64) string {
	if sec == 60 {
		return "minute"
	}
	return time.Duration(sec * int64(time.Second)).String()
}

// sparkline draws values as block characters, resampled to at most width.
func sparkline(vals []float64, width int) string {
	if len(vals) == 0 {
		return ""
	}
	cols := vals
	if len(vals) > width {
		cols = make([]float64, width)
		for i, v := range vals {
			k := i * width / len(vals)
			cols[k] = math.Max(cols[k], v)
		}
	}
	peak := 0.0
	for _, v := range cols {
		peak = math.Max(peak, v)
	}
	blocks := []rune(" ▁▂▃▄▅▆▇█")
	var b strings.Builder
	for _, v := range cols {
		i := 0
		if peak > 0 && v > 0 {
			i = 1 + int(v/peak*float64(len(blocks)-2)+0.5)
			i = min(i, len(blocks)-1)
		}
		b.WriteRune(blocks[i])
	}
	return b.String()
}

func wrap(s string, width int) string {
	return output.Wrap(strings.Join(strings.Fields(s), " "), width, "")
}
