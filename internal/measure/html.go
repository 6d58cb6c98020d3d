package measure

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"

	"github.com/premortem/premortem/internal/output"
)

// WriteHTML writes the report as one self-contained HTML file: inline CSS
// and SVG, no script, nothing fetched. Each active priority level's samples
// are drawn with the window's mean over them, so a burst that a mean
// hides is on the page next to that mean.
func WriteHTML(w io.Writer, r *Report) error {
	type chart struct {
		Title string
		SVG   template.HTML
	}
	type server struct {
		ServerReport
		Charts []chart
	}
	data := struct {
		R       *Report
		Servers []server
	}{R: r}
	for _, s := range r.Servers {
		sv := server{ServerReport: s}
		all := sumExecuting(levelSeriesOf(s.Levels), len(s.Offsets))
		sv.Charts = append(sv.Charts, chart{"all levels but exempt", seriesChart(s.Offsets, all, nil, StatsOf(all).Mean, 0, "")})
		for _, l := range s.Levels {
			if l.Executing.Peak == 0 && l.Waiting.Peak == 0 {
				continue
			}
			sv.Charts = append(sv.Charts, chart{l.Name, seriesChart(s.Offsets, l.ExecutingSeries, l.WaitingSeries, l.Executing.Mean, lowerLimit(l), limitText(l))})
		}
		data.Servers = append(data.Servers, sv)
	}
	return htmlTemplate.Execute(w, data)
}

// lowerLimit is the lower of a level's limits at the two ends: the one the
// chart draws, since the limit in between is not known.
func lowerLimit(l Level) float64 {
	if l.LimitSeatsStart > 0 && (l.LimitSeats <= 0 || l.LimitSeatsStart < l.LimitSeats) {
		return l.LimitSeatsStart
	}
	return l.LimitSeats
}

func levelSeriesOf(levels []Level) map[string]*LevelSeries {
	m := map[string]*LevelSeries{}
	for _, l := range levels {
		m[l.Name] = &LevelSeries{Executing: l.ExecutingSeries, Waiting: l.WaitingSeries}
	}
	return m
}

// seriesChart draws executing requests per sample (and waiting ones when
// given), the mean as a dashed line, and the limit when known.
func seriesChart(offsets []float64, executing, waiting []int, mean, limit float64, limitLabel string) template.HTML {
	const W, H, left, right, top, bottom = 960.0, 220.0, 50.0, 20.0, 10.0, 30.0
	peak := math.Max(1, limit)
	for i := range executing {
		peak = math.Max(peak, float64(executing[i]))
		if i < len(waiting) {
			peak = math.Max(peak, float64(waiting[i]))
		}
	}
	end := 1.0
	if n := len(offsets); n > 0 {
		end = math.Max(offsets[n-1], 1)
	}
	x := func(t float64) float64 { return left + t/end*(W-left-right) }
	y := func(v float64) float64 { return top + (H-top-bottom)*(1-v/peak) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" width="100%%" role="img">`, W, H)
	for i := 0; i <= 4; i++ {
		v := peak * float64(i) / 4
		fmt.Fprintf(&b, `<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" class="g"/><text x="%.0f" y="%.1f" class="a" text-anchor="end">%.3g</text>`,
			left, W-right, y(v), y(v), left-6, y(v)+4, v)
	}
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" class="a">0 s</text><text x="%.0f" y="%.0f" class="a" text-anchor="end">%.0f s</text>`, left, H-8, W-right, H-8, end)
	line := func(values []int, color string) {
		var pts strings.Builder
		for i, v := range values {
			if i < len(offsets) {
				fmt.Fprintf(&pts, "%.1f,%.1f ", x(offsets[i]), y(float64(v)))
			}
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>`, color, strings.TrimSpace(pts.String()))
	}
	if waiting != nil {
		line(waiting, "#ff7f0e")
	}
	line(executing, "#1f77b4")
	fmt.Fprintf(&b, `<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" stroke="#2ca02c" stroke-width="2" stroke-dasharray="6 4"/><text x="%.0f" y="%.1f" class="a">mean %.2f</text>`,
		left, W-right, y(mean), y(mean), W-right-90, y(mean)-4, mean)
	if limit > 0 {
		ly := y(limit) - 4
		if ly < top+12 { // no room above the line: label it below
			ly = y(limit) + 12
		}
		fmt.Fprintf(&b, `<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" stroke="#d62728" stroke-width="1"/><text x="%.0f" y="%.1f" class="a">limit %s seats</text>`,
			left, W-right, y(limit), y(limit), left+4, ly, template.HTMLEscapeString(limitLabel))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

var htmlTemplate = template.Must(template.New("measure").Funcs(template.FuncMap{
	"bytes": bytesText,
	"limit": limitText,
	"f2":    func(f float64) string { return fmt.Sprintf("%.2f", f) },
	"f0":    func(f float64) string { return fmt.Sprintf("%.0f", f) },
	"time":  func(t interface{ Format(string) string }) string { return t.Format("2006-01-02 15:04:05") },
	"join":  func(s []string) string { return output.Text(strings.Join(s, " ")) },
	// Names from the cluster and the command line: escaped as in the
	// table, so the page holds no control byte.
	"t": output.Text,
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>premortem measure</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;max-width:1200px}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ddd}h3{font-size:1em}
table{border-collapse:collapse;margin:.5em 0}td,th{padding:2px 8px;border-bottom:1px solid #eee;text-align:right;white-space:nowrap}
td:first-child,th:first-child,td.l,th.l{text-align:left}th{background:#f5f5f5}
.a{font:11px sans-serif;fill:#555}.g{stroke:#e5e5e5}.note{color:#555;max-width:60em}
</style></head><body>
<h1>premortem measure</h1>
<p>{{time .R.Start}} to {{time .R.End}} UTC ({{f2 .R.Seconds}} s), priority levels sampled every {{.R.IntervalSeconds}} s.
{{if .R.Command}}Command: <code>{{join .R.Command}}</code>{{if .R.CommandError}} (failed: {{t .R.CommandError}}){{end}}.{{end}}</p>
{{if .R.NotRead}}<h2>Not read: the measurement is incomplete</h2><ul>{{range .R.NotRead}}<li>{{t .}}</li>{{end}}</ul>{{end}}
<h2>API servers</h2>
<table><tr><th>server</th><th class="l">via</th><th>requests</th><th>429</th><th>CPU seconds</th><th>egress</th><th>watchers</th><th>executing peak</th><th>mean</th><th>samples</th></tr>
{{range .R.Servers}}<tr><td>{{t .Server}}</td><td class="l">{{.Via}}</td><td>{{.RequestsTotal}}</td><td>{{.Throttled}}</td><td>{{f2 .CPUSeconds}}</td><td>{{bytes .EgressBytes}}</td><td>{{.WatchersAfter}}</td><td>{{.Executing.Peak}}</td><td>{{f2 .Executing.Mean}}</td><td>{{.SamplesTaken}}</td></tr>{{end}}
<tr><th>total</th><th></th><th>{{.R.Total.RequestsTotal}}</th><th>{{.R.Total.Throttled}}</th><th>{{f2 .R.Total.CPUSeconds}}</th><th>{{bytes .R.Total.EgressBytes}}</th><th>{{.R.Total.WatchersAfter}}</th><th>{{.R.Total.Executing.Peak}}</th><th>{{f2 .R.Total.Executing.Mean}}</th><th></th></tr></table>
{{range .Servers}}<h2>{{t .Server}}</h2>
<table><tr><th>level</th><th>limit seats</th><th>peak executing</th><th>mean</th><th>p99</th><th>peak waiting</th><th>seconds at limit</th></tr>
{{range .Levels}}<tr><td>{{t .Name}}</td><td>{{limit .}}</td><td>{{.Executing.Peak}}</td><td>{{f2 .Executing.Mean}}</td><td>{{.Executing.P99}}</td><td>{{.Waiting.Peak}}</td><td>{{f0 .SecondsAtLimit}}</td></tr>{{end}}</table>
<p class="note">Blue: executing requests per sample; orange: waiting; dashed green: the mean over the window; red: the level's limit in seats.</p>
{{range .Charts}}<h3>{{t .Title}}</h3>{{.SVG}}{{end}}
{{end}}
<h2>Requests by verb and resource</h2>
<table><tr><th class="l">verb</th><th class="l">resource</th><th>requests</th><th>429</th><th>response bytes</th></tr>
{{range .R.Total.Requests}}<tr><td class="l">{{t .Verb}}</td><td class="l">{{t .Resource}}</td><td>{{.Requests}}</td><td>{{.Throttled}}</td><td>{{bytes .ResponseBytes}}</td></tr>{{end}}</table>
{{with .R.Headroom}}<h2>N-1 headroom: an estimate</h2><p>{{t .Summary}}</p>
{{if .Remaining}}<table><tr><th>server</th><th>watchers</th><th>after</th><th>requests/s</th><th>after</th><th>CPU cores</th><th>after</th><th>egress/s</th><th>after</th><th>re-lists</th><th>re-list bytes</th></tr>
{{range .Remaining}}<tr><td>{{t .Server}}</td><td>{{.Watchers}}</td><td>{{.WatchersAfter}}</td><td>{{f2 .RequestsPerSecond}}</td><td>{{f2 .RequestsPerSecondAfter}}</td><td>{{f2 .CPUCores}}</td><td>{{f2 .CPUCoresAfter}}</td><td>{{bytes .EgressBytesPerSecond}}</td><td>{{bytes .EgressBytesPerSecondAfter}}</td><td>{{.Relists}}</td><td>{{bytes .RelistBytes}}</td></tr>{{end}}</table>{{end}}
<ul class="note">{{range .Assumptions}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{if .R.Notes}}<h2>Notes</h2><ul class="note">{{range .R.Notes}}<li>{{t .}}</li>{{end}}</ul>{{end}}
</body></html>
`))
