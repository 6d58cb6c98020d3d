package kube

import (
	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
)

// Need is what a set of checks needs read, and so what makes a read of them
// incomplete: the rules live here, beside the loader and the live read,
// for every verb that runs checks.
type Need struct {
	// Want is every kind the checks use, required or optional.
	Want []snapshot.Resource
	// Required are the kinds some check cannot run without.
	Required []snapshot.Resource
	// Count: some check uses object counts (Reader.Count).
	Count bool
}

// NeedOf returns what the checks read.
func NeedOf(cs []*check.Check) Need {
	var n Need
	seen := map[snapshot.Resource]bool{}
	req := map[snapshot.Resource]bool{}
	for _, c := range cs {
		n.Count = n.Count || c.Counts
		for _, r := range c.AllReads() {
			if !seen[r] {
				seen[r] = true
				n.Want = append(n.Want, r)
			}
		}
		for _, r := range c.Reads {
			if !req[r] {
				req[r] = true
				n.Required = append(n.Required, r)
			}
		}
	}
	return n
}

// LoadFor reads snapshot files for n. Kinds that n needs and the files do
// not cover are recorded as skipped: kubectl output for pods alone says
// nothing about Deployments, and a scan of it must not call them fine.
// Optional kinds count only for premortem's own files, which record what
// they cover; in plain kubectl output their absence is no gap.
func LoadFor(paths []string, n Need, lim Limits) (*LoadResult, error) {
	lr, err := LoadVisit(paths, n.Want, nil, nil, lim)
	if err != nil {
		return nil, err
	}
	covered := map[snapshot.Resource]bool{}
	for _, r := range lr.Covered {
		covered[r] = true
	}
	mustCover := n.Required
	if lr.HasInfo {
		mustCover = n.Want
	}
	info := &lr.Snapshot.Info
	skipped := map[snapshot.Resource]bool{}
	for _, s := range info.Skipped {
		skipped[s.Resource] = true
	}
	for _, r := range mustCover {
		if !covered[r] && !skipped[r] {
			info.Skipped = append(info.Skipped, snapshot.Skipped{Resource: r, Reason: "not in the snapshot"})
		}
	}
	return lr, nil
}

// Narrow keeps in info.Skipped only the kinds n wants, and unreadable
// files: a snapshot saved without Secrets is complete for a scan that does
// not read them.
func (n Need) Narrow(info *snapshot.Info) {
	var out []snapshot.Skipped
	for _, s := range info.Skipped {
		keep := s.Resource.Kind == snapshot.FileKind
		for _, w := range n.Want {
			keep = keep || w.Same(s.Resource)
		}
		if keep {
			out = append(out, s)
		}
	}
	info.Skipped = out
}
