package sizelimit

import "testing"

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want Size
		err  bool
	}{
		{in: "1048576", want: 1 << 20},
		{in: "64Mi", want: 64 << 20},
		{in: "64MiB", want: 64 << 20},
		{in: "2GiB", want: 2 << 30},
		{in: "1G", want: 1e9},
		{in: "10k", want: 10e3},
		{in: "100B", want: 100},
		{in: "", err: true},
		{in: "0", err: true},
		{in: "-5Mi", err: true},
		{in: "1.5Gi", err: true},
		{in: "NaN", err: true},
		{in: "99999999999Ti", err: true},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("Parse(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.err)
		}
		if err == nil {
			back, err := Parse(got.String())
			if err != nil || back != got {
				t.Errorf("Parse(%q.String() = %q) = %v, %v", tt.in, got.String(), back, err)
			}
		}
	}
}

func TestString(t *testing.T) {
	for s, want := range map[Size]string{64 << 20: "64MiB", 1 << 30: "1GiB", 1536: "1536B", 1000: "1000B", 3 << 40: "3TiB"} {
		if got := s.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int64(s), got, want)
		}
	}
}

// FuzzParse: a size flag never panics, and what it accepts prints back.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"64MiB", "1G", "1048576", "0", "-1", "9223372036854775807", "1Ti", "B", "MiB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Parse(s)
		if err != nil {
			return
		}
		if n <= 0 {
			t.Fatalf("Parse(%q) = %d", s, n)
		}
		if back, err := Parse(n.String()); err != nil || back != n {
			t.Fatalf("Parse(%q) = %v, printed %q, read back %v, %v", s, n, n.String(), back, err)
		}
	})
}
