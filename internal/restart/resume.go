package restart

import (
	"fmt"
	"time"
)

// Run is one restart run as the local state knows it: which run ID a
// `restart --apply` of this scope on this server uses, and whether it
// resumes one that did not finish. The resume flow is here, not in the CLI,
// so every caller resumes the same way.
type Run struct {
	ID string
	// Resumed is the unfinished run this one continues; nil for a new run
	// or a run ID given by hand.
	Resumed *State

	dir, server, scope string
}

// OpenRun picks the run ID: id when given, else the unfinished run recorded
// in dir for server and scope, else a new one started now.
func OpenRun(dir, server, scope, id string, now time.Time) (*Run, error) {
	r := &Run{ID: id, dir: dir, server: server, scope: scope}
	if id != "" {
		return r, nil
	}
	state, err := LoadState(dir, server, scope)
	if err != nil {
		return nil, err
	}
	if state != nil {
		r.ID, r.Resumed = state.RunID, state
		return r, nil
	}
	r.ID = NewRunID(now)
	return r, nil
}

// StatePath is where the run is recorded while it is unfinished.
func (r *Run) StatePath() string { return StatePath(r.dir, r.server, r.scope) }

// ResumeNote says which unfinished run this continues; "" for a new run.
func (r *Run) ResumeNote() string {
	if r.Resumed == nil {
		return ""
	}
	return fmt.Sprintf("Resuming run %s, started %s and not finished (%s).\n",
		r.ID, r.Resumed.Started.Format(time.RFC3339), r.StatePath())
}

// Begin records the run before its first PATCH, so an interrupted run is
// resumed, not started again.
func (r *Run) Begin(now time.Time) error {
	return SaveState(r.dir, State{RunID: r.ID, Server: r.server, Scope: r.scope, Started: now.UTC()})
}

// Finish forgets the run once it has finished.
func (r *Run) Finish() error { return ClearState(r.dir, r.server, r.scope) }
