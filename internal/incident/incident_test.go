package incident

import (
	"net/url"
	"testing"
)

func TestTable(t *testing.T) {
	prev := ""
	for _, in := range All() {
		if in.ID <= prev {
			t.Errorf("incident %q: IDs must be unique and in order (after %q)", in.ID, prev)
		}
		prev = in.ID
		if in.Title == "" || in.Org == "" || in.Latent == "" || in.Year < 2000 {
			t.Errorf("incident %s: title, organisation, year and latent condition are required: %+v", in.ID, in)
		}
		switch in.Seen {
		case SeenAPI, SeenAudit:
		case SeenNot:
			if in.Why == "" {
				t.Errorf("incident %s: say why premortem cannot see it", in.ID)
			}
		default:
			t.Errorf("incident %s: Seen %q is not one of the Visibility values", in.ID, in.Seen)
		}
		if u, err := url.Parse(in.URL); err != nil || u.Scheme != "https" || u.Host == "" {
			t.Errorf("incident %s: URL %q is not a public https address", in.ID, in.URL)
		}
		if got, ok := Lookup(in.ID); !ok || got != in {
			t.Errorf("Lookup(%s) = %+v, %v", in.ID, got, ok)
		}
	}
	if _, ok := Lookup("999"); ok {
		t.Error("Lookup found an unknown ID")
	}
}
