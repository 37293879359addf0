package containerinit

import (
	"encoding/json"
	"testing"
)

// The shape the stage teaches encoding/json with fits Spec: a field of
// the wrong kind (an object where Spec has a list) fails the decode.
func TestSpecShapeDecodes(t *testing.T) {
	if err := json.Unmarshal([]byte(specShape), new(Spec)); err != nil {
		t.Fatal(err)
	}
}
