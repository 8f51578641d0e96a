// Package requirements is the catalogue of documented behaviours the suite proves
// (catalogue.yaml). Every spec carries exactly one requirement ID as a Ginkgo label; the
// report traces each ID back to the sentence of documentation there.
package requirements

import (
	_ "embed"
	"fmt"
	"regexp"
	"sort"

	"sigs.k8s.io/yaml"

	"github.com/dsconform/dsconform/framework/report"
)

// Requirement is one documented behaviour: ID, area, the documented sentence (quoted or
// closely paraphrased) and where it is documented.
type Requirement = report.Requirement

// IDPattern is the form of a requirement ID, e.g. DS-PLACE-01.
var IDPattern = regexp.MustCompile(`^(DS|SP)-[A-Z]+-[0-9]{2}$`)

//go:embed catalogue.yaml
var catalogueYAML []byte

var catalogue = mustParse(catalogueYAML)

func mustParse(data []byte) []Requirement {
	var out []Requirement
	if err := yaml.UnmarshalStrict(data, &out); err != nil {
		panic(fmt.Sprintf("suites/requirements/catalogue.yaml: %v", err))
	}
	return out
}

// All returns the catalogue sorted by ID.
func All() []Requirement {
	out := append([]Requirement(nil), catalogue...)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Lookup returns the requirement with the given ID.
func Lookup(id string) (Requirement, bool) {
	for _, r := range catalogue {
		if r.ID == id {
			return r, true
		}
	}
	return Requirement{}, false
}

// Known reports whether id is a catalogued requirement.
func Known(id string) bool {
	_, ok := Lookup(id)
	return ok
}
