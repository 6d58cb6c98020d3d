package measure

import (
	"bytes"
	"testing"
	"time"

	"github.com/premortem/premortem/internal/golden"
)

// goldenReport is two API servers over 10 one-second samples: one took a
// 2-second burst in workload-low (requests waited), the other stayed quiet.
func goldenReport() *Report {
	start := time.Date(2026, 12, 1, 12, 49, 0, 0, time.UTC)
	burst := seriesOf(1, 1, 2, 40, 56, 3, 1, 1, 1, 1)
	burst.add(10, []LevelSample{{Name: "workload-low", Executing: 0, Waiting: 0}})
	burst.Levels["global-default"].Waiting[4] = 12
	quiet := seriesOf(1, 0, 1, 2, 1, 1, 0, 1, 1, 1)
	a := serverReport(Server{URL: "https://10.64.0.117:6443", Via: ViaEndpointSlice},
		scrapeOf(1000, 120, 5e6, 400, 56), scrapeOf(2200, 151.5, 2.7e8, 420, 56), burst, time.Second)
	b := serverReport(Server{URL: "https://10.64.32.116:6443", Via: ViaEndpointSlice},
		scrapeOf(800, 100, 4e6, 300, 56), scrapeOf(1100, 108, 4.4e7, 300, 56), quiet, time.Second)
	r := &Report{Schema: Schema, Start: start, End: start.Add(11 * time.Second), Seconds: 11, IntervalSeconds: 1,
		Command: []string{"helmfile", "-e", "eqiad", "apply"}, Servers: []ServerReport{a, b},
		Notes: []string{"the kubeconfig server kubemaster.svc:6443 is not among the EndpointSlice's addresses: read as a name in front of them, not sampled itself"}}
	r.Total = totals(r.Servers, time.Second)
	r.Headroom = headroom(r.Servers, r.Seconds)
	return r
}

func TestGoldenOutputs(t *testing.T) {
	for _, format := range Writers.Formats() {
		t.Run(format, func(t *testing.T) {
			var b bytes.Buffer
			if err := Writers.Write(&b, format, goldenReport()); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, "testdata/report."+format+".golden", b.Bytes())
		})
	}
}
