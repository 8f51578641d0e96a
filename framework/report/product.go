package report

import (
	"fmt"
	"net/mail"
	"net/url"
	"slices"
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

// ParseProduct reads a PRODUCT.yaml and checks it by the CNCF conformance bot's rules
// (kubernetes-sigs/verify-conformance): vendor, name, version, type, description,
// website_url, documentation_url and contact_email_address are required and non-empty;
// URLs must be absolute http(s) URLs, the email an address, type one of the three
// kinds. Unknown fields are refused, so a misspelt one is not silently dropped. The error
// is one line naming every problem.
func ParseProduct(data []byte) (Product, error) {
	var p Product
	if err := yaml.UnmarshalStrict(data, &p); err != nil {
		return p, fmt.Errorf("PRODUCT.yaml: %v", err)
	}
	var problems, missing []string
	for _, f := range []struct{ name, v string }{{"vendor", p.Vendor}, {"name", p.Name}, {"version", p.Version},
		{"type", p.Type}, {"description", p.Description}, {"website_url", p.WebsiteURL},
		{"documentation_url", p.DocumentationURL}, {"contact_email_address", p.ContactEmail}} {
		if strings.TrimSpace(f.v) == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		problems = append(problems, "missing "+strings.Join(missing, ", "))
	}
	for _, f := range []struct{ name, v string }{{"website_url", p.WebsiteURL}, {"documentation_url", p.DocumentationURL},
		{"repo_url", p.RepoURL}, {"product_logo_url", p.ProductLogoURL}} {
		if f.v == "" {
			continue
		}
		if u, err := url.Parse(f.v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			problems = append(problems, fmt.Sprintf("%s %q is not an http(s) URL", f.name, f.v))
		}
	}
	if p.ContactEmail != "" {
		if a, err := mail.ParseAddress(p.ContactEmail); err != nil || a.Address != p.ContactEmail {
			problems = append(problems, fmt.Sprintf("contact_email_address %q is not an email address", p.ContactEmail))
		}
	}
	if p.Type != "" && !slices.Contains(productTypes, p.Type) {
		problems = append(problems, fmt.Sprintf("type %q is not one of %s", p.Type, strings.Join(productTypes, ", ")))
	}
	if len(problems) > 0 {
		return p, fmt.Errorf("PRODUCT.yaml: %s (the CNCF conformance bot's rules)", strings.Join(problems, "; "))
	}
	return p, nil
}

// productTypes are the kinds of product the CNCF conformance program certifies.
var productTypes = []string{"distribution", "hosted platform", "installer"}
