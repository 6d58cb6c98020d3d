package audit

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// FuzzAnalyze feeds the line scanner (chunking, line numbers, the line
// maximum) hostile input: it must never panic, must count every line once,
// and must not depend on where chunks happen to be cut.
//
//	go test ./internal/audit -run '^$' -fuzz '^FuzzAnalyze$' -fuzztime 30s
func FuzzAnalyze(f *testing.F) {
	ok := tev{user: "u", verb: "get", resource: "pods", uri: "/api/v1/pods/x", start: at(0), end: at(time.Millisecond)}.line()
	f.Add([]byte(ok+ok), uint16(7))
	f.Add([]byte(ok+"not json\n\n"+ok[:100]), uint16(64))
	f.Add(bytes.Repeat([]byte("x"), 2000), uint16(100))
	f.Add([]byte("\n\n\r\n"+ok), uint16(1))
	f.Fuzz(func(t *testing.T, data []byte, chunk uint16) {
		if bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
			return // gzip: lines are those of the decompressed stream
		}
		run := func(size int) *Report {
			r, err := Analyze(context.Background(), []Input{StringInput("a", string(data))},
				Options{Workers: 2, ChunkSize: size, MaxLine: 512})
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		small, large := run(int(chunk%2048)+1), run(1<<16)
		want := int64(bytes.Count(data, []byte{'\n'}))
		if len(data) > 0 && data[len(data)-1] != '\n' {
			want++
		}
		if small.Lines != want || large.Lines != want {
			t.Fatalf("lines %d (chunk %d) and %d, want %d", small.Lines, chunk%2048+1, large.Lines, want)
		}
		if small.Events != large.Events || small.Malformed != large.Malformed || small.Total.Requests != large.Total.Requests {
			t.Fatalf("chunk %d: events %d malformed %d requests %d; chunk 64KiB: %d %d %d", chunk%2048+1,
				small.Events, small.Malformed, small.Total.Requests, large.Events, large.Malformed, large.Total.Requests)
		}
	})
}

// FuzzParseTarget: --deleted never panics, and a target it accepts is one.
func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"namespace/team-a", "deployment/team-a/web", "clusterrole/admin", "deployments.apps/ns/x", "", "/", "a//b", "pod/ns/x/y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ParseTarget(s)
	})
}
