package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/premortem/premortem/internal/kube"
)

// measure runs one scan and prints what it cost.
func measure(ctx context.Context, auditLog string, cs kubernetes.Interface, binary string, args []string) error {
	fi, err := os.Stat(auditLog)
	if err != nil {
		return err
	}
	offset := fi.Size()
	before, err := serverMetrics(ctx, cs)
	if err != nil {
		return err
	}
	scan, err := runScan(ctx, binary, args)
	if err != nil {
		return err
	}
	time.Sleep(time.Second) // let the audit backend flush
	audit, err := readAudit(auditLog, offset)
	if err != nil {
		return err
	}
	after, err := serverMetrics(ctx, cs)
	if err != nil {
		return err
	}
	audit.cacheLists, audit.etcdLists = after.cacheLists-before.cacheLists, after.etcdLists-before.etcdLists
	audit.serverCPU = after.cpu - before.cpu
	report(os.Stdout, binary, args, scan, audit)
	return nil
}

// scanResult is what one scan cost premortem itself.
type scanResult struct {
	wall     time.Duration
	maxRSS   int64 // bytes
	exit     int
	stdout   int64
	readLine map[string]string // the "read cluster" log line's fields
	stderr   string
}

func runScan(ctx context.Context, binary string, args []string) (*scanResult, error) {
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = withoutGOMEMLIMIT(os.Environ())
	var stderr bytes.Buffer
	cw := &countWriter{}
	cmd.Stdout, cmd.Stderr = cw, &stderr
	start := time.Now()
	err := cmd.Run()
	res := &scanResult{wall: time.Since(start), stdout: cw.n, stderr: stderr.String()}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return nil, err
	}
	res.exit = cmd.ProcessState.ExitCode()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		res.maxRSS = ru.Maxrss * 1024 // kilobytes on Linux
	}
	res.readLine = map[string]string{}
	for _, line := range strings.Split(res.stderr, "\n") {
		if strings.Contains(line, `msg="read cluster"`) {
			for _, m := range regexp.MustCompile(`(\w+)=("[^"]*"|\S+)`).FindAllStringSubmatch(line, -1) {
				res.readLine[m[1]] = strings.Trim(m[2], `"`)
			}
		}
	}
	if res.exit == 2 {
		return nil, fmt.Errorf("scan failed (exit 2): %s", res.stderr)
	}
	return res, nil
}

type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// auditSummary is what the API server recorded of the scan.
type auditSummary struct {
	byVerb      map[string]int
	apiTime     time.Duration // summed request latencies
	longest     time.Duration // the longest request's latency
	longestURI  string
	chains      map[string]int // by kind and namespace ("" cluster-wide)
	kinds       map[string]bool
	nsChains    int // chains of one namespace (ConfigMap data)
	pages       map[string]int
	badFirst    []string // first pages without watch-cache semantics
	badContinue []string
	// From the API server's metrics: LISTs it answered from the watch cache
	// and list requests it sent to etcd while the scan ran (the lab runs no
	// controllers, so the scan is the only client).
	cacheLists, etcdLists float64
	// The API server's CPU seconds while the scan ran (its
	// process_cpu_seconds_total; with no controllers, mostly the scan's).
	serverCPU float64
}

// metricsSample is what serverMetrics reads of the API server's metrics.
type metricsSample struct{ cacheLists, etcdLists, cpu float64 }

// serverMetrics sums the API server's apiserver_cache_list_total and
// etcd_requests_total{operation="list"}, and reads its
// process_cpu_seconds_total.
func serverMetrics(ctx context.Context, cs kubernetes.Interface) (metricsSample, error) {
	var m metricsSample
	raw, err := cs.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return m, fmt.Errorf("read API server metrics: %w", err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		var sum *float64
		switch {
		case strings.HasPrefix(line, "apiserver_cache_list_total{"):
			sum = &m.cacheLists
		case strings.HasPrefix(line, "etcd_requests_total{") && strings.Contains(line, `operation="list"`):
			sum = &m.etcdLists
		case strings.HasPrefix(line, "process_cpu_seconds_total "):
			sum = &m.cpu
		default:
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndex(line, " ")+1:], 64)
		if err != nil {
			return m, fmt.Errorf("metrics line %q: %w", line, err)
		}
		*sum += v
	}
	return m, nil
}

func readAudit(path string, offset int64) (*auditSummary, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil, err
	}
	s := &auditSummary{byVerb: map[string]int{}, chains: map[string]int{}, kinds: map[string]bool{}, pages: map[string]int{}}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var ev struct {
			Stage, Verb, RequestURI, UserAgent string
			ObjectRef                          *struct{ Resource, APIGroup, Namespace string }
			RequestReceivedTimestamp           time.Time
			StageTimestamp                     time.Time
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return nil, err
		}
		if ev.Stage != "ResponseComplete" || !strings.HasPrefix(ev.UserAgent, "premortem/") {
			continue
		}
		s.byVerb[ev.Verb]++
		took := ev.StageTimestamp.Sub(ev.RequestReceivedTimestamp)
		s.apiTime += took
		if took > s.longest {
			s.longest, s.longestURI = took, ev.RequestURI
		}
		if ev.Verb != "list" {
			continue
		}
		u, err := url.Parse(ev.RequestURI)
		if err != nil {
			return nil, err
		}
		q := u.Query()
		kind, ns := u.Path, ""
		if ev.ObjectRef != nil {
			kind, ns = ev.ObjectRef.Resource, ev.ObjectRef.Namespace
			if ev.ObjectRef.APIGroup != "" {
				kind += "." + ev.ObjectRef.APIGroup
			}
		}
		s.pages[kind]++
		if q.Get("continue") != "" {
			if q.Get("resourceVersion") != "" {
				s.badContinue = append(s.badContinue, ev.RequestURI)
			}
			continue
		}
		s.chains[kind+" "+ns]++
		s.kinds[kind] = true
		if ns != "" {
			s.nsChains++
		}
		if q.Get("resourceVersion") != kube.FirstPageResourceVersion || q.Get("resourceVersionMatch") != "NotOlderThan" || q.Get("limit") == "" {
			s.badFirst = append(s.badFirst, ev.RequestURI)
		}
	}
	return s, sc.Err()
}
