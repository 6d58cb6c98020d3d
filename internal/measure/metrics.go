package measure

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/premortem/premortem/internal/sizelimit"
)

// series is one line of the Prometheus text format: a metric name, its
// labels and its value.
type series struct {
	name   string
	labels map[string]string
	value  float64
}

// Bounds on one /metrics answer. A large API server exposes tens of MB; the
// parser keeps only the families measure reads, so memory follows what is
// kept, not what is sent.
const (
	maxMetricsLine   = 64 << 10
	maxKeptSeries    = 200_000
	defaultMaxScrape = 256 << 20
)

// parseMetrics reads the Prometheus text exposition format (version 0.0.4)
// from r, keeping the series of the families keep accepts. It stops with
// an error past maxBytes, on a line longer than maxMetricsLine, on more
// than maxKeptSeries kept series, and on a line it cannot read: a
// half-understood answer must not become a wrong delta.
func parseMetrics(r io.Reader, maxBytes int64, keep func(name string) bool) ([]series, error) {
	lr := &io.LimitedReader{R: r, N: maxBytes + 1}
	br := bufio.NewReaderSize(lr, 64<<10)
	var out []series
	for lineNo := 1; ; lineNo++ {
		line, err := readLine(br)
		if lr.N <= 0 {
			return nil, &sizelimit.Error{Limit: "response", Max: sizelimit.Size(maxBytes)}
		}
		if err == io.EOF && line == "" {
			return out, nil
		}
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("line %d: %w", lineNo, err)
		}
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest := cutName(line)
		if name == "" {
			return nil, fmt.Errorf("line %d: no metric name", lineNo)
		}
		if !keep(name) {
			continue
		}
		s := series{name: name}
		if strings.HasPrefix(rest, "{") {
			if s.labels, rest, err = parseLabels(rest[1:]); err != nil {
				return nil, fmt.Errorf("line %d: %s: %w", lineNo, name, err)
			}
		}
		fields := strings.Fields(rest)
		if len(fields) < 1 || len(fields) > 2 {
			return nil, fmt.Errorf("line %d: %s: want a value and an optional timestamp", lineNo, name)
		}
		if s.value, err = strconv.ParseFloat(fields[0], 64); err != nil {
			return nil, fmt.Errorf("line %d: %s: value: %w", lineNo, name, err)
		}
		if len(out) >= maxKeptSeries {
			return nil, fmt.Errorf("more than %d series of the metrics measure reads", maxKeptSeries)
		}
		out = append(out, s)
	}
}

var errLongLine = errors.New("line longer than 64 KiB")

// readLine returns the next line without its newline.
func readLine(br *bufio.Reader) (string, error) {
	var b []byte
	for {
		part, isPrefix, err := br.ReadLine()
		b = append(b, part...)
		if len(b) > maxMetricsLine {
			return "", errLongLine
		}
		if err != nil {
			return string(b), err
		}
		if !isPrefix {
			return string(b), nil
		}
	}
}

func cutName(line string) (name, rest string) {
	i := strings.IndexAny(line, "{ \t")
	if i < 0 {
		return line, ""
	}
	return line[:i], line[i:]
}

// parseLabels reads `a="x",b="y"}` (after the opening brace) and returns
// the labels and what follows the closing brace.
func parseLabels(s string) (map[string]string, string, error) {
	labels := map[string]string{}
	for {
		s = strings.TrimLeft(s, " ")
		if strings.HasPrefix(s, "}") {
			return labels, s[1:], nil
		}
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			return nil, "", errors.New("label without a value")
		}
		key := strings.TrimSpace(s[:eq])
		s = strings.TrimLeft(s[eq+1:], " ")
		if !strings.HasPrefix(s, `"`) {
			return nil, "", fmt.Errorf("label %s: value not quoted", key)
		}
		var v strings.Builder
		i := 1
		for ; i < len(s) && s[i] != '"'; i++ {
			if s[i] == '\\' && i+1 < len(s) {
				i++
				switch s[i] {
				case 'n':
					v.WriteByte('\n')
				default:
					v.WriteByte(s[i])
				}
				continue
			}
			v.WriteByte(s[i])
		}
		if i >= len(s) {
			return nil, "", fmt.Errorf("label %s: unterminated value", key)
		}
		labels[key] = v.String()
		s = strings.TrimLeft(s[i+1:], " ")
		s = strings.TrimPrefix(s, ",")
	}
}
