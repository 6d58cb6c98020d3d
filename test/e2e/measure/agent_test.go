package measure_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/premortem/premortem/internal/cli"
	"github.com/premortem/premortem/lab"
)

// TestAgentSample: `premortem agent --apiserver-sample 1s` serves, per API
// server and priority level, the peak of executing requests since the last
// scrape: a burst between two scrapes shows in the second, and the next
// scrape, with no burst, starts a new window.
func TestAgentSample(t *testing.T) {
	needLab(t)
	burst := burstClient(t)
	listen, err := lab.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var out syncBuffer
	go func() {
		done <- cli.Run(ctx, []string{"agent", "--kubeconfig", cluster.Kubeconfig, "--listen", listen, "--apiserver-sample", "1s",
			"--only", "apiservice-unavailable"}, cli.Streams{Out: &out, ErrOut: &out})
	}()
	defer func() {
		cancel()
		if code := <-done; code != cli.ExitOK {
			t.Errorf("agent exit %d\n%s", code, out.String())
		}
	}()

	scrape := func() string {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			resp, err := http.Get("http://" + listen + "/metrics")
			if err == nil {
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				return string(body)
			}
			if time.Now().After(deadline) {
				t.Fatalf("agent /metrics: %v\n%s", err, out.String())
			}
		}
	}
	peak := func(metrics string) int {
		t.Helper()
		re := regexp.MustCompile(`premortem_apiserver_executing_requests_peak\{apiserver="` + regexp.QuoteMeta(cluster.Server) + `",priority_level="global-default"\} (\d+)`)
		m := re.FindStringSubmatch(metrics)
		if m == nil {
			t.Fatalf("no global-default peak in:\n%s", metrics)
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	scrape()
	time.Sleep(3 * time.Second)
	before := scrape()
	burstLists(t, burst)
	time.Sleep(1500 * time.Millisecond)
	during := scrape()
	time.Sleep(3 * time.Second)
	after := scrape()
	t.Logf("global-default peak: %d before, %d with the burst, %d after", peak(before), peak(during), peak(after))
	if peak(during) < 10 || peak(after) >= peak(during) {
		t.Errorf("the burst does not stand out: peaks %d before, %d with it, %d after", peak(before), peak(during), peak(after))
	}
	atLimit := regexp.MustCompile(`premortem_apiserver_seconds_at_limit_total\{apiserver="[^"]+",priority_level="global-default"\} (\S+)`).FindStringSubmatch(after)
	if atLimit == nil {
		t.Errorf("no seconds-at-limit counter:\n%s", after)
	} else {
		t.Logf("global-default seconds at the limit: %s", atLimit[1])
	}
}

// syncBuffer is the agent's stdout and stderr, written while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
