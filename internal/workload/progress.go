package workload

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
)

// Progress is how far a workload's rollout has got: the numbers
// `kubectl rollout status` looks at.
type Progress struct {
	// Complete: the controller has seen the latest spec and every pod is
	// updated, ready and available, with no old pod left.
	Complete bool `json:"complete"`
	// Failed: the rollout will not finish without help (a Deployment past
	// its progressDeadlineSeconds).
	Failed bool `json:"failed,omitempty"`
	// Detail is the numbers, e.g. "2/3 updated, 3/3 ready, 2/3 available".
	Detail string `json:"detail"`
}

// rollout reports what the three kinds share: the counts, and nothing more
// while the controller has not seen the latest spec (its counts are stale);
// once it has, finish judges the rest.
func rollout(c Counts, observedGeneration, generation int64, finish func(*Progress)) Progress {
	p := Progress{Detail: fmt.Sprintf("%d/%d updated, %d/%d ready, %d/%d available", c.Updated, c.Desired, c.Ready, c.Desired, c.Available, c.Desired)}
	if observedGeneration < generation {
		p.Detail = "controller has not seen the latest spec; " + p.Detail
		return p
	}
	finish(&p)
	return p
}

// replaced reports whether every desired pod is of the latest revision,
// ready and available, with no old pod left.
func (c Counts) replaced() bool {
	return c.Updated == c.Desired && c.Current == c.Desired && c.Ready >= c.Desired && c.Available >= c.Desired
}

// DeploymentProgress reports a Deployment's rollout, as kubectl rollout
// status does: observedGeneration caught up, updated == available == ready
// == spec.replicas and no old replicas left.
func DeploymentProgress(d *appsv1.Deployment) Progress {
	c := DeploymentCounts(d)
	return rollout(c, d.Status.ObservedGeneration, d.Generation, func(p *Progress) {
		for _, cond := range d.Status.Conditions {
			if cond.Type == appsv1.DeploymentProgressing && cond.Reason == "ProgressDeadlineExceeded" {
				p.Failed = true
				p.Detail = "progress deadline exceeded: " + p.Detail
				return
			}
		}
		if c.Current > c.Updated {
			p.Detail += fmt.Sprintf(", %d old", c.Current-c.Updated)
		}
		p.Complete = c.replaced()
	})
}

// StatefulSetProgress reports a StatefulSet's rollout: observedGeneration
// caught up, every replica updated, ready and available, and the current
// revision equal to the update revision.
func StatefulSetProgress(s *appsv1.StatefulSet) Progress {
	c := StatefulSetCounts(s)
	return rollout(c, s.Status.ObservedGeneration, s.Generation, func(p *Progress) {
		st := s.Status
		revisionDone := st.UpdateRevision == "" || st.CurrentRevision == st.UpdateRevision
		if !revisionDone {
			p.Detail += ", revision " + st.CurrentRevision + " -> " + st.UpdateRevision
		}
		p.Complete = revisionDone && c.replaced()
	})
}

// DaemonSetProgress reports a DaemonSet's rollout: observedGeneration caught
// up and updatedNumberScheduled == numberReady == numberAvailable ==
// desiredNumberScheduled.
func DaemonSetProgress(d *appsv1.DaemonSet) Progress {
	c := DaemonSetCounts(d)
	return rollout(c, d.Status.ObservedGeneration, d.Generation, func(p *Progress) {
		p.Complete = c.Updated == c.Desired && c.Ready == c.Desired && c.Available == c.Desired
	})
}
