package refs

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// excerptRunes is how much of a line excerpt shows each side of a match.
const excerptRunes = 40

// maskBytes bounds the text masked each side of a match, so a megabyte
// line costs no more than a short one. It is far wider than the excerpt: a
// credential cut at its edge is still a long run when it reaches the
// excerpt, and masked as one.
const maskBytes = 1024

// excerpt shows where a (non-secret) match is: the rest of its line up to
// excerptRunes characters each side, "…" where cut, with what looks like a
// credential masked. A ConfigMap line or an env value may hold more than
// the address searched for; the report should not carry it whole.
func excerpt(text string, offset, length int) string {
	start := strings.LastIndexByte(text[:offset], '\n') + 1
	end := len(text)
	if i := strings.IndexByte(text[offset+length:], '\n'); i >= 0 {
		end = offset + length + i
	}
	cutBefore, cutAfter := offset-start > maskBytes, end-offset-length > maskBytes
	if cutBefore {
		start = offset - maskBytes
		for start < offset && !utf8.RuneStart(text[start]) {
			start++
		}
	}
	if cutAfter {
		end = offset + length + maskBytes
		for end > offset+length && !utf8.RuneStart(text[end]) {
			end--
		}
	}
	// Masked before the cut, so a cut never leaves half a credential
	// unrecognised; the match itself is never masked.
	before := []rune(strings.TrimLeftFunc(mask(text[start:offset]), unicode.IsSpace))
	after := []rune(strings.TrimRightFunc(mask(text[offset+length:end]), unicode.IsSpace))
	if len(before) > excerptRunes {
		before, cutBefore = before[len(before)-excerptRunes:], true
	}
	if len(after) > excerptRunes {
		after, cutAfter = after[:excerptRunes], true
	}
	b, a := string(before), string(after)
	if cutBefore {
		b = "…" + b
	}
	if cutAfter {
		a += "…"
	}
	return b + text[offset:offset+length] + a
}

// masked replaces a credential.
const masked = "[masked]"

var (
	// keyValue: a key, ":" or "=" (quoted or not), and its value; the
	// key decides (credentialKey). "Authorization: Bearer X" masks X.
	keyValue = regexp.MustCompile(`([A-Za-z][\w.-]*)(["']?\s*[:=]\s*["']?(?:(?i:bearer|basic)\s+)?)([^\s"',;&]+)`)
	// flagValue: a command-line flag and its value after a space.
	flagValue = regexp.MustCompile(`(--?)([A-Za-z][\w.-]*)(\s+)([^\s-][^\s"',;&]*)`)
	// scheme: an HTTP authorization scheme and its credentials.
	scheme = regexp.MustCompile(`(?i)(\b(?:bearer|basic)\s+)([\w.~+/=-]+)`)
	// userinfo: the password in https://user:password@host.
	userinfo = regexp.MustCompile(`(://[^/\s:@]*:)([^@\s/]+)(@)`)
	// longRun: a run that may be a base64 or hex key or token.
	longRun = regexp.MustCompile(`[A-Za-z0-9+/_-]{32,}=*`)
)

// mask replaces what looks like a credential: the value of a key or flag
// named like one (token, password, secret, key, auth...), the credentials
// of a Bearer or Basic authorization, the password of a URL and long runs
// of base64 or hex.
func mask(s string) string {
	s = replaceGroup(s, keyValue, 3, func(m []string) bool { return credentialKey(m[1]) })
	s = replaceGroup(s, flagValue, 4, func(m []string) bool { return credentialKey(m[2]) })
	s = scheme.ReplaceAllString(s, "${1}"+masked)
	s = userinfo.ReplaceAllString(s, "${1}"+masked+"${3}")
	return longRun.ReplaceAllStringFunc(s, func(run string) string {
		if randomLooking(run) {
			return masked
		}
		return run
	})
}

// replaceGroup replaces submatch group of every match of re for which ok
// holds. After a match it rejects, it looks again from the end of the
// match's first group: "url=https://x?token=abc" masks abc.
func replaceGroup(s string, re *regexp.Regexp, group int, ok func([]string) bool) string {
	var b strings.Builder
	last := 0
	for pos := 0; pos < len(s); {
		idx := re.FindStringSubmatchIndex(s[pos:])
		if idx == nil {
			break
		}
		m := make([]string, len(idx)/2)
		for i := range m {
			if idx[2*i] >= 0 {
				m[i] = s[pos+idx[2*i] : pos+idx[2*i+1]]
			}
		}
		if !ok(m) || m[group] == masked {
			pos += idx[3]
			continue
		}
		b.WriteString(s[last : pos+idx[2*group]])
		b.WriteString(masked)
		last = pos + idx[2*group+1]
		pos = last
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// credentialWords are the last words of keys that name a credential.
var credentialWords = map[string]bool{
	"token": true, "password": true, "passwd": true, "pwd": true, "pass": true, "secret": true,
	"key": true, "apikey": true, "credential": true, "credentials": true, "auth": true,
	"authorization": true, "bearer": true,
}

// credentialKey reports whether a key names a credential: its last word
// (or the one before a last "data" or "value") is one of credentialWords.
// "client-key-data", "apiKey", "DB_PASSWORD" and "tls.key" do;
// "keycloak_url" and "secretName" do not.
func credentialKey(key string) bool {
	words := splitWords(key)
	n := len(words)
	if n == 0 {
		return false
	}
	if credentialWords[words[n-1]] {
		return true
	}
	return n > 1 && (words[n-1] == "data" || words[n-1] == "value") && credentialWords[words[n-2]]
}

// splitWords splits an identifier at punctuation and camelCase, lower case.
func splitWords(s string) []string {
	var words []string
	var cur []rune
	prevLower := false
	for _, r := range s {
		switch {
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			if len(cur) > 0 {
				words = append(words, string(cur))
			}
			cur, prevLower = nil, false
			continue
		case unicode.IsUpper(r) && prevLower:
			words = append(words, string(cur))
			cur = nil
		}
		cur = append(cur, unicode.ToLower(r))
		prevLower = unicode.IsLower(r) || unicode.IsDigit(r)
	}
	if len(cur) > 0 {
		words = append(words, string(cur))
	}
	return words
}

// randomLooking reports whether a long run looks like a key or token
// rather than a word or path: hex with a digit and a letter, or base64
// with upper and lower case letters and a digit.
func randomLooking(run string) bool {
	var upper, lower, digit, hexOnly = false, false, false, true
	for _, c := range strings.TrimRight(run, "=") {
		switch {
		case c >= 'A' && c <= 'Z':
			upper = true
		case c >= 'a' && c <= 'z':
			lower = true
		case c >= '0' && c <= '9':
			digit = true
		}
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			hexOnly = false
		}
	}
	if hexOnly {
		return digit && (upper || lower)
	}
	return upper && lower && digit
}
