// Package address parses addresses and hostnames and finds them: a query as
// a user types it (hostname, IP, host:port, URL), its whole-name
// occurrences in text, the servers of a kubeconfig, and the strings of a pod
// spec that may name one. The refs verb and the access checks share it.
package address

import (
	"errors"
	"fmt"
	"iter"
	"net"
	"net/netip"
	"net/url"
	"strings"
)

// Query is one address or hostname to search for.
type Query struct {
	// Raw is what the user typed.
	Raw string
	// Host is the hostname (lower case, no trailing dot) or the IP address
	// in canonical form. Scheme, port and path of Raw are dropped: a
	// reference matches with or without them.
	Host string
	// IP is set when Host is an IP address.
	IP netip.Addr
}

// ParseQuery accepts a hostname, an IP address, host:port, [v6]:port or a
// URL.
func ParseQuery(s string) (Query, error) {
	raw := s
	s = strings.TrimSpace(s)
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			return Query{}, fmt.Errorf("%q: %w", raw, err)
		}
		s = u.Hostname()
	} else if h, _, err := net.SplitHostPort(s); err == nil {
		s = h
	}
	s = strings.TrimSuffix(strings.Trim(strings.ToLower(s), "[]"), ".")
	if s == "" {
		return Query{}, fmt.Errorf("%q: no address or hostname", raw)
	}
	if ip, err := netip.ParseAddr(s); err == nil {
		ip = ip.WithZone("")
		if ip.Is4In6() {
			ip = ip.Unmap()
		}
		return Query{Raw: raw, Host: ip.String(), IP: ip}, nil
	}
	for _, r := range s {
		if !isHostChar(byte(r)) && r != '.' || r > 127 {
			return Query{}, fmt.Errorf("%q is neither an IP address nor a hostname", raw)
		}
	}
	if strings.Contains(s, "..") || strings.HasPrefix(s, ".") {
		return Query{}, fmt.Errorf("%q is not a valid hostname", raw)
	}
	return Query{Raw: raw, Host: s}, nil
}

// ParseQueries parses every argument.
func ParseQueries(args []string) ([]Query, error) {
	if len(args) == 0 {
		return nil, errors.New("name at least one address or hostname")
	}
	var out []Query
	var errs []error
	for _, a := range args {
		q, err := ParseQuery(a)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, q)
	}
	return out, errors.Join(errs...)
}

// Find returns the byte offsets of every occurrence of q in text. Hostnames
// match case-insensitively and only as a whole name: k8s-master.example.org
// is found in "https://K8S-MASTER.example.org:6443/" and "…example.org." but
// not in "old-k8s-master.example.org" or "k8s-master.example.org.internal".
// IP addresses match exactly: 10.64.0.11 is not found in 10.64.0.117.
func (q Query) Find(text string) []int {
	var out []int
	for i := range q.all(text) {
		out = append(out, i)
	}
	return out
}

// Contains reports whether q occurs in text.
func (q Query) Contains(text string) bool {
	for range q.all(text) {
		return true
	}
	return false
}

// all yields the byte offsets of the occurrences of q in text. Hostnames
// and IPv6 addresses (hex) match ASCII letters in either case, compared in
// place: a lowered copy of every text searched was most of what a search
// allocated.
func (q Query) all(text string) iter.Seq[int] {
	index := strings.Index
	if !q.IP.IsValid() || q.IP.Is6() {
		index = indexFold
	}
	return func(yield func(int) bool) {
		if len(text) < len(q.Host) {
			return
		}
		for from := 0; ; {
			i := index(text[from:], q.Host)
			if i < 0 {
				return
			}
			start := from + i
			if q.boundary(text, start, start+len(q.Host)) && !yield(start) {
				return
			}
			from = start + 1
		}
	}
}

// boundary reports whether hay[start:end] stands alone as a name or address.
func (q Query) boundary(hay string, start, end int) bool {
	var before, after, afterNext byte
	if start > 0 {
		before = hay[start-1]
	}
	if end < len(hay) {
		after = hay[end]
	}
	if end+1 < len(hay) {
		afterNext = hay[end+1]
	}
	switch {
	case q.IP.Is6():
		part := func(c byte) bool { return isHex(c) || c == ':' || c == '.' }
		return !part(before) && !part(after)
	case q.IP.Is4():
		if isAlnum(before) || before == '.' || isAlnum(after) {
			return false
		}
		return !(after == '.' && isDigit(afterNext))
	default:
		if isHostChar(before) || before == '.' || isHostChar(after) {
			return false
		}
		// A trailing dot ends a fully-qualified name (or a sentence); a dot
		// followed by a label makes a longer name.
		return !(after == '.' && isHostChar(afterNext))
	}
}

func isDigit(c byte) bool    { return c >= '0' && c <= '9' }
func isAlnum(c byte) bool    { return isDigit(c) || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isHostChar(c byte) bool { return isAlnum(c) || c == '-' || c == '_' }
func isHex(c byte) bool      { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// indexFold is strings.Index for a lower-case ASCII needle whose letters
// match either case in s; other bytes match only themselves.
func indexFold(s, lower string) int {
	for i := 0; i+len(lower) <= len(s); i++ {
		if hasPrefixFold(s[i:], lower) {
			return i
		}
	}
	return -1
}

// hasPrefixFold reports whether s starts with lower, ASCII letters of s
// matching either case.
func hasPrefixFold(s, lower string) bool {
	if len(s) < len(lower) {
		return false
	}
	for j := 0; j < len(lower); j++ {
		c := s[j]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[j] {
			return false
		}
	}
	return true
}

// HostOf returns the host of an address written as a URL, host:port or a
// bare host, lower case.
func HostOf(s string) string {
	q, err := ParseQuery(s)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(s))
	}
	return q.Host
}
