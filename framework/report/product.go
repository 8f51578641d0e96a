package report

import (
	"fmt"
	"strings"

	"sigs.k8s.io/yaml"
)

// Product is the certified product's metadata, in the fields of the CNCF conformance
// program's PRODUCT.yaml, carried into the report when the user supplies one
// (E2E_PRODUCT_FILE).
type Product struct {
	Vendor           string `json:"vendor"`
	Name             string `json:"name"`
	Version          string `json:"version"`
	WebsiteURL       string `json:"website_url,omitempty"`
	RepoURL          string `json:"repo_url,omitempty"`
	DocumentationURL string `json:"documentation_url,omitempty"`
	ProductLogoURL   string `json:"product_logo_url,omitempty"`
	Type             string `json:"type,omitempty"` // distribution, hosted platform, installer
	Description      string `json:"description,omitempty"`
	ContactEmail     string `json:"contact_email_address,omitempty"`
}

// ParseProduct reads a PRODUCT.yaml. Vendor, name and version are required; unknown
// fields are refused, so a misspelt one is not silently dropped from the report.
func ParseProduct(data []byte) (Product, error) {
	var p Product
	if err := yaml.UnmarshalStrict(data, &p); err != nil {
		return p, fmt.Errorf("PRODUCT.yaml: %v", err)
	}
	var missing []string
	for _, f := range []struct{ name, v string }{{"vendor", p.Vendor}, {"name", p.Name}, {"version", p.Version}} {
		if strings.TrimSpace(f.v) == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return p, fmt.Errorf("PRODUCT.yaml: missing %s", strings.Join(missing, ", "))
	}
	return p, nil
}
