package containerinit

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"reflect"
	"testing"

	"github.com/golxc/golxc/internal/pack"
	"github.com/golxc/golxc/internal/pack/packtest"
)

// Everything a sync message reaches goes through pack as it went through
// encoding/json: no type with a JSON form of its own, no kind pack
// refuses. Windows.CredentialSpec (an interface) is runtime-spec's for
// Windows containers, which golxc never fills: pack carries it nil and
// refuses it set.
func TestMessagePackable(t *testing.T) {
	packtest.Audit(t, message{}, "specs.Windows.CredentialSpec")
}

// busyboxSpec is the spec of `lxc-execute -n c -- /bin/true` of a busybox
// container (lxc.net.0.type = empty), as lxc built it.
func busyboxSpec(t testing.TB) *Spec {
	t.Helper()
	b, err := os.ReadFile("testdata/busybox-execute.json")
	if err != nil {
		t.Fatal(err)
	}
	s := new(Spec)
	if err := json.Unmarshal(b, s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSpecPackRoundTrip(t *testing.T) {
	check := func(t *testing.T, in *message) {
		t.Helper()
		b, err := pack.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		out := new(message)
		if err := pack.Unmarshal(b, out); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(out, in) {
			t.Fatalf("round trip\n got %#v\nwant %#v", out, in)
		}
	}
	t.Run("busybox", func(t *testing.T) {
		check(t, &message{Type: "spec", Spec: busyboxSpec(t), NullFDs: []int{0}})
	})
	t.Run("random", func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 6))
		for range 300 {
			m := new(message)
			packtest.Fill(r, m)
			if m.Spec != nil && m.Spec.OCI.Windows != nil {
				m.Spec.OCI.Windows.CredentialSpec = nil
			}
			check(t, m)
		}
	})
}

// What the stage says is decoded as hostile: any bytes make an error or
// a message, never a panic.
func FuzzSyncMessage(f *testing.F) {
	b, err := pack.Marshal(&message{Type: "spec", Spec: busyboxSpec(f)})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	for _, m := range []*message{{Type: "ptys", Console: true, TTYs: 2}, {Type: "error", Error: "x"}, {Type: "go"}} {
		b, _ := pack.Marshal(m)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		err := pack.Unmarshal(data, new(message))
		if pe := (*pack.PanicError)(nil); errors.As(err, &pe) {
			t.Fatal(err)
		}
	})
}

// The stage's decode of its spec, pack against encoding/json (warm: a
// cold figure needs a fresh process).
func BenchmarkSpecDecode(b *testing.B) {
	spec := busyboxSpec(b)
	j, _ := json.Marshal(spec)
	p, _ := pack.Marshal(spec)
	b.Logf("busybox spec: json %d bytes, pack %d", len(j), len(p))
	b.Run("json", func(b *testing.B) {
		for b.Loop() {
			if err := json.Unmarshal(j, new(Spec)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("pack", func(b *testing.B) {
		for b.Loop() {
			if err := pack.Unmarshal(p, new(Spec)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkSpecEncode(b *testing.B) {
	spec := busyboxSpec(b)
	b.Run("json", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.Marshal(spec); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("pack", func(b *testing.B) {
		for b.Loop() {
			if _, err := pack.Marshal(spec); err != nil {
				b.Fatal(err)
			}
		}
	})
}
