package report

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestReadProvenBy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sensitivity.json")
	if _, ok := ReadProvenBy(path); ok {
		t.Fatal("no self-test ran: want ok=false")
	}
	if err := os.WriteFile(path, []byte(`{"faults":[],"requirements":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, ok := ReadProvenBy(path); ok {
		t.Fatal("a page without provenBy (an older self-test): want ok=false")
	}
	data := `{"faults":[{"fault":"dsc-off"},{"fault":"gc-off"}],
	  "requirements":[{"id":"DS-DEL-01","cells":["caught","caught"]},{"id":"DS-VAL-01","cells":["passed",""]}],"unproven":[],
	  "provenBy":{"DS-DEL-01":["dsc-off","gc-off"]}}`
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	got, ok := ReadProvenBy(path)
	if !ok {
		t.Fatal("want ok=true")
	}
	if want := []string{"dsc-off", "gc-off"}; !reflect.DeepEqual(got["DS-DEL-01"], want) {
		t.Errorf("DS-DEL-01 proven by %v, want %v", got["DS-DEL-01"], want)
	}
	if len(got["DS-VAL-01"]) != 0 {
		t.Errorf("DS-VAL-01 passed under every fault run: proven by %v, want none", got["DS-VAL-01"])
	}
}
