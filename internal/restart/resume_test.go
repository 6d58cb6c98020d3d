package restart

import (
	"strings"
	"testing"
	"time"
)

func TestOpenRun(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 9, 21, 10, 30, 0, 0, time.UTC)
	scope := Scope("", "", nil)

	first, err := OpenRun(dir, "https://a", scope, "", now)
	if err != nil || first.Resumed != nil || !strings.HasPrefix(first.ID, "r20260921-103000-") || first.ResumeNote() != "" {
		t.Fatalf("new run = %+v, %v", first, err)
	}
	if err := first.Begin(now); err != nil {
		t.Fatal(err)
	}
	again, err := OpenRun(dir, "https://a", scope, "", now.Add(time.Hour))
	if err != nil || again.ID != first.ID || again.Resumed == nil || !strings.Contains(again.ResumeNote(), "Resuming run "+first.ID) {
		t.Fatalf("resumed run = %+v, %v", again, err)
	}
	other, err := OpenRun(dir, "https://b", scope, "", now)
	if err != nil || other.ID == first.ID || other.Resumed != nil {
		t.Fatalf("another server's run = %+v, %v", other, err)
	}
	given, err := OpenRun(dir, "https://a", scope, "r-given", now)
	if err != nil || given.ID != "r-given" || given.Resumed != nil {
		t.Fatalf("given run = %+v, %v", given, err)
	}
	if err := again.Finish(); err != nil {
		t.Fatal(err)
	}
	if fresh, err := OpenRun(dir, "https://a", scope, "", now); err != nil || fresh.Resumed != nil {
		t.Fatalf("after Finish = %+v, %v", fresh, err)
	}
}
