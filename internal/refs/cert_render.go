package refs

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/output"
	"github.com/premortem/premortem/internal/snapshot"
)

var certWriters = output.Writers[*CertResult]{{Format: "table", Write: writeCertTable}, output.Wide(writeCertTable), output.JSONWriter[*CertResult]()}

// WriteCertificates renders r as "table" or "json" (Formats).
func WriteCertificates(w io.Writer, format string, r *CertResult) error {
	return certWriters.Write(w, format, r)
}

func writeCertTable(w io.Writer, r *CertResult) error {
	for _, s := range r.Servers {
		fmt.Fprintf(w, "%s (%s)\n", output.Text(s.Address), output.Text(s.Via))
		tw := output.NewTable(w, output.DisplayOf(w), 2).Shrink(2, 0)
		fmt.Fprintln(tw, "  NAME\tCOVERED\tCERTIFICATE")
		var last *snapshot.Certificate
		for _, nc := range s.Names {
			covered, cert := "unknown", ""
			switch {
			case nc.Covered == nil:
				cert = "not read: " + nc.Error
			case *nc.Covered:
				covered = "yes"
			default:
				covered = "NO"
			}
			if nc.Certificate != nil {
				if last != nil && sameCertificate(last, nc.Certificate) {
					cert = "the same"
				} else {
					cert = describeCertificate(nc.Certificate)
				}
				last = nc.Certificate
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", output.Text(nc.Name), covered, output.Text(cert))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	if n := r.Uncovered(); n > 0 {
		fmt.Fprintf(w, "%s: a client that verifies the certificate fails with \"certificate is valid for ..., not NAME\".\n",
			check.Plural(n, "name is not covered by a server's certificate", "names are not covered by a server's certificate"))
	}
	for _, s := range r.NotRead {
		fmt.Fprintf(w, "NOT READ: %s\n", output.Text(s))
	}
	if !r.Complete() {
		fmt.Fprintln(w, "The answer is incomplete: what was not read is unknown.")
	}
	return nil
}

func describeCertificate(c *snapshot.Certificate) string {
	var sans []string
	for _, d := range c.DNSNames {
		sans = append(sans, "DNS:"+d)
	}
	for _, ip := range c.IPAddresses {
		sans = append(sans, "IP:"+ip)
	}
	return fmt.Sprintf("%s, not after %s: %s", c.Subject, check.FormatTime(c.NotAfter), strings.Join(sans, " "))
}

func sameCertificate(a, b *snapshot.Certificate) bool {
	return a.Subject == b.Subject && a.NotAfter.Equal(b.NotAfter) && slices.Equal(a.DNSNames, b.DNSNames) && slices.Equal(a.IPAddresses, b.IPAddresses)
}
