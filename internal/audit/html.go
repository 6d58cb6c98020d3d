package audit

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// WriteHTML writes the report as one self-contained HTML file: inline CSS
// and SVG charts, no script, nothing fetched from the network.
func WriteHTML(w io.Writer, r *Report) error {
	data := struct {
		R           *Report
		Timeline    template.HTML
		Concurrency template.HTML
		Bursts      []burstView
	}{R: r}
	if len(r.Timeline.Series) > 0 {
		step := stepName(r.Timeline.StepSeconds)
		var marks []chartMark
		for i, b := range r.Timeline.Bursts {
			marks = append(marks, chartMark{From: b.From, To: b.To, Label: strconv.Itoa(i + 1)})
		}
		q, c := chartData(r.Timeline.Series)
		data.Timeline = lineChart("Query seconds per "+step, q, r.Timeline, marks)
		data.Concurrency = lineChart("Peak requests in flight per "+step, c, r.Timeline, marks)
	}
	for i, b := range r.Timeline.Bursts {
		q, c := chartData(b.Window.Series)
		mark := []chartMark{{From: b.From, To: b.To, Label: strconv.Itoa(i + 1)}}
		data.Bursts = append(data.Bursts, burstView{Burst: b, N: i + 1, Minutes: int(b.To.Sub(b.From).Minutes()),
			Query:  lineChart("Burst "+strconv.Itoa(i+1)+": query seconds per minute", q, b.Window, mark),
			Flight: lineChart("Burst "+strconv.Itoa(i+1)+": peak requests in flight per minute", c, b.Window, mark)})
	}
	return htmlTemplate.Execute(w, data)
}

// burstView is one burst with its charts.
type burstView struct {
	Burst
	N, Minutes    int
	Query, Flight template.HTML
}

// chartData splits series into query seconds and peaks in flight.
func chartData(series []Series) (q, c []chartSeries) {
	for _, s := range series {
		q = append(q, chartSeries{Name: s.User, Values: s.QuerySeconds})
		pv := make([]float64, len(s.PeakInFlight))
		for i, v := range s.PeakInFlight {
			pv[i] = float64(v)
		}
		c = append(c, chartSeries{Name: s.User, Values: pv})
	}
	return q, c
}

// chartMark shades a stretch of a chart's time axis: a burst, numbered.
type chartMark struct {
	From, To time.Time
	Label    string
}

type chartSeries struct {
	Name   string
	Values []float64
}

var palette = []string{"#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"}

// lineChart draws one SVG line chart with a legend, the marks shaded
// behind the lines.
func lineChart(title string, series []chartSeries, t Timeline, marks []chartMark) template.HTML {
	const W, H, left, right, top, bottom = 960.0, 300.0, 60.0, 20.0, 30.0, 40.0
	peak := 0.0
	for _, s := range series {
		for _, v := range s.Values {
			peak = math.Max(peak, v)
		}
	}
	if peak == 0 {
		peak = 1
	}
	n := t.Steps
	x := func(i int) float64 {
		if n <= 1 {
			return left
		}
		return left + float64(i)*(W-left-right)/float64(n-1)
	}
	y := func(v float64) float64 { return top + (H-top-bottom)*(1-v/peak) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" width="100%%" role="img"><title>%s</title>`, W, H+20*float64((len(series)+3)/4), template.HTMLEscapeString(title))
	fmt.Fprintf(&b, `<text x="%.0f" y="18" class="t">%s</text>`, left, template.HTMLEscapeString(title))
	// Axes and grid.
	for i := 0; i <= 4; i++ {
		v := peak * float64(i) / 4
		fmt.Fprintf(&b, `<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" class="g"/><text x="%.0f" y="%.1f" class="a" text-anchor="end">%s</text>`,
			left, W-right, y(v), y(v), left-6, y(v)+4, axisLabel(v))
	}
	// A mark covers the steps its minutes fall in, and is never thinner
	// than a few pixels, however long the log.
	for _, m := range marks {
		if n <= 1 || t.StepSeconds <= 0 {
			break
		}
		// Point i stands for step i: the band runs half a step either
		// side of the points of the marked steps.
		step := float64(t.StepSeconds)
		x0 := x(0) + (m.From.Sub(t.Start).Seconds()/step-0.5)*(W-left-right)/float64(n-1)
		x1 := x(0) + (m.To.Sub(t.Start).Seconds()/step-0.5)*(W-left-right)/float64(n-1)
		x0, x1 = max(x0, left), min(x1, W-right)
		if x1-x0 < 8 {
			mid := (x0 + x1) / 2
			x0, x1 = mid-4, mid+4
		}
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.0f" width="%.1f" height="%.0f" class="m"/><text x="%.1f" y="%.0f" class="ml" text-anchor="middle">%s</text>`,
			x0, top, x1-x0, H-top-bottom, (x0+x1)/2, top-4, template.HTMLEscapeString(m.Label))
	}
	end := t.Start.Add(time.Duration(int64(max(n-1, 0))*t.StepSeconds) * time.Second)
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" class="a">%s</text><text x="%.0f" y="%.0f" class="a" text-anchor="end">%s UTC</text>`,
		left, H-bottom+16, t.Start.Format("2006-01-02 15:04"), W-right, H-bottom+16, end.Format("2006-01-02 15:04"))
	for si, s := range series {
		color := palette[si%len(palette)]
		var pts strings.Builder
		for i, v := range s.Values {
			fmt.Fprintf(&pts, "%.1f,%.1f ", x(i), y(v))
		}
		if n == 1 {
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`, x(0), y(s.Values[0]), color)
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>`, color, strings.TrimSpace(pts.String()))
		lx := left + float64(si%4)*(W-left-right)/4
		ly := H + float64(si/4)*20
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="10" height="10" fill="%s"/><text x="%.0f" y="%.0f" class="a">%s</text>`,
			lx, ly-9, color, lx+14, ly, template.HTMLEscapeString(truncate(s.Name, 34)))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func axisLabel(v float64) string {
	if v >= 10 || v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

var htmlTemplate = template.Must(template.New("audit").Funcs(template.FuncMap{
	"dur":    duration,
	"ms":     millis,
	"pct":    percent,
	"time":   func(t time.Time) string { return t.Format(timeMillis) },
	"minute": func(t time.Time) string { return t.Format("2006-01-02 15:04") },
	"short":  func(s string) string { return truncate(s, 48) },
	// breakable lets a long identity wrap after its colons
	// (system:serviceaccount:kube-system:generic-garbage-collector).
	"breakable": func(s string) template.HTML {
		return template.HTML(strings.ReplaceAll(template.HTMLEscapeString(s), ":", ":<wbr>"))
	},
	"timep":   func(t *time.Time) string { return t.Format(timeMillis) },
	"join":    strings.Join,
	"objname": objectName,
	"objlist": objectList,
	"deref":   func(f *float64) float64 { return *f },
	"first": func(ls []NamedLoad) string {
		if len(ls) == 0 {
			return ""
		}
		return ls[0].Name
	},
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>premortem audit</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em auto;padding:0 2em;color:#222;max-width:1500px}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ddd}h3{font-size:1em;margin:1.5em 0 .3em}
p,li{overflow-wrap:anywhere}
.scroll{overflow-x:auto;max-width:100%;margin:.5em 0}
table{border-collapse:collapse}td,th{padding:2px 8px;border-bottom:1px solid #eee;text-align:right;white-space:nowrap}
td:first-child,th:first-child,td.l,th.l{text-align:left}th{background:#f5f5f5;white-space:normal;vertical-align:bottom}
svg{display:block;max-width:100%;height:auto}
.t{font:bold 14px sans-serif}.a{font:11px sans-serif;fill:#555}.g{stroke:#e5e5e5}
.m{fill:#f9ab00;fill-opacity:.3}.ml{font:bold 12px sans-serif;fill:#b06000}
td.w{white-space:normal;overflow-wrap:anywhere;min-width:18em;text-align:left}td.u{white-space:normal;min-width:18em}
.note{color:#555;max-width:60em}code{background:#f5f5f5;padding:0 3px}
@media (max-width:600px){body{margin:1em auto;padding:0 .8em}}
@media print{body{max-width:none;margin:0;padding:0}.scroll{overflow:visible}}
</style></head><body>
<h1>premortem audit</h1>
<p>{{.R.Events}} events in {{.R.Lines}} lines from {{len .R.Inputs}} input(s){{if not .R.From.IsZero}}, {{time .R.From}} to {{time .R.To}}{{end}}.
{{.R.Total.Requests}} completed requests, {{dur .R.Total.QuerySeconds}} of query time; {{.R.Total.LongRunning}} long-running; {{.R.Total.Throttled}} throttled (429); {{.R.Total.ServerErrors}} server errors.</p>
{{if .R.Malformed}}<p>{{.R.Malformed}} malformed lines, first: {{range .R.MalformedExamples}}<code>{{.File}}:{{.Line}}: {{.Error}}</code> {{end}}</p>{{end}}
{{range .R.Inputs}}{{if .Truncated}}<p><b>{{.Name}}</b>: {{.Truncated}}</p>{{end}}{{end}}
{{with .R.Deletion}}
<h2>Deletion of {{.Target}}</h2>
{{with .Request}}<p>Delete request: {{time .Time}} by <b>{{.User}}</b> ({{.UserAgent}}) from {{join .SourceIPs ", "}}, code {{.Code}}, auditID <code>{{.AuditID}}</code></p>{{end}}
{{if .CascadeStart}}<p>Cascade: {{.CascadeDeletes}} deletes from {{timep .CascadeStart}} to {{timep .CascadeEnd}}, starting <b>{{dur (deref .GapSeconds)}}</b> after the request.</p>
<div class="scroll"><table><tr><th>actor</th><th class="l">verb</th><th class="l">resource</th><th>count</th><th>removed</th><th>first</th><th>last</th><th class="l">user</th></tr>
{{range .Cascade}}<tr><td>{{.Actor}}</td><td class="l">{{.Verb}}</td><td class="l">{{.Resource}}</td><td>{{.Count}}</td><td>{{.Removed}}</td><td>{{time .First}}</td><td>{{time .Last}}</td><td class="l">{{.User}}</td></tr>{{end}}</table></div>{{end}}
{{with .LastRemoved}}<p>Last object removed: {{objname .}} at {{time .Time}} by {{.User}}{{if .ObjectCount}} (removed {{.ObjectCount}}: {{objlist .}}){{end}}</p>{{end}}
{{if .KnownObjects}}<p>Known contents: {{.KnownObjects}} objects created in these logs were in the namespace at the request{{if .Remaining}}; not seen removed: {{join .Remaining " "}}{{end}}.</p>{{end}}
{{range .OtherDeletes}}<p>Other delete after the request: {{time .Time}} by {{.User}} ({{.UserAgent}}): {{objname .}}</p>{{end}}
{{with .Removed}}<p>Namespace finalized: {{time .Time}} by {{.User}}</p>{{end}}
{{range .Notes}}<p class="note">{{.}}</p>{{end}}
{{else}}
<h2>Load over time</h2>
{{.Timeline}}
{{.Concurrency}}
{{with .Bursts}}<h2>Bursts</h2>
<p class="note">Minutes whose query time stands far above the rest of the log, shaded and numbered above, each drawn here a minute per point with the minutes around it and the users that loaded the API server most then.</p>
{{range .}}<h3>Burst {{.N}}: {{minute .From}} to {{minute .To}} UTC ({{.Minutes}} min)</h3>
<p>{{.Requests}} completed requests, {{dur .QuerySeconds}} of query time{{with .Window.Series}}; most from <b>{{(index . 0).User}}</b>{{end}}.</p>
{{.Query}}
{{.Flight}}
{{end}}{{end}}
<h2>Load by user</h2>
<div class="scroll"><table><tr><th>user</th><th>requests</th><th>query time</th><th>share</th><th>p50</th><th>p99</th><th>max</th><th>peak in flight</th><th>mean in flight</th><th>429</th><th>5xx</th><th>long-running</th><th>sources</th><th class="l">top user agent</th></tr>
{{range .R.Users}}<tr><td class="u">{{breakable .Name}}</td><td>{{.Requests}}</td><td>{{dur .QuerySeconds}}</td><td>{{pct .Share}}</td><td>{{ms .P50ms}}</td><td>{{ms .P99ms}}</td><td>{{ms .MaxMs}}</td><td>{{.PeakInFlight}}</td><td>{{printf "%.2f" .MeanInFlight}}</td><td>{{.Throttled}}</td><td>{{.ServerErrors}}</td><td>{{.LongRunning}}</td><td>{{.Sources}}</td><td class="w" title="{{first .UserAgents}}">{{short (first .UserAgents)}}</td></tr>{{end}}</table></div>
<h2>Load by user agent</h2>
<div class="scroll"><table><tr><th>user agent</th><th>requests</th><th>query time</th><th>share</th><th>p50</th><th>p99</th><th>max</th><th>429</th><th>5xx</th><th>long-running</th></tr>
{{range .R.UserAgents}}<tr><td>{{.Name}}</td><td>{{.Requests}}</td><td>{{dur .QuerySeconds}}</td><td>{{pct .Share}}</td><td>{{ms .P50ms}}</td><td>{{ms .P99ms}}</td><td>{{ms .MaxMs}}</td><td>{{.Throttled}}</td><td>{{.ServerErrors}}</td><td>{{.LongRunning}}</td></tr>{{end}}</table></div>
<h2>Load by verb and resource</h2>
<div class="scroll"><table><tr><th>verb resource</th><th>requests</th><th>query time</th><th>share</th><th>p50</th><th>p99</th><th>max</th><th>429</th><th>5xx</th><th>long-running</th></tr>
{{range .R.VerbResources}}<tr><td>{{.Name}}</td><td>{{.Requests}}</td><td>{{dur .QuerySeconds}}</td><td>{{pct .Share}}</td><td>{{ms .P50ms}}</td><td>{{ms .P99ms}}</td><td>{{ms .MaxMs}}</td><td>{{.Throttled}}</td><td>{{.ServerErrors}}</td><td>{{.LongRunning}}</td></tr>{{end}}</table></div>
<h2>LIST reads by semantics</h2>
<div class="scroll"><table><tr><th>class</th><th>lists</th><th>query time</th><th>with selector</th><th>cluster-wide</th><th class="l">served from</th></tr>
{{range .R.Lists.Classes}}<tr><td>{{.Class}}</td><td>{{.Count}}</td><td>{{dur .QuerySeconds}}</td><td>{{.Selector}}</td><td>{{.ClusterWide}}</td><td class="w">{{.Served}}</td></tr>{{end}}</table></div>
{{if .R.Lists.Clients}}<h3>Clients making LISTs that may read etcd</h3>
<div class="scroll"><table><tr><th>user</th><th>lists</th><th>query time</th><th>with selector</th><th>cluster-wide</th><th>peak in flight</th><th class="l">user agent</th></tr>
{{range .R.Lists.Clients}}<tr><td class="u">{{breakable .User}}</td><td>{{.Count}}</td><td>{{dur .QuerySeconds}}</td><td>{{.Selector}}</td><td>{{.ClusterWide}}</td><td>{{.PeakInFlight}}</td><td class="w">{{.UserAgent}}</td></tr>{{end}}</table></div>{{end}}
<p class="note">{{.R.Lists.Caveat}}</p>
<ul class="note">{{range .R.Lists.Metrics}}<li><code>{{.}}</code></li>{{end}}</ul>{{if .R.FanOut}}
<h2>LIST fan-out after deletes</h2>
<p class="note">LISTs made while another identity's DELETE was in flight: an admission webhook's backend listing on each call. Validating webhooks leave no annotation unless they fail open: the backend is the user.</p>
<div class="scroll"><table><tr><th>user</th><th class="l">trigger</th><th>deletes</th><th>bursts</th><th>lists</th><th>fan-out</th><th>max</th><th>peak in flight</th><th>may read etcd</th><th>query time</th><th class="l">listed</th><th class="l">deleted by</th><th class="l">webhooks</th></tr>
{{range .R.FanOut}}<tr><td class="u">{{breakable .User}}</td><td class="w">{{.Trigger}}</td><td>{{.Deletes}}</td><td>{{.Bursts}}</td><td>{{.Lists}}</td><td>{{printf "%.1f" .FanOutFactor}}</td><td>{{.MaxBurst}}</td><td>{{.PeakInFlight}}</td><td>{{.MayReadEtcd}}</td><td>{{dur .QuerySeconds}}</td><td class="w">{{range .Listed}}{{.Name}}:{{.Requests}} {{end}}</td><td class="w">{{range .Deleters}}{{.Name}}:{{.Requests}} {{end}}</td><td class="w">{{range .Webhooks}}{{.}} {{end}}</td></tr>{{end}}</table></div>{{end}}
{{end}}
</body></html>
`))
