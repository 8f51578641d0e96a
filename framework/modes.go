package framework

import (
	"fmt"
	"sort"
	"strings"
)

// Mode is a named selection of the suite that a person can say in one word, the same in
// every entry point: `MODE=quick make e2e`, the suite image's E2E_MODE (or E2E_FOCUS set to
// a mode's name, which is how Hydrophone's --focus reaches it).
type Mode struct {
	Name        string
	Description string
	// LabelFilter selects the mode's specs (combined with any label filter given).
	LabelFilter string
	// NodeChanges: "never" forbids every change to a node, even on kind; "allowed" is the
	// opt-in to node changes on any cluster; "" leaves it to the cluster kind and
	// E2E_ALLOW_NODE_CHANGES.
	NodeChanges string
}

// Modes are the suite's named modes.
var Modes = map[string]Mode{
	"quick": {Name: "quick", LabelFilter: "quick", NodeChanges: "never",
		Description: "a smoke test of a few API-only specs, under two minutes: proves the setup works, certifies nothing"},
	"non-disruptive": {Name: "non-disruptive", LabelFilter: "!disruptive && !self-test", NodeChanges: "never",
		Description: "every spec that changes nothing on a node; specs that would are skipped, saying so"},
	"certified": {Name: "certified", LabelFilter: "!self-test", NodeChanges: "allowed",
		Description: "everything, node changes included (choosing this mode is the opt-in to them)"},
}

// LookupMode returns the named mode; "" is no mode (the selection given by labels alone).
func LookupMode(name string) (Mode, bool, error) {
	if name == "" {
		return Mode{}, false, nil
	}
	m, ok := Modes[strings.ToLower(name)]
	if !ok {
		names := make([]string, 0, len(Modes))
		for n := range Modes {
			names = append(names, n)
		}
		sort.Strings(names)
		return Mode{}, false, fmt.Errorf("E2E_MODE=%q: want one of %s", name, strings.Join(names, ", "))
	}
	return m, true, nil
}

// CombineLabelFilters ands label filters, skipping empty ones.
func CombineLabelFilters(filters ...string) string {
	var parts []string
	for _, f := range filters {
		if strings.TrimSpace(f) != "" {
			parts = append(parts, "("+f+")")
		}
	}
	return strings.Join(parts, " && ")
}

// NodeChangesAllowed decides whether the suite may change nodes: never in a mode that
// forbids it; on a kind cluster; or with E2E_ALLOW_NODE_CHANGES or a mode that opts in.
func (c *Config) NodeChangesAllowed(isKind bool) bool {
	m, _, _ := LookupMode(c.Mode)
	switch m.NodeChanges {
	case "never":
		return false
	case "allowed":
		return true
	}
	return isKind || c.AllowNodeChanges
}

// SuiteLabelFilter is the label filter a run uses: the one asked for, narrowed by the
// named mode's (none without a mode).
func SuiteLabelFilter(asked, mode string) (string, error) {
	m, ok, err := LookupMode(mode)
	if err != nil || !ok {
		return asked, err
	}
	return CombineLabelFilters(asked, m.LabelFilter), nil
}
