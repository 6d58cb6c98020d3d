package audit

import (
	"fmt"
	"strings"
)

// writeFanOut writes the table of LISTs that ran inside other identities'
// DELETEs.
func writeFanOut(ew *errWriter, r *Report) {
	if len(r.FanOut) == 0 {
		return
	}
	ew.printf("\nLIST FAN-OUT AFTER DELETES (LISTs made while another identity's DELETE was in flight: an admission webhook's backend listing on each call)\n")
	tw := ew.table().Shrink(12, 11, 0, 1).Drop(10, 7, 6, 9, 8, 4)
	fmt.Fprintln(tw, "USER\tTRIGGER\tDELETES\tBURSTS\tLISTS\tFAN-OUT\tMAX\tIN FLIGHT PEAK\tMAY READ ETCD\tQUERY TIME\tLISTED\tDELETED BY\tWEBHOOKS")
	for _, f := range r.FanOut {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%.1f\t%d\t%d\t%d\t%s\t%s\t%s\t%s\n", named(f.User), named(f.Trigger), f.Deletes, f.Bursts, f.Lists,
			f.FanOutFactor, f.MaxBurst, f.PeakInFlight, f.MayReadEtcd, seconds(f.QuerySeconds), namedCounts(f.Listed), namedCounts(f.Deleters),
			named(strings.Join(f.Webhooks, ",")))
	}
	tw.Flush()
	ew.printf("Validating webhooks leave no annotation unless they fail open: the backend is the USER, whose ServiceAccount premortem scan's webhook-delete-fanout matches to its webhook.\n")
}

// namedCounts renders "pods:200 nodes:8".
func namedCounts(ns []NamedCount) string {
	parts := make([]string, 0, len(ns))
	for _, n := range ns {
		parts = append(parts, fmt.Sprintf("%s:%d", named(n.Name), n.Requests))
	}
	return strings.Join(parts, " ")
}
