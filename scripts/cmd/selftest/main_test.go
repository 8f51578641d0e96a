package main

import (
	"strings"
	"testing"

	"github.com/dsconform/dsconform/framework/selftest"
)

func TestSelectedRefusesUnknownFaults(t *testing.T) {
	faults := []selftest.Fault{{ID: "a"}, {ID: "b"}}
	got, err := selected(faults, "b, a")
	if err != nil || len(got) != 2 || got[0].ID != "b" || got[1].ID != "a" {
		t.Fatalf("selected(b, a) = %v, %v", got, err)
	}
	if _, err := selected(faults, "a,typo"); err == nil || !strings.Contains(err.Error(), "no such fault: typo") {
		t.Fatalf("an unknown id must be refused by name, got %v", err)
	}
	if got, err := selected(faults, ""); err != nil || len(got) != 2 {
		t.Fatalf("no FAULTS selects all: %v, %v", got, err)
	}
}

func TestLaneCount(t *testing.T) {
	for _, c := range []struct {
		v      string
		faults int
		want   int
		bad    bool
	}{{"", 79, 1, false}, {"2", 79, 2, false}, {"3", 2, 2, false}, {"0", 79, 0, true}, {"5", 79, 0, true}, {"two", 79, 0, true}} {
		got, err := laneCount(c.v, c.faults)
		if (err != nil) != c.bad || got != c.want {
			t.Errorf("laneCount(%q, %d) = %d, %v; want %d (error %v)", c.v, c.faults, got, err, c.want, c.bad)
		}
	}
	if got := laneName("dsconform", 2); got != "dsconform-st2" {
		t.Errorf("laneName = %q", got)
	}
}
