package audit

import (
	"math"
	"math/bits"
)

// histogram is a fixed log-linear latency histogram: from 1 µs to 73 min
// each power of two is split into 8 linear sub-buckets, so a quantile read
// from it is within 12.5% of the true value, whatever the number of samples.
// Faster and slower requests share one bucket each (quantiles are capped by
// the exact maximum). It costs about 1 KiB, small enough that the
// histograms of hundreds of users stay in cache, and merges by addition.
type histogram struct {
	counts [histBuckets]uint32
	n      uint64
	max    int64
}

const (
	histSubBits = 3
	histSub     = 1 << histSubBits
	histMinBits = 11 // values below 2^10 ns (1 µs) go to bucket 0
	histMaxBits = 42 // values from 2^42 ns (73 min) go to the last bucket
	histBuckets = 2 + (histMaxBits-histMinBits+1)*histSub
)

func histIndex(v int64) int {
	if v < 1<<(histMinBits-1) {
		return 0
	}
	e := bits.Len64(uint64(v))
	if e > histMaxBits {
		return histBuckets - 1
	}
	sub := (uint64(v) >> (e - histSubBits - 1)) & (histSub - 1)
	return 1 + (e-histMinBits)*histSub + int(sub)
}

// histUpper is the largest value that falls in bucket i.
func histUpper(i int) int64 {
	switch {
	case i == 0:
		return 1<<(histMinBits-1) - 1
	case i >= histBuckets-1:
		return math.MaxInt64
	}
	e := (i-1)/histSub + histMinBits
	sub := uint64((i - 1) % histSub)
	lower := (uint64(histSub) | sub) << (e - histSubBits - 1)
	width := uint64(1) << (e - histSubBits - 1)
	return int64(lower + width - 1)
}

func (h *histogram) add(v int64) {
	h.counts[histIndex(v)]++
	h.n++
	if v > h.max {
		h.max = v
	}
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	if o.max > h.max {
		h.max = o.max
	}
}

// quantile returns the upper bound of the bucket holding quantile q, capped
// by the exact maximum.
func (h *histogram) quantile(q float64) int64 {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.5)
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.counts {
		seen += uint64(c)
		if seen >= rank {
			if i == 0 {
				// Audit timestamps have microsecond resolution: a
				// duration under 1 µs is zero.
				return 0
			}
			return min(histUpper(i), h.max)
		}
	}
	return h.max
}
