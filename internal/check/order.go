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
	out := slices.Clone(objs)
	slices.SortFunc(out, func(a, b T) int {
		pa, pb := PT(&a), PT(&b)
		return cmp.Or(strings.Compare(pa.GetNamespace(), pb.GetNamespace()), strings.Compare(pa.GetName(), pb.GetName()))
	})
	return out
}
