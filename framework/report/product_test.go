package report

import (
	"strings"
	"testing"
)

func TestParseProduct(t *testing.T) {
	p, err := ParseProduct([]byte("vendor: Example Corp\nname: Example Kubernetes\nversion: v1.37.2-ex.1\ntype: distribution\nwebsite_url: https://example.com\n"))
	if err != nil || p.Vendor != "Example Corp" || p.Version != "v1.37.2-ex.1" || p.Type != "distribution" {
		t.Fatalf("ParseProduct = %+v, %v", p, err)
	}
	for in, want := range map[string]string{
		"vendor: x\n": "missing name, version",
		"vendor: x\nname: y\nversion: z\nwebsit_url: u\n": "unknown field",
		"[not yaml": "PRODUCT.yaml",
	} {
		if _, err := ParseProduct([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseProduct(%q) error = %v, want %q", in, err, want)
		}
	}
}
