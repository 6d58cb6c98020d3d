package refs

import "testing"

func TestLine(t *testing.T) {
	text := "a: 1\n    - https://10.64.0.117:6443\nb: 2"
	if got := line(text, 15, 11, 80); got != "- https://10.64.0.117:6443" {
		t.Errorf("line = %q", got)
	}
	long := "x0123456789abcdefghij10.64.0.117klmnopqrstuvwxyz"
	if got := line(long, 21, 11, 15); got != "…ij10.64.0.117kl…" {
		t.Errorf("cut line = %q", got)
	}
}
