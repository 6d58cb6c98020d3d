package output

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
)

func TestFormats(t *testing.T) {
	for _, tc := range []struct {
		formats Formats
		want    string
	}{
		{Formats{"table"}, "table"},
		{Formats{"table", "json"}, "table or json"},
		{Formats{"table", "json", "html"}, "table, json or html"},
	} {
		if got := tc.formats.String(); got != tc.want {
			t.Errorf("%v.String() = %q, want %q", []string(tc.formats), got, tc.want)
		}
		if err := tc.formats.Check(tc.formats.Default()); err != nil {
			t.Errorf("Check(default) = %v", err)
		}
		err := tc.formats.Check("yaml")
		if err == nil || !strings.Contains(err.Error(), `"yaml"`) || !strings.Contains(err.Error(), "want "+tc.want) {
			t.Errorf("Check(yaml) = %v", err)
		}
	}
}

func TestJSON(t *testing.T) {
	var b bytes.Buffer
	if err := JSON(&b, map[string]int{"a": 1}); err != nil {
		t.Fatal(err)
	}
	if got, want := b.String(), "{\n  \"a\": 1\n}\n"; got != want {
		t.Errorf("JSON = %q, want %q", got, want)
	}
	if err := JSON(&b, func() {}); err == nil {
		t.Error("JSON of a func: want an error")
	}
}

func TestWriters(t *testing.T) {
	ws := Writers[int]{
		{Format: "table", Write: func(w io.Writer, v int) error { _, err := fmt.Fprintf(w, "n=%d", v); return err }},
		JSONWriter[int](),
	}
	if got := ws.Formats().String(); got != "table or json" {
		t.Errorf("Formats = %q", got)
	}
	for format, want := range map[string]string{"": "n=7", "table": "n=7", "json": "7\n"} {
		var b bytes.Buffer
		if err := ws.Write(&b, format, 7); err != nil || b.String() != want {
			t.Errorf("Write(%q) = %q, %v; want %q", format, b.String(), err, want)
		}
	}
	if err := ws.Write(&bytes.Buffer{}, "yaml", 7); err == nil || !strings.Contains(err.Error(), `"yaml": want table or json`) {
		t.Errorf("Write(yaml) = %v", err)
	}
}
