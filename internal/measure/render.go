package measure

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/premortem/premortem/internal/output"
)

// Writers are measure's -o formats, the table first.
var Writers = output.Writers[*Report]{
	{Format: "table", Write: WriteTable},
	output.Wide(WriteTable),
	output.JSONWriter[*Report](),
	{Format: "html", Write: WriteHTML},
}

// maxTableRows bounds the request rows the table prints; JSON has them all.
const maxTableRows = 25

// WriteTable writes the report for a terminal. Every name from the cluster
// or the command line is escaped (output.Text).
func WriteTable(w io.Writer, r *Report) error {
	b := &strings.Builder{}
	d := output.DisplayOf(w)
	fmt.Fprintf(b, "Window: %s to %s UTC (%.1f s), priority levels sampled every %s.\n",
		r.Start.Format("2006-01-02 15:04:05"), r.End.Format("15:04:05"), r.Seconds, seconds(r.IntervalSeconds))
	if len(r.Command) > 0 {
		fmt.Fprintf(b, "Command: %s", output.Text(strings.Join(r.Command, " ")))
		if r.CommandError != "" {
			fmt.Fprintf(b, " (failed: %s)", output.Text(r.CommandError))
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
	tw := output.NewTable(b, d, 2).Shrink(0).Drop(9, 8, 6, 1)
	fmt.Fprintln(tw, "SERVER\tVIA\tREQUESTS\t429\tCPU SECONDS\tEGRESS\tWATCHERS\tEXECUTING PEAK\tMEAN\tSAMPLES")
	for _, s := range r.Servers {
		if !s.MetricsRead {
			fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\t-\t-\t%d\t%.2f\t%d\n", output.Text(s.Server), s.Via, s.Executing.Peak, s.Executing.Mean, s.SamplesTaken)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.2f\t%s\t%d\t%d\t%.2f\t%d\n", output.Text(s.Server), s.Via, s.RequestsTotal, s.Throttled,
			s.CPUSeconds, bytesText(s.EgressBytes), s.WatchersAfter, s.Executing.Peak, s.Executing.Mean, s.SamplesTaken)
	}
	if len(r.Servers) > 1 {
		t := r.Total
		fmt.Fprintf(tw, "TOTAL\t\t%d\t%d\t%.2f\t%s\t%d\t%d\t%.2f\t\n", t.RequestsTotal, t.Throttled, t.CPUSeconds, bytesText(t.EgressBytes), t.WatchersAfter, t.Executing.Peak, t.Executing.Mean)
	}
	tw.Flush()

	b.WriteString("\nPriority levels: executing requests per sample, peak beside the mean over the window.\n")
	tw = output.NewTable(b, d, 2).Shrink(0, 1).Drop(4, 5)
	fmt.Fprintln(tw, "SERVER\tLEVEL\tLIMIT SEATS\tPEAK\tMEAN\tP99\tPEAK WAITING\tSECONDS AT LIMIT")
	idle := 0
	for _, s := range r.Servers {
		for _, l := range s.Levels {
			if l.Executing.Peak == 0 && l.Waiting.Peak == 0 {
				idle++
				continue
			}
			limit := limitText(l)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%.2f\t%d\t%d\t%.0f\n", output.Text(s.Server), output.Text(l.Name), limit,
				l.Executing.Peak, l.Executing.Mean, l.Executing.P99, l.Waiting.Peak, l.SecondsAtLimit)
		}
	}
	tw.Flush()
	if idle > 0 {
		fmt.Fprintf(b, "(%d idle level(s) not shown: nothing executing or waiting in any sample.)\n", idle)
	}

	rows := r.Total.Requests
	b.WriteString("\nRequests by verb and resource (all servers):\n")
	tw = output.NewTable(b, d, 2).Shrink(1)
	fmt.Fprintln(tw, "VERB\tRESOURCE\tREQUESTS\t429\tRESPONSE BYTES")
	for i, row := range rows {
		if i == maxTableRows {
			fmt.Fprintf(tw, "...\t%d more (-o json lists them all)\t\t\t\n", len(rows)-maxTableRows)
			break
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\n", output.Text(row.Verb), output.Text(row.Resource), row.Requests, row.Throttled, bytesText(row.ResponseBytes))
	}
	tw.Flush()
	for _, s := range r.Servers {
		for _, x := range s.Rejected {
			fmt.Fprintf(b, "APF rejected %d request(s) at %s, level %s (%s).\n", x.Count, output.Text(s.Server), output.Text(x.PriorityLevel), output.Text(x.Reason))
		}
	}

	if h := r.Headroom; h != nil {
		fmt.Fprintf(b, "\nN-1 headroom (an estimate): %s\n", output.Text(h.Summary))
		if len(h.Remaining) > 0 {
			tw = output.NewTable(b, d, 2).Shrink(0).Drop(6, 5)
			fmt.Fprintln(tw, "SERVER\tWATCHERS\tREQUESTS/S\tCPU CORES\tEGRESS/S\tRE-LISTS\tRE-LIST BYTES")
			for _, f := range h.Remaining {
				fmt.Fprintf(tw, "%s\t%d → %d\t%.1f → %.1f\t%.2f → %.2f\t%s → %s\t%d\t%s\n", output.Text(f.Server), f.Watchers, f.WatchersAfter,
					f.RequestsPerSecond, f.RequestsPerSecondAfter, f.CPUCores, f.CPUCoresAfter,
					bytesText(f.EgressBytesPerSecond), bytesText(f.EgressBytesPerSecondAfter), f.Relists, bytesText(f.RelistBytes))
			}
			tw.Flush()
		}
		for _, a := range h.Assumptions {
			fmt.Fprintf(b, "  - %s\n", a)
		}
	}
	writeList(b, "Not read (the measurement is incomplete):", r.NotRead)
	writeList(b, "Notes:", r.Notes)
	_, err := io.WriteString(w, b.String())
	return err
}

// writeList writes items, escaped, under heading after a blank line;
// nothing when there are none.
func writeList(b *strings.Builder, heading string, items []string) {
	if len(items) == 0 {
		return
	}
	fmt.Fprintf(b, "\n%s\n", heading)
	for _, n := range items {
		fmt.Fprintf(b, "  - %s\n", output.Text(n))
	}
}

// limitText is a level's limit in seats, "56→159" when it moved.
func limitText(l Level) string {
	switch {
	case l.LimitSeats <= 0:
		return "-"
	case l.LimitSeatsStart > 0 && l.LimitSeatsStart != l.LimitSeats:
		return fmt.Sprintf("%.0f→%.0f", l.LimitSeatsStart, l.LimitSeats)
	}
	return fmt.Sprintf("%.0f", l.LimitSeats)
}

// bytesText is a byte count in binary units.
func bytesText(n float64) string {
	const unit = 1024.0
	if n < unit {
		return fmt.Sprintf("%.0f B", n)
	}
	for i, u := range []string{"KiB", "MiB", "GiB", "TiB"} {
		n /= unit
		if n < unit || i == 3 {
			return fmt.Sprintf("%.1f %s", n, u)
		}
	}
	return ""
}

func seconds(s float64) string {
	return time.Duration(s * float64(time.Second)).String()
}
