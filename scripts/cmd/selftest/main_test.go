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
