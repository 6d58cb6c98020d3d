package measure

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/premortem/premortem/internal/output"
	"github.com/premortem/premortem/internal/sizelimit"
)

// DumpPath is the API server's dump of API Priority and Fairness state, one
// row per priority level: a response of about 1 KB that the server writes
// from memory under one lock, cheap enough to read every second.
const DumpPath = "/debug/api_priority_and_fairness/dump_priority_levels"

// Bounds on one dump: a cluster has tens of priority levels, not thousands.
const (
	maxDumpBytes  = 1 << 20
	maxDumpLevels = 1000
)

// LevelSample is one priority level at one instant.
type LevelSample struct {
	Name      string
	Executing int // requests executing (a LIST may hold several seats)
	Waiting   int // requests queued: the level had no free seat for them
}

// parseDump reads dump_priority_levels: a header row naming the columns,
// then one row per level, cells separated by commas and padded with
// spaces. Columns are found by name, so added or reordered columns do not
// shift what is read.
func parseDump(r io.Reader) ([]LevelSample, error) {
	lr := &io.LimitedReader{R: r, N: maxDumpBytes + 1}
	sc := bufio.NewScanner(lr)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	col := map[string]int{}
	var out []LevelSample
	for sc.Scan() {
		cells := strings.Split(sc.Text(), ",")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if len(col) == 0 {
			for i, c := range cells {
				col[c] = i
			}
			for _, need := range []string{"PriorityLevelName", "ExecutingRequests", "WaitingRequests"} {
				if _, ok := col[need]; !ok {
					return nil, fmt.Errorf("no %s column in the header %q", need, output.Truncate(sc.Text(), 201))
				}
			}
			continue
		}
		if len(cells) == 1 && cells[0] == "" {
			continue
		}
		if len(out) >= maxDumpLevels {
			return nil, fmt.Errorf("more than %d priority levels", maxDumpLevels)
		}
		s := LevelSample{}
		var err error
		if s.Name, err = cell(cells, col, "PriorityLevelName"); err != nil {
			return nil, err
		}
		if s.Executing, err = intCell(cells, col, "ExecutingRequests"); err != nil {
			return nil, fmt.Errorf("level %q: %w", s.Name, err)
		}
		if s.Waiting, err = intCell(cells, col, "WaitingRequests"); err != nil {
			return nil, fmt.Errorf("level %q: %w", s.Name, err)
		}
		out = append(out, s)
	}
	if lr.N <= 0 {
		return nil, &sizelimit.Error{Limit: "response", Max: maxDumpBytes}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(col) == 0 {
		return nil, errors.New("empty dump")
	}
	return out, nil
}

func cell(cells []string, col map[string]int, name string) (string, error) {
	i := col[name]
	if i >= len(cells) {
		return "", fmt.Errorf("row of %d cells has no %s", len(cells), name)
	}
	if cells[i] == "" {
		return "", fmt.Errorf("empty %s", name)
	}
	return cells[i], nil
}

func intCell(cells []string, col map[string]int, name string) (int, error) {
	c, err := cell(cells, col, name)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(c)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s %q: not a count", name, output.Truncate(c, 41))
	}
	return n, nil
}
