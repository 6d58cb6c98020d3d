package restart

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The state of a run lives in the cluster: every workload a run patched
// carries RunAnnotation=<run ID>, written in the same PATCH as the restart,
// so "restarted" and "marked" cannot disagree. The only thing kept locally
// is which run ID an unfinished `restart --apply` used, so that running the
// same command again resumes that run instead of starting a new one (which
// would restart everything a second time). --run-id overrides it.

// State is the local record of an unfinished run.
type State struct {
	RunID   string    `json:"runId"`
	Server  string    `json:"server"`
	Scope   string    `json:"scope"`
	Started time.Time `json:"started"`
}

// NewRunID returns a run ID that sorts by start time: r20260921-103000-1a2b.
func NewRunID(now time.Time) string {
	b := make([]byte, 2)
	_, _ = rand.Read(b)
	return "r" + now.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b)
}

// Scope is the canonical text of a selection: the same flags in any order
// give the same scope, hence the same state file.
func Scope(namespace, selector string, kinds []Kind) string {
	ks := make([]string, 0, len(kinds))
	for _, k := range kinds {
		ks = append(ks, string(k))
	}
	if len(ks) == 0 {
		for _, k := range Kinds {
			ks = append(ks, string(k))
		}
	}
	slices.Sort(ks)
	ks = slices.Compact(ks)
	if namespace == "" {
		namespace = "*"
	}
	return fmt.Sprintf("namespace=%s selector=%s kinds=%s", namespace, selector, strings.Join(ks, ","))
}

// DefaultStateDir is $XDG_STATE_HOME/premortem/restart, or
// ~/.local/state/premortem/restart.
func DefaultStateDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "premortem", "restart")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "premortem-restart")
	}
	return filepath.Join(home, ".local", "state", "premortem", "restart")
}

// StatePath is the file for one cluster and scope.
func StatePath(dir, server, scope string) string {
	sum := sha256.Sum256([]byte(server + "\x00" + scope))
	return filepath.Join(dir, hex.EncodeToString(sum[:8])+".json")
}

// LoadState reads the unfinished run for server and scope; nil when none.
func LoadState(dir, server, scope string) (*State, error) {
	b, err := os.ReadFile(StatePath(dir, server, scope))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read restart state: %w", err)
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("read restart state %s: %w", StatePath(dir, server, scope), err)
	}
	if s.Server != server || s.Scope != scope || s.RunID == "" {
		return nil, nil
	}
	return &s, nil
}

// SaveState records s before the first PATCH of a run.
func SaveState(dir string, s State) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("save restart state: %w", err)
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	path := StatePath(dir, s.Server, s.Scope)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("save restart state: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("save restart state: %w", err)
	}
	return nil
}

// ClearState forgets the run once it has finished.
func ClearState(dir, server, scope string) error {
	err := os.Remove(StatePath(dir, server, scope))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
