package check

import (
	"cmp"
	"slices"
	"strings"
)

// SortedByName returns a copy of objs ordered by namespace, then name: the
// order a check reports in, whatever order the read returned them in.
func SortedByName[T any, PT interface {
	*T
	GetNamespace() string
	GetName() string
}](objs []T) []T {
	// Sort indexes, comparing through pointers: a comparison of values
	// copied each object to the heap, and swapping large structs (a Pod is
	// over 1 KB) costs more than swapping ints.
	idx := make([]int, len(objs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(i, j int) int {
		pa, pb := PT(&objs[i]), PT(&objs[j])
		return cmp.Or(strings.Compare(pa.GetNamespace(), pb.GetNamespace()), strings.Compare(pa.GetName(), pb.GetName()))
	})
	out := make([]T, len(objs))
	for i, j := range idx {
		out[i] = objs[j]
	}
	return out
}
