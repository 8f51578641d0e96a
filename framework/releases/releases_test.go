package releases

import (
	"strings"
	"testing"
	"time"
)

func TestTable(t *testing.T) {
	rs, err := parse(table)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) < 4 {
		t.Fatalf("releases.txt has %d releases", len(rs))
	}
	for _, r := range rs {
		for _, p := range r.Buildable {
			if m, err := MinorOf(p); err != nil || m != r.Minor {
				t.Errorf("%s lists buildable patch %q of another minor (%v)", r.Minor, p, err)
			}
		}
		if m, err := MinorOf(r.KindImage); err != nil || m != r.Minor {
			t.Errorf("%s lists kind image %q of another minor (%v)", r.Minor, r.KindImage, err)
		}
	}
	if _, err := parse("1.40 2028-01-01 v1.40.0"); err == nil || !strings.Contains(err.Error(), "want 5 fields") {
		t.Errorf("a short line: err = %v", err)
	}
}

func TestSupportedOn(t *testing.T) {
	day := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	if got := strings.Join(SupportedOn(day), " "); got != "v1.35.8 v1.36.4 v1.37.2" {
		t.Errorf("supported on %s: %s", day.Format("2006-01-02"), got)
	}
	r, _ := Lookup("v1.34.4")
	if !r.Supported(time.Date(2026, 10, 27, 23, 0, 0, 0, time.UTC)) || r.Supported(time.Date(2026, 10, 28, 0, 0, 1, 0, time.UTC)) {
		t.Error("1.34 is supported through 2026-10-27 and not after")
	}
	if s := r.Status(day); !strings.Contains(s, "END OF LIFE since 2026-10-27") {
		t.Errorf("1.34 status = %q", s)
	}
}

func TestLookup(t *testing.T) {
	if r, err := Lookup("v1.37.2+abc"); err != nil || r.Minor != "1.37" {
		t.Errorf("v1.37.2+abc: %v %v", r, err)
	}
	for in, want := range map[string]string{
		"1.37.2":  "not of the form v1.MINOR.PATCH",
		"v1.37":   "not of the form",
		"v1.99.0": "not a release this suite knows (known: 1.34, 1.35, 1.36, 1.37)",
		"v2.0.0":  "not of the form",
	} {
		if _, err := Lookup(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Lookup(%q) = %v, want an error containing %q", in, err, want)
		}
	}
	if !AtLeast("1.37", "1.35") || AtLeast("1.34", "1.35") || !AtLeast("1.35", "1.35") {
		t.Error("AtLeast")
	}
}

func TestPublishedKindImage(t *testing.T) {
	for version, want := range map[string]string{
		"v1.35.8":  "kindest/node:v1.35.8",
		"v1.36.4":  "kindest/node:v1.36.4",
		"v1.37.0":  "kindest/node:v1.37.0",
		"v1.34.11": "kindest/node:v1.34.11",
		"v1.37.2":  "", // kind publishes v1.37.0: build the requested patch
		"v1.35.7":  "",
		"v1.99.1":  "",
	} {
		got := PublishedKindImage(version)
		if got.Image != want {
			t.Errorf("PublishedKindImage(%s) = %q (%s), want %q", version, got.Image, got.Reason, want)
		}
		if got.Reason == "" {
			t.Errorf("PublishedKindImage(%s) gives no reason", version)
		}
	}
	if r := PublishedKindImage("v1.37.2").Reason; !strings.Contains(r, "publishes v1.37.0") || !strings.Contains(r, "KUBERNETES_VERSION=v1.37.0") {
		t.Errorf("reason for v1.37.2: %q", r)
	}
}

func TestCNCFCertifiable(t *testing.T) {
	all := All()
	day := func(s string) time.Time { d, _ := time.Parse("2006-01-02", s); return d }
	for _, tc := range []struct {
		minor, on string
		want      bool
	}{
		{"1.37", "2026-11-30", true}, {"1.35", "2026-11-30", true}, {"1.34", "2026-11-30", false},
		{"1.34", "2026-08-01", true}, // before 1.37's release, 1.34 was one of the three newest
	} {
		r, err := Lookup("v" + tc.minor + ".0")
		if err != nil {
			t.Fatal(err)
		}
		if got := r.CNCFCertifiable(day(tc.on), all); got != tc.want {
			t.Errorf("%s on %s: CNCF-certifiable = %v, want %v", tc.minor, tc.on, got, tc.want)
		}
	}
	r, _ := Lookup("v1.37.2")
	if s := r.Standing(day("2026-11-30"), all); !strings.Contains(s, "supported until 2027-10-28") || !strings.Contains(s, "CNCF-certifiable") {
		t.Errorf("Standing = %q", s)
	}
}
