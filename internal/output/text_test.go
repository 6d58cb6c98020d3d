package output

import "testing"

func TestText(t *testing.T) {
	for in, want := range map[string]string{
		"kube-system/calico-node":      "kube-system/calico-node",
		"café ✓ 日本":                    "café ✓ 日本",
		"evil\n| CRITICAL | forged |":  `evil\n| CRITICAL | forged |`,
		"agent\x1b[2J\x1b]0;pwned\x07": `agent\x1b[2J\x1b]0;pwned\x07`,
		"tab\there\rback":              `tab\there\rback`,
		"del\x7f c1\u0085 nel":         `del\x7f c1\u0085 nel`,
		"user\u202eexe.txt":            `user\u202eexe.txt`,
		"bad \xff\xfe utf8":            `bad \xff\xfe utf8`,
		"line\u2028sep":                `line\u2028sep`,
	} {
		if got := Text(in); got != want {
			t.Errorf("Text(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLines(t *testing.T) {
	if got, want := Lines("one\ntwo\x1b[2J\tthree"), "one\ntwo\\x1b[2J\\tthree"; got != want {
		t.Errorf("Lines = %q, want %q", got, want)
	}
}

func FuzzText(f *testing.F) {
	f.Add("a\x1b[31mb\n")
	f.Fuzz(func(t *testing.T, s string) {
		out := Text(s)
		for i := 0; i < len(out); i++ {
			if c := out[i]; c < 0x20 || c == 0x7f {
				t.Fatalf("Text(%q) = %q keeps control byte %#x", s, out, c)
			}
		}
	})
}
