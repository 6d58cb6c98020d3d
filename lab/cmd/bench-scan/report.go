package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

func header(w io.Writer, sz sizes, b *builder, buildTime time.Duration) {
	fmt.Fprintf(w, "### Run of %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(w, "Machine: %d cores, Go %s, load average before the scans: %s\n\n", runtime.NumCPU(), runtime.Version(), strings.Join(strings.Fields(string(load))[:3], " "))
	fmt.Fprintf(w, "Cluster: %d nodes, %d pods (%d bytes of JSON each, managedFields included), %d namespaces, %d deployments, %d services, %d configmaps, %d secrets; built in %s.\n\n",
		sz.nodes, sz.pods, b.podBytes, sz.namespaces, sz.deployments, sz.services, sz.configMaps, sz.secrets, buildTime.Round(time.Second))
}

func report(w io.Writer, binary string, args []string, s *scanResult, a *auditSummary) {
	mib := func(n int64) string { return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20)) }
	num := func(k string) int64 { n, _ := strconv.ParseInt(s.readLine[k], 10, 64); return n }
	fmt.Fprintf(w, "Scan: `%s %s`\n\n", binary, strings.Join(args[:3], " ")+" KUBECONFIG "+strings.Join(args[4:], " "))
	fmt.Fprintln(w, "| measure | value |")
	fmt.Fprintln(w, "|---|---|")
	fmt.Fprintf(w, "| wall time | %.1f s |\n", s.wall.Seconds())
	fmt.Fprintf(w, "| peak RSS (getrusage maxrss) | %s |\n", mib(s.maxRSS))
	fmt.Fprintf(w, "| exit code | %d |\n", s.exit)
	var verbs []string
	for v, n := range a.byVerb {
		verbs = append(verbs, fmt.Sprintf("%s %d", v, n))
	}
	sort.Strings(verbs)
	fmt.Fprintf(w, "| requests by verb (audit log) | %s |\n", strings.Join(verbs, ", "))
	fmt.Fprintf(w, "| summed API server time (audit log) | %.1f s |\n", a.apiTime.Seconds())
	fmt.Fprintf(w, "| longest request (audit log) | %.2f s, `%s` |\n", a.longest.Seconds(), a.longestURI)
	fmt.Fprintf(w, "| API server CPU (its process_cpu_seconds_total) | %.1f s |\n", a.serverCPU)
	fmt.Fprintf(w, "| response bytes (decoded body / on the wire) | %s / %s |\n", mib(num("bodyBytes")), mib(num("wireBytes")))
	fmt.Fprintf(w, "| objects kept | %s |\n", s.readLine["objects"])
	fmt.Fprintf(w, "| report bytes (stdout, -o json) | %d |\n", s.stdout)
	listedTwice := 0
	for _, n := range a.chains {
		if n > 1 {
			listedTwice++
		}
	}
	fmt.Fprintf(w, "| kinds listed / listed more than once in one scope | %d / %d |\n", len(a.kinds), listedTwice)
	fmt.Fprintf(w, "| chains of one namespace (ConfigMap data) | %d |\n", a.nsChains)
	fmt.Fprintf(w, "| first pages not asking the watch cache / continue pages with a resourceVersion | %d / %d |\n", len(a.badFirst), len(a.badContinue))
	fmt.Fprintf(w, "| LISTs answered from the watch cache / list requests sent to etcd (API server metrics) | %.0f / %.0f |\n", a.cacheLists, a.etcdLists)
	var pages []string
	for k, n := range a.pages {
		pages = append(pages, fmt.Sprintf("%s %d", k, n))
	}
	sort.Strings(pages)
	fmt.Fprintf(w, "| LIST requests per kind | %s |\n\n", strings.Join(pages, ", "))
	for _, u := range append(a.badFirst, a.badContinue...) {
		fmt.Fprintf(w, "- not served by cache semantics: `%s`\n", u)
	}
}
