package workload

import corev1 "k8s.io/api/core/v1"

// ProbeTiming is a probe's timing with the API defaults applied.
type ProbeTiming struct {
	InitialDelay, Timeout, Period, Success, Failure int32
}

// Timing applies the API defaults (timeout 1s, period 10s, success 1,
// failure 3) to pr.
func Timing(pr *corev1.Probe) ProbeTiming {
	t := ProbeTiming{InitialDelay: pr.InitialDelaySeconds, Timeout: pr.TimeoutSeconds, Period: pr.PeriodSeconds,
		Success: pr.SuccessThreshold, Failure: pr.FailureThreshold}
	if t.Timeout <= 0 {
		t.Timeout = 1
	}
	if t.Period <= 0 {
		t.Period = 10
	}
	if t.Success <= 0 {
		t.Success = 1
	}
	if t.Failure <= 0 {
		t.Failure = 3
	}
	return t
}

// EarliestPass is the soonest, in seconds after the container starts, the
// probe can report success: its first run, then successThreshold-1 more
// periods.
func (t ProbeTiming) EarliestPass() int32 { return t.InitialDelay + (t.Success-1)*t.Period }

// Allowance is how long, in seconds after the container starts, the kubelet
// keeps trying before the probe has failed for good (for a startup probe:
// until it kills the container).
func (t ProbeTiming) Allowance() int32 { return t.InitialDelay + t.Failure*t.Period }
