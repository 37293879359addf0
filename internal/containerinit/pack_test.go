package containerinit

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"reflect"
	"runtime"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/golxc/golxc/internal/pack"
	"github.com/golxc/golxc/internal/pack/packtest"
)

// Everything a sync message reaches goes through pack as it went through
// encoding/json: no type with a JSON form of its own, no kind pack
// refuses. Windows.CredentialSpec (an interface) is runtime-spec's for
// Windows containers, which golxc never fills: pack carries it nil and
// refuses it set.
func TestMessagePackable(t *testing.T) {
	packtest.Audit(t, message{})
	packtest.Audit(t, Spec{}, "specs.Windows.CredentialSpec")
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

// The spec as the stage gets it: packed, inside the "spec" message.
func TestSpecPackRoundTrip(t *testing.T) {
	check := func(t *testing.T, in *Spec) {
		t.Helper()
		packed, err := pack.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		b, err := pack.Marshal(&message{Type: "spec", Spec: packed, NullFDs: []int{0}})
		if err != nil {
			t.Fatal(err)
		}
		m := new(message)
		if err := pack.Unmarshal(b, m); err != nil {
			t.Fatal(err)
		}
		out := new(Spec)
		if err := pack.Unmarshal(m.Spec, out); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(out, in) {
			t.Fatalf("round trip\n got %#v\nwant %#v", out, in)
		}
	}
	t.Run("busybox", func(t *testing.T) {
		check(t, busyboxSpec(t))
	})
	t.Run("random", func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 6))
		for range 300 {
			s := new(Spec)
			packtest.Fill(r, s)
			if s.OCI.Windows != nil {
				s.OCI.Windows.CredentialSpec = nil
			}
			check(t, s)
		}
	})
}

// A message from the stage, hostile, may say it carries a spec: the
// parent's decode makes one copy of those bytes and builds nothing from
// them (a Spec decoded there cost ~50 times the datagram).
func TestReplySpecBuildsNothing(t *testing.T) {
	many := &Spec{}
	for range 20000 {
		many.OCI.Mounts = append(many.OCI.Mounts, specs.Mount{})
	}
	packed, err := pack.Marshal(many)
	if err != nil {
		t.Fatal(err)
	}
	b, err := pack.Marshal(&message{Type: "ptys", Spec: packed})
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if err := pack.Unmarshal(b, new(message)); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 2*uint64(len(b))+64<<10 {
		t.Errorf("decoding a %d-byte reply that carries a packed spec allocated %d bytes, want about one copy", len(b), grew)
	}
}

// What the stage says is decoded as hostile: any bytes make an error or
// a message, never a panic.
func FuzzSyncMessage(f *testing.F) {
	packed, err := pack.Marshal(busyboxSpec(f))
	if err != nil {
		f.Fatal(err)
	}
	b, err := pack.Marshal(&message{Type: "spec", Spec: packed})
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
