package requirements

import "testing"

func TestCatalogueIsWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range All() {
		if !IDPattern.MatchString(r.ID) {
			t.Errorf("%q does not match %s", r.ID, IDPattern)
		}
		if seen[r.ID] {
			t.Errorf("%s is listed twice", r.ID)
		}
		seen[r.ID] = true
		if r.Statement == "" || r.Source == "" || r.Area == "" {
			t.Errorf("%s needs an area, a statement and a source", r.ID)
		}
	}
	if len(All()) < 78 {
		t.Errorf("catalogue.yaml holds %d requirements; it held 78 in session 6", len(All()))
	}
	if _, ok := Lookup("DS-PLACE-01"); !ok {
		t.Error("Lookup(DS-PLACE-01) found nothing")
	}
}
