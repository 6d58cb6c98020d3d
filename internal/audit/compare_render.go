package audit

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/output"
)

var compareWriters = output.Writers[*Comparison]{
	{Format: "table", Write: WriteComparisonText},
	output.Wide(WriteComparisonText),
	output.JSONWriter[*Comparison](),
}

// CompareFormats lists the formats WriteComparison accepts.
var CompareFormats = compareWriters.Formats()

// WriteComparison renders c as "table" or "json".
func WriteComparison(w io.Writer, format string, c *Comparison) error {
	return compareWriters.Write(w, format, c)
}

// WriteComparisonText writes a comparison as terminal tables.
func WriteComparisonText(w io.Writer, c *Comparison) error {
	ew := &errWriter{w: w}
	writePeriod(ew, "BEFORE", &c.Before)
	writePeriod(ew, "AFTER ", &c.After)
	if c.PerHour {
		ew.printf("The spans differ: ratios (×) compare rates per hour of log, not totals.\n")
	}

	ew.printf("\nNEW: %s only in after\n", check.Plural(c.NewCount, "identity", "identities"))
	writeSides(ew, c.New, func(ch Change) Side { return ch.After })
	ew.printf("\nGONE: %s only in before\n", check.Plural(c.GoneCount, "identity", "identities"))
	writeSides(ew, c.Gone, func(ch Change) Side { return ch.Before })
	ew.printf("\nGREW MOST (mean requests in flight: query time over the span, the identity's hold on the API server)\n")
	if len(c.GrewMost) == 0 {
		ew.printf("  (none)\n")
	} else {
		writeChanges(ew, "  ", "USER", c.GrewMost)
	}

	ew.printf("\nCHANGE BY USER (largest change in mean requests in flight first)\n")
	writeChanges(ew, "", "USER", c.Users)
	ew.printf("\nCHANGE BY VERB AND RESOURCE\n")
	writeChanges(ew, "", "VERB RESOURCE", c.VerbResources)
	return ew.err
}

func writePeriod(ew *errWriter, title string, p *Period) {
	files := fmt.Sprintf("%d inputs", len(p.Inputs))
	if len(p.Inputs) == 1 {
		files = output.Text(p.Inputs[0].Name)
	}
	ew.printf("%s %s", title, files)
	if !p.From.IsZero() {
		ew.printf(", %s to %s UTC (%s)", p.From.Format("2006-01-02 15:04:05"), p.To.Format("2006-01-02 15:04:05"), p.To.Sub(p.From).Round(time.Second))
	}
	ew.printf(": %d completed requests, %s of query time", p.Requests, seconds(p.QuerySeconds))
	if p.Malformed > 0 {
		ew.printf(", %d malformed lines", p.Malformed)
	}
	ew.printf("\n")
	for _, in := range p.Inputs {
		if in.Truncated != "" {
			ew.printf("  %s: %s\n", output.Text(in.Name), output.Text(in.Truncated))
		}
	}
}

func writeSides(ew *errWriter, cs []Change, side func(Change) Side) {
	if len(cs) == 0 {
		ew.printf("  (none)\n")
		return
	}
	tw := ew.table().Shrink(0).Drop(4, 3)
	fmt.Fprintln(tw, "  USER\tREQUESTS\tQUERY TIME\tIN FLIGHT PEAK\tMEAN IN FLIGHT")
	for _, ch := range cs {
		s := side(ch)
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%d\t%s\n", truncate(named(ch.Name), 64), s.Requests, seconds(s.QuerySeconds), s.PeakInFlight, mean(s.MeanInFlight))
	}
	tw.Flush()
}

func writeChanges(ew *errWriter, indent, title string, cs []Change) {
	tw := ew.table().Shrink(0).Drop(4, 3)
	fmt.Fprintf(tw, "%s%s\tREQUESTS\tQUERY TIME\tIN FLIGHT PEAK\tMEAN IN FLIGHT\n", indent, title)
	for _, ch := range cs {
		fmt.Fprintf(tw, "%s%s\t%d → %d %s\t%s → %s %s\t%d → %d\t%s → %s\n", indent, truncate(named(ch.Name), 64),
			ch.Before.Requests, ch.After.Requests, times(ch.RequestsRatio, ch.Status),
			seconds(ch.Before.QuerySeconds), seconds(ch.After.QuerySeconds), times(ch.QueryTimeRatio, ch.Status),
			ch.Before.PeakInFlight, ch.After.PeakInFlight, mean(ch.Before.MeanInFlight), mean(ch.After.MeanInFlight))
	}
	tw.Flush()
}

// mean prints requests in flight with two significant digits below one.
func mean(v float64) string {
	if v == 0 || v >= 1 {
		return fmt.Sprintf("%.2f", v)
	}
	decimals := min(max(2, 1-int(math.Floor(math.Log10(v)))), 6)
	return strconv.FormatFloat(v, 'f', decimals, 64)
}

// times prints a ratio: ×3.02, or new/gone.
func times(r float64, status string) string {
	switch {
	case status != "":
		return "(" + status + ")"
	case r == 0:
		return "(-)"
	case r >= 100:
		return fmt.Sprintf("(×%.0f)", r)
	}
	return fmt.Sprintf("(×%.2f)", r)
}
