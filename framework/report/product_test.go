package report

import (
	"strings"
	"testing"
)

const goodProduct = `vendor: Example Corp
name: Example Kubernetes
version: v1.37.2-ex.1
type: distribution
description: An example.
website_url: https://example.com
documentation_url: https://example.com/docs
contact_email_address: k8s@example.com
`

func TestParseProduct(t *testing.T) {
	p, err := ParseProduct([]byte(goodProduct))
	if err != nil || p.Vendor != "Example Corp" || p.Version != "v1.37.2-ex.1" || p.Type != "distribution" {
		t.Fatalf("ParseProduct = %+v, %v", p, err)
	}
	without := func(field string) string {
		var keep []string
		for _, l := range strings.Split(goodProduct, "\n") {
			if !strings.HasPrefix(l, field+":") {
				keep = append(keep, l)
			}
		}
		return strings.Join(keep, "\n")
	}
	for in, want := range map[string]string{
		without("contact_email_address"): "missing contact_email_address",
		without("description"):           "missing description",
		"vendor: x\n":                    "missing name, version, type, description, website_url, documentation_url, contact_email_address",
		goodProduct + "websit_url: u\n":  "unknown field",
		"[not yaml":                      "PRODUCT.yaml",
		strings.Replace(goodProduct, "https://example.com/docs", "example.com/docs", 1): `documentation_url "example.com/docs" is not an http(s) URL`,
		strings.Replace(goodProduct, "k8s@example.com", "k8s at example", 1):            `contact_email_address "k8s at example" is not an email address`,
		strings.Replace(goodProduct, "type: distribution", "type: cloud", 1):            `type "cloud" is not one of distribution, hosted platform, installer`,
	} {
		_, err := ParseProduct([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseProduct(%q) error = %v, want %q", in, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("the error should be one line: %q", err)
		}
	}
}
