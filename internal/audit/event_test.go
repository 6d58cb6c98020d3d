package audit

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

const sampleLine = `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"4d2c1a3e-6b8f-4e8e-9f1a-2f6f0f5d9c11","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/team-a/pods?labelSelector=app%3Dweb\u0026limit=500","verb":"list","user":{"username":"system:serviceaccount:kube-system:namespace-controller","uid":"u1","groups":["system:serviceaccounts","system:authenticated"],"extra":{"authentication.kubernetes.io/pod-name":["x"]}},"impersonatedUser":{"username":"not-me"},"sourceIPs":["10.0.0.1","192.168.1.2"],"userAgent":"kube-controller-manager/v1.30.4 (linux/amd64) kubernetes/a51b3b7/system:serviceaccount:kube-system:namespace-controller","objectRef":{"resource":"pods","namespace":"team-a","apiGroup":"","apiVersion":"v1"},"responseStatus":{"metadata":{},"status":"Failure","message":"the server has received too many requests and has asked us to try again later {\"a\":1}","code":429},"requestReceivedTimestamp":"2024-05-28T12:23:11.123456Z","stageTimestamp":"2024-05-28T12:23:12.623456Z","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed by ClusterRoleBinding \"system:controller:namespace-controller\""}}`

func TestParseSample(t *testing.T) {
	var p Parser
	var ev Event
	if err := p.Parse([]byte(sampleLine), &ev); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{
		"auditID":    string(ev.AuditID),
		"stage":      string(ev.Stage),
		"verb":       string(ev.Verb),
		"requestURI": string(ev.RequestURI),
		"username":   string(ev.Username),
		"userAgent":  string(ev.UserAgent),
		"resource":   string(ev.Resource),
		"namespace":  string(ev.Namespace),
		"name":       string(ev.Name),
		"apiGroup":   string(ev.APIGroup),
	}
	want := map[string]string{
		"auditID":    "4d2c1a3e-6b8f-4e8e-9f1a-2f6f0f5d9c11",
		"stage":      "ResponseComplete",
		"verb":       "list",
		"requestURI": "/api/v1/namespaces/team-a/pods?labelSelector=app%3Dweb&limit=500",
		"username":   "system:serviceaccount:kube-system:namespace-controller",
		"userAgent":  "kube-controller-manager/v1.30.4 (linux/amd64) kubernetes/a51b3b7/system:serviceaccount:kube-system:namespace-controller",
		"resource":   "pods",
		"namespace":  "team-a",
		"name":       "",
		"apiGroup":   "",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %q, want %q", k, got[k], w)
		}
	}
	if ev.Code != 429 {
		t.Errorf("code = %d, want 429", ev.Code)
	}
	if d := time.Duration(ev.StageTime - ev.Received); d != 1500*time.Millisecond {
		t.Errorf("duration = %v, want 1.5s", d)
	}
	if ips := ev.IPs(); strings.Join(ips, ",") != "10.0.0.1,192.168.1.2" {
		t.Errorf("IPs = %v", ips)
	}
	if !ev.HasObjectRef {
		t.Error("HasObjectRef = false")
	}
}

func TestParseLargeRequestObject(t *testing.T) {
	// A RequestResponse-level event with a 1 MB ConfigMap in requestObject,
	// braces and quotes inside strings, before the fields we need.
	data := strings.Repeat(`{\"k\":[1,2,\"}]\"]} `, 1<<20/20)
	line := `{"kind":"Event","level":"RequestResponse","stage":"ResponseComplete","verb":"create","requestObject":{"kind":"ConfigMap","data":{"big":"` + data + `","n":[1,2,{"x":null}]}},"responseObject":{"kind":"Status","items":[[],{},[{"a":"]"}]]},"user":{"username":"alice"},"requestReceivedTimestamp":"2024-05-28T12:00:00Z","stageTimestamp":"2024-05-28T12:00:00.5Z"}`
	if !json.Valid([]byte(line)) {
		t.Fatal("test line is not valid JSON")
	}
	var p Parser
	var ev Event
	if err := p.Parse([]byte(line), &ev); err != nil {
		t.Fatal(err)
	}
	if string(ev.Username) != "alice" || string(ev.Verb) != "create" || ev.StageTime-ev.Received != 500e6 {
		t.Errorf("got user %q verb %q duration %d", ev.Username, ev.Verb, ev.StageTime-ev.Received)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, line string
	}{
		{"empty", ``},
		{"not an object", `["a"]`},
		{"truncated in a string", `{"verb":"li`},
		{"truncated after a value", `{"verb":"list",`},
		{"truncated in a nested object", `{"user":{"username":"a"`},
		{"truncated request object", `{"requestObject":{"a":[1,2`},
		{"mismatched bracket", `{"requestObject":{"a":[1,2}}`},
		{"missing colon", `{"verb" "list"}`},
		{"missing comma", `{"verb":"list" "stage":"x"}`},
		{"garbage after the object", `{"verb":"list"} x`},
		{"two objects", `{"verb":"list"}{"verb":"get"}`},
		{"bare word key", `{verb:"list"}`},
		{"escaped closing quote", `{"verb":"list\"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Parser
			var ev Event
			if err := p.Parse([]byte(tt.line), &ev); err == nil {
				t.Errorf("Parse(%q) = nil error", tt.line)
			}
		})
	}
}

func TestParseMissingFields(t *testing.T) {
	var p Parser
	var ev Event
	if err := p.Parse([]byte(` {"stage":"ResponseComplete","objectRef":null,"responseStatus":{"metadata":{}},"user":{}} `), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Code != 0 || ev.HasObjectRef || len(ev.Username) != 0 || ev.StageTime != 0 {
		t.Errorf("unexpected values: %+v", ev)
	}
}

func TestParseTime(t *testing.T) {
	for _, s := range []string{
		"2024-05-28T12:23:11.123456Z",
		"2024-05-28T12:23:11Z",
		"2024-02-29T23:59:59.999999999Z",
		"1999-12-31T00:00:00.1Z",
		"2024-05-28T14:23:11.5+02:00",
		"2100-03-01T00:00:00Z",
		"2024-05-28T12:23:59.000001Z",
		"2024-05-28T12:23:00.999999Z",
	} {
		want, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := parseTime([]byte(s))
		if !ok || got != want.UnixNano() {
			t.Errorf("parseTime(%q) = %d, %v; want %d", s, got, ok, want.UnixNano())
		}
	}
	for _, s := range []string{"", "yesterday", "2024-13-01T00:00:00Z", "2024-05-28T12:23:11.Z",
		"2024-05-28T12:23:11.12345xZ", "2024-05-28T12:23:1x.123456Z", "2024-05-28T12:23:61.123456Z"} {
		if _, ok := parseTime([]byte(s)); ok {
			t.Errorf("parseTime(%q) ok, want failure", s)
		}
	}
}

// TestMinuteCache: one cache over timestamps that share minutes, or all
// but a bad tail, parses each as parseTime does on its own.
func TestMinuteCache(t *testing.T) {
	var c minuteCache
	for _, s := range []string{
		"2024-05-28T12:23:11.123456Z",
		"2024-05-28T12:23:59.5Z",
		"2024-05-28T12:23:11.Z",
		"2024-05-28T12:23:7Z",
		"2024-05-28T12:23:11.1234567890Z",
		"2024-05-28T12:24:00Z",
		"2024-05-28T12:24:00.000001+00:00",
		"2024-05-28T12:24:01Z",
		"2024-05-28T12:2x:01Z",
		"2024-05-28T12:24:61Z",
	} {
		want, wantOK := parseTime([]byte(s))
		if got, ok := c.parse([]byte(s)); got != want || ok != wantOK {
			t.Errorf("minuteCache.parse(%q) = %d, %v; parseTime says %d, %v", s, got, ok, want, wantOK)
		}
	}
}

// FuzzParse checks the scanner against encoding/json: on any input it must
// not panic, and on a valid JSON object it must succeed and agree with
// encoding/json on every string field it extracts.
func FuzzParse(f *testing.F) {
	f.Add(sampleLine)
	f.Add(`{"verb":"get","user":{"username":"a\u00e9\ud83d\ude00"},"objectRef":{"name":"x\\\"y"}}`)
	f.Add(`{"requestObject":{"a":["}",{"b":"]"}]},"verb":"list"}`)
	f.Add(`{"responseStatus":{"code":503},"stageTimestamp":"2024-05-28T12:23:11Z"}`)
	f.Add(`{"verb":1,"user":[],"objectRef":"x","sourceIPs":null}`)
	f.Add(`{"verb":"li`)
	f.Add(`{}`)
	f.Add(`null`)
	// Keys out of the API server's order, repeated, escaped, or one byte off
	// a known key: the scanner guesses keys by that order (keyOrder).
	f.Add(`{"annotations":{},"stageTimestamp":"2024-05-28T12:23:11Z","objectRef":{"subresource":"status","name":"n","namespace":"ns","resource":"pods"},"user":{"extra":{},"username":"a"},"verb":"get","kind":"Event"}`)
	f.Add(`{"kin":"x","kinds":"y","verb":"get","verbs":"list","verb":"watch","user":{"username":"a","usernames":"b"},"user":{"uid":"u","username":"c"},"userAgen":"x","userAgent":"ua","objectRef":{"resourc":"r","resource":"pods","resources":"x","name\u0022":"q","name":"n"}}`)
	f.Add(`{"ver\u0062":"get","stage":"x","\u0076erb":"list","requestURI":"/a","requestURI":"/b"}`)
	// The API server's prefix (apiServerPrefix), whole, cut, or followed by
	// what the member-by-member parse rejects.
	f.Add(eventPrefixMetadata + `"auditID":"x","verb":"get"}`)
	f.Add(eventPrefix + `"level":"Request","verb":"get"}`)
	f.Add(eventPrefix + `}`)
	f.Add(eventPrefixMetadata + ` }`)
	f.Add(eventPrefixMetadata + `,"verb":"get"}`)
	f.Add(eventPrefixMetadata[:30])
	f.Add(`  ` + eventPrefixMetadata + "\t\"verb\" : \"get\" }")
	// Keys guessed in the API server's order (keyOrder): optional ones
	// present, left out, blanks after the colon, a guessed key followed
	// by nothing but blanks, and the line ending inside the 32 bytes
	// compared.
	f.Add(eventPrefixMetadata + `"auditID":"a","stage":"ResponseComplete","requestURI":"/x","verb":"get","user":{"username":"u","uid":"1","groups":["g"],"extra":{}},"impersonatedUser":{"username":"i"},"sourceIPs":["1.2.3.4"],"userAgent":"ua","objectRef":{"resource":"pods","namespace":"n","name":"p","uid":"u","apiGroup":"","apiVersion":"v1","resourceVersion":"1","subresource":"log"},"responseStatus":{"metadata":{},"status":"Failure","message":"m","reason":"r","details":{},"code":404},"requestObject":{"a":1},"responseObject":{"b":2},"requestReceivedTimestamp":"2024-05-28T12:23:11.123456Z","stageTimestamp":"2024-05-28T12:23:11.223456Z","annotations":{}}`)
	f.Add(eventPrefixMetadata + `"auditID": "a","stage":  "x","verb":` + "\t" + `"get","objectRef":{"resource": "pods"},"responseStatus":{"code": 200},"stageTimestamp":"2024-05-28T12:23:11Z"}`)
	f.Add(eventPrefixMetadata + `"requestReceivedTimestamp":"2024-05-28T12:23:11Z","stageTimestamp":"x"}`)
	f.Add(eventPrefixMetadata + `"requestReceivedTimestamp":`)
	f.Add(`{"verb":` + strings.Repeat(" ", 30))
	f.Add(eventPrefixMetadata + `"auditID":` + strings.Repeat("\t", 30))
	f.Add(eventPrefixMetadata + `"requestReceivedTimestampX":"2024-05-28T12:23:11Z","verb":"get"}`)
	f.Fuzz(func(t *testing.T, line string) {
		var p Parser
		var ev Event
		err := p.Parse([]byte(line), &ev)
		// Skipping the known prefix and finding strings' ends in the
		// index change nothing: the same fields and the same error as the
		// parse member by member with the scanner.
		var gp Parser
		var gev Event
		gerr := gp.parseGeneral([]byte(line), &gev)
		if !reflect.DeepEqual(ev, gev) || fmt.Sprint(err) != fmt.Sprint(gerr) {
			t.Fatalf("Parse(%q) = %+v, %v; member by member %+v, %v", line, ev, err, gev, gerr)
		}
		if !utf8.ValidString(line) || !json.Valid([]byte(line)) {
			return
		}
		var top map[string]any
		if json.Unmarshal([]byte(line), &top) != nil || top == nil {
			return // valid JSON but not an object ("null" decodes to a nil map)
		}
		if err != nil {
			t.Fatalf("Parse rejected valid JSON %q: %v", line, err)
		}
		str := func(m map[string]any, k string) string {
			s, _ := m[k].(string)
			return s
		}
		obj := func(k string) map[string]any {
			o, _ := top[k].(map[string]any)
			return o
		}
		checks := []struct {
			field     string
			got, want string
		}{
			{"verb", string(ev.Verb), str(top, "verb")},
			{"stage", string(ev.Stage), str(top, "stage")},
			{"auditID", string(ev.AuditID), str(top, "auditID")},
			{"requestURI", string(ev.RequestURI), str(top, "requestURI")},
			{"userAgent", string(ev.UserAgent), str(top, "userAgent")},
			{"user.username", string(ev.Username), str(obj("user"), "username")},
			{"objectRef.resource", string(ev.Resource), str(obj("objectRef"), "resource")},
			{"objectRef.namespace", string(ev.Namespace), str(obj("objectRef"), "namespace")},
			{"objectRef.name", string(ev.Name), str(obj("objectRef"), "name")},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("%s = %q, encoding/json says %q (line %q)", c.field, c.got, c.want, line)
			}
		}
	})
}

// TestScanStringFast checks the assembly scan against the portable one on
// every length and position of quotes and backslashes, around the sixteen
// bytes it compares at once.
func TestScanStringFast(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte(`ab"\`)
	for n := range 50 {
		for range 400 {
			b := make([]byte, n)
			for k := range b {
				b[k] = 'x'
				if rng.IntN(8) == 0 {
					b[k] = alphabet[rng.IntN(len(alphabet))]
				}
			}
			for i := 0; i <= n; i++ {
				end, esc := scanStringFast(b, i)
				wantEnd, wantEsc := scanStringSWAR(b, i)
				if end != wantEnd || (end >= 0 && esc != wantEsc) {
					t.Fatalf("scanStringFast(%q, %d) = %d, %v; want %d, %v", b, i, end, esc, wantEnd, wantEsc)
				}
			}
		}
	}
}

// parseGeneral is Parse without the API server's prefix, every member
// parsed, and without the line's index: every string's end found by the
// scanner (the empty index answers nothing).
func (p *Parser) parseGeneral(line []byte, ev *Event) error {
	*ev = Event{}
	p.scratch = p.scratch[:0]
	i := skipWS(line, 0)
	if i >= len(line) || line[i] != '{' {
		return syntaxErr(i, "not a JSON object")
	}
	p.idx.m = nil
	end, err := p.object(line, i+1, ev, fieldsTop)
	if err != nil {
		return err
	}
	return trailing(line, end)
}

// Every generated line, cut at every length and with a byte changed around
// the prefix's end or a quote or backslash put anywhere, parses as member
// by member without the index.
func TestEventPrefixSameAsGeneral(t *testing.T) {
	var buf bytes.Buffer
	if _, err := Generate(&buf, GenerateOptions{Seed: 5, Bytes: 64 << 10}); err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSuffix(buf.Bytes(), []byte("\n")), []byte("\n"))
	var p, gp Parser
	var ev, gev Event
	same := func(line []byte) {
		t.Helper()
		err, gerr := p.Parse(line, &ev), gp.parseGeneral(line, &gev)
		if !reflect.DeepEqual(ev, gev) || fmt.Sprint(err) != fmt.Sprint(gerr) {
			t.Fatalf("Parse(%q) = %+v, %v; member by member %+v, %v", line, ev, err, gev, gerr)
		}
	}
	prefixed := 0
	for _, l := range lines {
		if apiServerPrefix(l) > 0 {
			prefixed++
		}
		same(l)
		// Every length: strings cut anywhere, in and past every 64-byte
		// word of the index.
		for n := 0; n <= len(l); n++ {
			same(l[:n])
		}
		// A quote or a backslash anywhere: strings ended early, escapes
		// the index does not resolve.
		for at := 0; at < len(l); at += 5 {
			for _, c := range []byte{'"', '\\'} {
				m := bytes.Clone(l)
				m[at] = c
				same(m)
			}
		}
		for at := len(eventPrefix) - 2; at < len(eventPrefixMetadata)+3 && at < len(l); at++ {
			for _, c := range []byte{'}', ',', ' ', '"', '\\', 'x', ':'} {
				m := bytes.Clone(l)
				m[at] = c
				same(m)
			}
		}
	}
	if prefixed == 0 {
		t.Fatal("no generated line has the API server's prefix")
	}
}

func TestEightDigits(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 100000 {
		var b [8]byte
		for k := range b {
			b[k] = byte('0' + rng.IntN(10))
		}
		if rng.IntN(4) == 0 {
			b[rng.IntN(8)] = byte(rng.IntN(256))
		}
		want, err := strconv.ParseUint(string(b[:]), 10, 64)
		got, ok := eightDigits(binary.LittleEndian.Uint64(b[:]))
		if ok != (err == nil) || (ok && got != want) {
			t.Fatalf("eightDigits(%q) = %d, %v; want %d, %v", b, got, ok, want, err)
		}
	}
}
