package audit

import "math/bits"

// histogram is a fixed log-linear latency histogram: each power of two is
// split into 8 linear sub-buckets, so a quantile read from it is within 12.5%
// of the true value, whatever the number of samples. It costs 4 KiB and
// merges by addition, which keeps per-client memory constant.
type histogram struct {
	counts [histBuckets]uint64
	n      uint64
	max    int64
}

const (
	histSubBits = 3
	histSub     = 1 << histSubBits
	histBuckets = (64 - histSubBits + 1) * histSub
)

func histIndex(v int64) int {
	if v < histSub {
		if v < 0 {
			return 0
		}
		return int(v)
	}
	e := bits.Len64(uint64(v)) // >= histSubBits+1
	sub := (uint64(v) >> (e - histSubBits - 1)) & (histSub - 1)
	return (e-histSubBits)*histSub + int(sub)
}

// histUpper is the largest value that falls in bucket i.
func histUpper(i int) int64 {
	if i < histSub {
		return int64(i)
	}
	e := i/histSub + histSubBits
	sub := uint64(i % histSub)
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
		seen += c
		if seen >= rank {
			return min(histUpper(i), h.max)
		}
	}
	return h.max
}
