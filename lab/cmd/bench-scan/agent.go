package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/premortem/premortem/lab"
)

// measureAgent runs `premortem agent` against the lab for window after it
// is ready, and reports its time to ready, its resident memory once
// steady, and the requests it sent, from the audit log (make bench-agent).
func measureAgent(ctx context.Context, auditLog, kubeconfig, binary string, window time.Duration) error {
	addr, err := lab.FreeAddr()
	if err != nil {
		return err
	}
	start, err := fileSize(auditLog)
	if err != nil {
		return err
	}
	args := []string{"agent", "--kubeconfig", kubeconfig, "--listen", addr, "-v"}
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = withoutGOMEMLIMIT(os.Environ())
	cmd.Stderr = os.Stderr
	began := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	client := &http.Client{Timeout: 10 * time.Second}
	get := func(path string) int {
		resp, err := client.Get("http://" + addr + path)
		if err != nil {
			return 0
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	var peakBefore int64
	for get("/readyz") != http.StatusOK {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if rss, err := rssOf(cmd.Process.Pid); err == nil {
			peakBefore = max(peakBefore, rss)
		}
		time.Sleep(100 * time.Millisecond)
	}
	ready := time.Since(began)
	for get("/findings") != http.StatusOK {
		time.Sleep(100 * time.Millisecond)
	}
	firstEval := time.Since(began)
	fmt.Fprintf(os.Stderr, "bench-scan: agent ready in %s; steady window of %s\n", ready.Round(time.Millisecond), window)
	steadyFrom, err := fileSize(auditLog)
	if err != nil {
		return err
	}
	var samples []int64
	var peak int64
	end := time.Now().Add(window)
	for time.Now().Before(end) {
		rss, err := rssOf(cmd.Process.Pid)
		if err != nil {
			return fmt.Errorf("agent exited: %w", err)
		}
		samples = append(samples, rss)
		peak = max(peak, rss)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Second):
		}
	}
	heap := scrape(client, "http://"+addr+"/metrics", "go_memstats_heap_inuse_bytes")
	time.Sleep(time.Second) // let the audit backend flush
	initial, err := agentRequests(auditLog, start, steadyFrom)
	if err != nil {
		return err
	}
	steady, err := agentRequests(auditLog, steadyFrom, -1)
	if err != nil {
		return err
	}
	w := os.Stdout
	fmt.Fprintf(w, "\n%s %s\n", binary, strings.Join(args, " "))
	fmt.Fprintf(w, "  ready in %s (first evaluation at %s); peak RSS before ready %s\n", ready.Round(time.Millisecond), firstEval.Round(time.Millisecond), mib(peakBefore))
	fmt.Fprintf(w, "  until ready: %s\n", initial)
	fmt.Fprintf(w, "  steady RSS over %s: last %s, peak %s; Go heap in use at the end %s\n", window, mib(samples[len(samples)-1]), mib(peak), mib(heap))
	hours := window.Hours()
	fmt.Fprintf(w, "  steady requests: %s; per hour: %.0f (LIST %.0f)\n", steady, float64(steady.total)/hours, float64(steady.byVerb["list"])/hours)
	return nil
}

// requestCount is what the agent asked of the API server in a span of the
// audit log: each request once (a watch when its response starts).
type requestCount struct {
	total        int
	byVerb       map[string]int
	initialWatch int // watches that stream the initial state (sendInitialEvents)
}

func (r requestCount) String() string {
	return fmt.Sprintf("%d requests %v, %d streaming initial state", r.total, r.byVerb, r.initialWatch)
}

// agentRequests counts the agent's requests logged between offsets from and
// to (-1: the end).
func agentRequests(path string, from, to int64) (requestCount, error) {
	c := requestCount{byVerb: map[string]int{}}
	f, err := os.Open(path)
	if err != nil {
		return c, err
	}
	defer f.Close()
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		return c, err
	}
	var r io.Reader = f
	if to >= 0 {
		r = io.LimitReader(f, to-from)
	}
	started := map[string]bool{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var ev struct {
			AuditID, Stage, Verb, RequestURI, UserAgent string
			ResponseStatus                              *struct{ Code int }
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return c, err
		}
		if !strings.HasPrefix(ev.UserAgent, "premortem/") {
			continue
		}
		switch {
		case ev.Stage == "ResponseStarted":
			started[ev.AuditID] = true
		case ev.Stage == "ResponseComplete" && !started[ev.AuditID] &&
			!(ev.Verb == "watch" && ev.ResponseStatus != nil && ev.ResponseStatus.Code == 200):
		default:
			continue
		}
		c.total++
		c.byVerb[ev.Verb]++
		if u, err := url.Parse(ev.RequestURI); err == nil && ev.Verb == "watch" && u.Query().Get("sendInitialEvents") == "true" {
			c.initialWatch++
		}
	}
	return c, sc.Err()
}

// scrape returns the value of an unlabelled metric on a /metrics page, or
// 0.
func scrape(client *http.Client, url, name string) int64 {
	resp, err := client.Get(url)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err == nil {
				return int64(f)
			}
		}
	}
	return 0
}

// rssOf is a process's resident set size in bytes.
func rssOf(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS for %d", pid)
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

func fileSize(path string) (int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

func withoutGOMEMLIMIT(env []string) []string {
	var out []string
	for _, e := range env {
		if !strings.HasPrefix(e, "GOMEMLIMIT=") {
			out = append(out, e)
		}
	}
	return out
}
