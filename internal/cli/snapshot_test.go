package cli

import (
	"bytes"
	"testing"

	"github.com/premortem/premortem/internal/kube"
)

func TestProgressLine(t *testing.T) {
	var buf bytes.Buffer
	update, stop := progressLine(&buf)
	update(kube.Progress{KindsDone: 0, KindsTotal: 3, Items: 500})
	update(kube.Progress{KindsDone: 1, KindsTotal: 3, Items: 1000}) // within 100ms: not drawn
	update(kube.Progress{KindsDone: 3, KindsTotal: 3, Items: 1200}) // the last is always drawn
	stop()
	want := "\rreading: 0/3 kinds, 500 objects \rreading: 3/3 kinds, 1200 objects \r\x1b[K"
	if got := buf.String(); got != want {
		t.Errorf("progress = %q, want %q", got, want)
	}
}
