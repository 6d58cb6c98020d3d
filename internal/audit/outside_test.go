package audit

import (
	"bytes"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/premortem/premortem/internal/output/outputtest"
)

// classifyUpgrade knows GenerateUpgrade's cluster: the kubelet's node
// address and the pod network 10.67.0.0/16.
func classifyUpgrade(a netip.Addr) string {
	switch {
	case a == netip.MustParseAddr("10.64.0.11"):
		return "node"
	case netip.MustParsePrefix("10.67.0.0/16").Contains(a):
		return "pod"
	}
	return ""
}

func TestOutsideIdentities(t *testing.T) {
	before, after := upgradeLogs(t)
	in := []Input{StringInput("before.log", before), StringInput("after.log", after)}
	for _, tt := range []struct {
		name       string
		max        int
		users      []string
		dropped    int64
		chunk, wks int
	}{
		{"all", 0, []string{"alice", "toolschecker"}, 0, 0, 0},
		// Small chunks over two workers: identities merge across them.
		{"merged", 0, []string{"alice", "toolschecker"}, 0, 4096, 2},
		// The cap keeps the identity with most requests and counts the rest.
		{"capped", 1, []string{"alice"}, 24, 4096, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := Analyze(t.Context(), in, Options{ChunkSize: tt.chunk, Workers: tt.wks,
				Outside: &OutsideOptions{Classify: classifyUpgrade, MaxIdentities: tt.max}})
			if err != nil {
				t.Fatal(err)
			}
			o := rep.Outside
			var users []string
			for _, id := range o.Identities {
				users = append(users, id.User)
			}
			if strings.Join(users, ",") != strings.Join(tt.users, ",") || o.DroppedRequests != tt.dropped {
				t.Fatalf("identities %q dropped %d, want %q and %d", users, o.DroppedRequests, tt.users, tt.dropped)
			}
			if o.Requests["node"] != 120 || o.Requests["pod"] != 20+60+10+30 || o.Requests[ClassOutside] != 144 {
				t.Errorf("requests by class %v", o.Requests)
			}
			a := o.Identities[0]
			if a.Requests != 120 || !a.First.Equal(UpgradeBefore) || a.Last.Format("15:04:05.000") != "12:59:00.010" ||
				len(a.Sources) != 1 || a.Sources[0] != (NamedCount{Name: "192.0.2.10", Requests: 120}) ||
				len(a.UserAgents) != 1 || !strings.HasPrefix(a.UserAgents[0].Name, "kubectl/") {
				t.Errorf("alice %+v", a)
			}
		})
	}
}

// Every distinct source past 32 and user agent past 8 is counted, not kept.
func TestOutsideBounds(t *testing.T) {
	var b strings.Builder
	for i := range 40 {
		b.WriteString(`{"stage":"ResponseComplete","verb":"get","user":{"username":"vm"},"sourceIPs":["192.0.2.` + strconv.Itoa(i) + `"],` +
			`"userAgent":"agent-` + strconv.Itoa(i%10) + `","requestReceivedTimestamp":"2024-05-28T12:00:00Z","stageTimestamp":"2024-05-28T12:00:01Z"}` + "\n")
	}
	rep, err := Analyze(t.Context(), []Input{StringInput("vm.log", b.String())}, Options{Outside: &OutsideOptions{Classify: classifyUpgrade}})
	if err != nil {
		t.Fatal(err)
	}
	id := rep.Outside.Identities[0]
	if len(id.Sources) != maxOutsideSources || id.OtherSources != 8 || len(id.UserAgents) != maxOutsideUserAgents || id.OtherUserAgents != 8 || id.Requests != 40 {
		t.Errorf("sources %d (+%d), agents %d (+%d), requests %d", len(id.Sources), id.OtherSources, len(id.UserAgents), id.OtherUserAgents, id.Requests)
	}
}

// A client chooses its user agent: the comparison's tables escape it.
func TestWriteComparisonEscapes(t *testing.T) {
	line := `{"stage":"ResponseComplete","verb":"list","user":{"username":"` + jsonEscape(outputtest.Evil) + `"},"userAgent":"x",` +
		`"objectRef":{"resource":"` + jsonEscape(outputtest.Evil) + `"},"requestReceivedTimestamp":"2024-05-28T12:00:00Z","stageTimestamp":"2024-05-28T12:00:01Z"}` + "\n"
	c, err := Compare(t.Context(), []Input{StringInput("a", line)}, Options{}, []Input{StringInput("b", line)}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := WriteComparisonText(&out, c); err != nil {
		t.Fatal(err)
	}
	outputtest.CheckEscaped(t, "comparison", out.String(), "| forged")
}
