// Package releases knows the Kubernetes releases the suite certifies: their end of
// life, the patches that build offline from the Go module proxy, and the node image
// kind publishes for each. releases.txt is the one source; scripts read it too.
package releases

import (
	_ "embed"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed releases.txt
var table string

// Release is one Kubernetes minor.
type Release struct {
	Minor     string    // "1.37"
	EndOfLife time.Time // the last day of upstream support
	Buildable []string  // patches known to build offline, newest first
	KindImage string    // the patch kind v0.33.0 publishes a node image for
	Released  time.Time // the minor's release day
}

// Supported reports whether the release is still supported on day.
func (r Release) Supported(day time.Time) bool {
	return !day.After(r.EndOfLife.Add(24*time.Hour - time.Nanosecond))
}

// Status is what the report says of the release on day.
func (r Release) Status(day time.Time) string {
	if r.Supported(day) {
		return fmt.Sprintf("supported until %s", r.EndOfLife.Format("2006-01-02"))
	}
	return fmt.Sprintf("END OF LIFE since %s: no longer supported upstream", r.EndOfLife.Format("2006-01-02"))
}

// CNCFCertifiable reports whether, on day, a product on this release can be submitted for
// CNCF certified conformance: the release must be the newest released minor or one of the
// two before it (cncf/k8s-conformance). That is not the same as supported upstream.
func (r Release) CNCFCertifiable(day time.Time, all []Release) bool {
	var released []string
	for _, x := range all {
		if !x.Released.After(day) {
			released = append(released, x.Minor)
		}
	}
	sort.Slice(released, func(i, j int) bool { return minorNumber(released[i]) > minorNumber(released[j]) })
	for i, m := range released {
		if m == r.Minor {
			return i < 3
		}
	}
	return false
}

// Standing is what the report says of the release on day: upstream support and CNCF
// certifiability, each with its date.
func (r Release) Standing(day time.Time, all []Release) string {
	cncf := "not CNCF-certifiable (only the three newest minors are)"
	if r.CNCFCertifiable(day, all) {
		cncf = "CNCF-certifiable (one of the three newest minors) while no newer minor is released"
	}
	return r.Status(day) + "; " + cncf
}

// All returns the table, oldest minor first.
func All() []Release {
	rs, err := parse(table)
	if err != nil {
		panic(err) // releases.txt is part of the binary; TestTable keeps it valid
	}
	return rs
}

func parse(text string) ([]Release, error) {
	var out []Release
	for i, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if len(f) != 5 {
			return nil, fmt.Errorf("releases.txt:%d: want 5 fields (minor end-of-life patches kind-image released), got %q", i+1, line)
		}
		eol, err := time.Parse("2006-01-02", f[1])
		if err != nil {
			return nil, fmt.Errorf("releases.txt:%d: %v", i+1, err)
		}
		released, err := time.Parse("2006-01-02", f[4])
		if err != nil {
			return nil, fmt.Errorf("releases.txt:%d: %v", i+1, err)
		}
		out = append(out, Release{Minor: f[0], EndOfLife: eol, Buildable: strings.Split(f[2], ","), KindImage: f[3], Released: released})
	}
	return out, nil
}

var versionRE = regexp.MustCompile(`^v(1\.[0-9]+)\.[0-9]+$`)

// MinorOf returns "1.37" for "v1.37.2", or an error naming the expected form.
func MinorOf(version string) (string, error) {
	m := versionRE.FindStringSubmatch(version)
	if m == nil {
		return "", fmt.Errorf("Kubernetes version %q is not of the form v1.MINOR.PATCH (e.g. v1.37.2)", version)
	}
	return m[1], nil
}

// Lookup returns the release of a version such as "v1.37.2" (a "+build" suffix is ignored).
func Lookup(version string) (Release, error) {
	version, _, _ = strings.Cut(version, "+")
	minor, err := MinorOf(version)
	if err != nil {
		return Release{}, err
	}
	for _, r := range All() {
		if r.Minor == minor {
			return r, nil
		}
	}
	return Release{}, fmt.Errorf("Kubernetes %s is not a release this suite knows (known: %s); add it to framework/releases/releases.txt", minor, strings.Join(Minors(), ", "))
}

// Minors lists the known minors, oldest first.
func Minors() []string {
	var out []string
	for _, r := range All() {
		out = append(out, r.Minor)
	}
	return out
}

// SupportedOn returns the newest buildable patch of every release supported on day,
// oldest first: the default version matrix.
func SupportedOn(day time.Time) []string {
	var out []string
	for _, r := range All() {
		if r.Supported(day) {
			out = append(out, r.Buildable[0])
		}
	}
	return out
}

// KindImageChoice is which node image to use for a version where a registry is reachable.
type KindImageChoice struct {
	Image  string // kindest/node:<version>, empty when kind publishes none for it
	Reason string // why, for the log
}

// PublishedKindImage chooses kind's published node image for a requested version.
// Only an exact patch match is used: certifying v1.37.0 when v1.37.2 was asked for
// would put the wrong version in the report. Otherwise the image is built offline.
func PublishedKindImage(version string) KindImageChoice {
	r, err := Lookup(version)
	if err != nil {
		return KindImageChoice{Reason: err.Error()}
	}
	if r.KindImage == version {
		return KindImageChoice{Image: "kindest/node:" + version, Reason: "kind v0.33.0 publishes " + version}
	}
	return KindImageChoice{Reason: fmt.Sprintf("kind v0.33.0 publishes %s for Kubernetes %s, not %s: building %s offline (KUBERNETES_VERSION=%s uses kind's image)",
		r.KindImage, r.Minor, version, version, r.KindImage)}
}

// AtLeast reports whether minor a ("1.37") is at least b ("1.35").
func AtLeast(a, b string) bool {
	pa, pb := minorNumber(a), minorNumber(b)
	return pa >= pb
}

func minorNumber(minor string) int {
	_, m, _ := strings.Cut(minor, ".")
	n, _ := strconv.Atoi(m)
	return n
}
