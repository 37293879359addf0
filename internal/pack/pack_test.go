package pack_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/golxc/golxc/internal/pack"
	"github.com/golxc/golxc/internal/pack/packtest"
)

type kind string

type inner struct {
	A string
	B []int
}

type embedded struct {
	Promoted string
	hidden   int
}

type sample struct {
	Bool    bool
	Int     int
	I8      int8
	I64     int64
	U8      uint8
	U64     uint64
	F32     float32
	F64     float64
	Str     string
	Kind    kind
	Bytes   []byte
	Strs    []string
	Inners  []inner
	Ptr     *inner
	PtrInt  *int
	Map     map[kind]inner
	IntMap  map[int]*string
	Array   [3]uint16
	Any     any
	Skipped string `json:"-"`
	private string
	embedded
	Nested struct{ Deep []map[string][]*inner }
}

func roundTrip[T any](t *testing.T, in *T) *T {
	t.Helper()
	b, err := pack.Marshal(in)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	out := new(T)
	if err := pack.Unmarshal(b, out); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	one := 1
	s := "s"
	full := &sample{
		Bool: true, Int: -1 << 40, I8: -128, I64: math.MinInt64, U8: 255, U64: math.MaxUint64,
		F32: 1.5, F64: -math.MaxFloat64, Str: "ünï\x00\xff", Kind: "k",
		Bytes: []byte{0, 1, 2}, Strs: []string{"", "a"}, Inners: []inner{{A: "x"}, {B: []int{}}},
		Ptr: &inner{A: "p"}, PtrInt: &one, Map: map[kind]inner{"a": {A: "b"}, "": {}},
		IntMap: map[int]*string{1: &s, 2: nil}, Array: [3]uint16{1, 0, 65535},
		embedded: embedded{Promoted: "up"},
	}
	full.Nested.Deep = []map[string][]*inner{nil, {}, {"k": {nil, {A: "z"}}}}
	for _, tt := range []struct {
		name string
		in   *sample
	}{
		{"zero", &sample{}},
		{"empty, not nil", &sample{Bytes: []byte{}, Strs: []string{}, Map: map[kind]inner{}, Inners: []inner{}}},
		{"full", full},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := roundTrip(t, tt.in); !reflect.DeepEqual(got, tt.in) {
				t.Errorf("round trip\n got %#v\nwant %#v", got, tt.in)
			}
		})
	}
}

type (
	addr   = netip.Addr
	prefix = netip.Prefix
	hidden struct {
		addr
		prefix
	}
)

type addrs struct {
	Addr    netip.Addr
	Zero    netip.Addr
	Zoned   netip.Addr
	Prefix  netip.Prefix
	Routes  []netip.Prefix
	Ptr     *netip.Addr
	ByName  map[string]netip.Addr
	Gateway struct{ Addr netip.Addr }
}

// A struct with its own binary form (netip's, which has no exported
// field) is carried in it; hostile bytes for it are refused by its
// UnmarshalBinary, with the path.
func TestBinaryForm(t *testing.T) {
	a := netip.MustParseAddr("10.0.3.1")
	in := &addrs{
		Addr: a, Zoned: netip.MustParseAddr("fe80::1%eth0"), Prefix: netip.MustParsePrefix("10.0.3.7/24"),
		Routes: []netip.Prefix{netip.MustParsePrefix("2001:db8::/32"), {}}, Ptr: &a,
		ByName: map[string]netip.Addr{"gw": a, "none": {}},
	}
	in.Gateway.Addr = netip.IPv6Loopback()
	if got := roundTrip(t, in); !reflect.DeepEqual(got, in) {
		t.Errorf("round trip\n got %#v\nwant %#v", got, in)
	}
	for _, tt := range []struct {
		name string
		data []byte
		want string
	}{
		{"three bytes", []byte{pack.Version, 3, 10, 0, 3}, "unexpected slice size"},
		{"past the end", []byte{pack.Version, 5, 10, 0, 3, 1}, "past the 4 bytes left"},
		{"cut", []byte{pack.Version}, "truncated"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := pack.Unmarshal(tt.data, new(netip.Addr)); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Unmarshal = %v, want an error with %q", err, tt.want)
			}
		})
	}
	bad := []byte{pack.Version, 3, 5, 10, 0, 3, 1, 24, 4, 10, 0, 3, 24} // 10.0.3.1/24, 10.0.3/24
	if err := pack.Unmarshal(bad, new([]netip.Prefix)); err == nil || !strings.Contains(err.Error(), "[1]: ") {
		t.Errorf("Unmarshal of a bad prefix = %v, want an error at [1]", err)
	}
	// A form its type would not make: netip.Prefix takes a length out of
	// range as an invalid prefix (whose JSON cannot be read back).
	outOfRange := []byte{pack.Version, 2, 5, 10, 0, 3, 7, 200} // 10.0.3.7/200
	if err := pack.Unmarshal(outOfRange, new([]netip.Prefix)); err == nil || !strings.Contains(err.Error(), "binary form not as its type makes it") {
		t.Errorf("Unmarshal of a /200 prefix = %v, want it refused", err)
	}
	// Length 255: the form an invalid prefix gives back itself, stable,
	// but its text ("invalid Prefix") does not read back.
	invalid := []byte{pack.Version, 2, 5, 10, 0, 3, 7, 0xff}
	if err := pack.Unmarshal(invalid, new([]netip.Prefix)); err == nil || !strings.Contains(err.Error(), "text form does not read back") {
		t.Errorf("Unmarshal of a /255 prefix = %v, want it refused", err)
	}
	good := []byte{pack.Version, 2, 5, 10, 0, 3, 7, 24}
	if err := pack.Unmarshal(good, new([]netip.Prefix)); err != nil {
		t.Errorf("Unmarshal of 10.0.3.7/24 = %v", err)
	}
	// Two embedded binary forms: the outer struct has neither method,
	// and the unexported fields' methods cannot be called.
	if _, err := pack.Marshal(&hidden{addr: a}); err == nil || !strings.Contains(err.Error(), ".addr: struct with a binary form in an unexported embedded field") {
		t.Errorf("Marshal of an embedded Addr = %v, want it refused", err)
	}
}

// onlyMarshal has half a binary form; valueUnmarshal decodes into a copy.
type onlyMarshal struct{ X int }

func (onlyMarshal) MarshalBinary() ([]byte, error) { return nil, nil }

type valueUnmarshal struct{ X int }

func (valueUnmarshal) MarshalBinary() ([]byte, error) { return nil, nil }
func (valueUnmarshal) UnmarshalBinary([]byte) error   { return nil }

// A binary form counts only when the type declares both ends itself.
func TestBinaryFormRefused(t *testing.T) {
	type promoted struct {
		netip.Addr
		Name string
	}
	for _, tt := range []struct {
		name string
		v    any
		want string
	}{
		{"promoted from an embedded field", &promoted{Name: "x"}, ".Addr: struct that embeds a type with a binary form"},
		{"MarshalBinary alone", &onlyMarshal{X: 1}, "half a binary form"},
		{"UnmarshalBinary on the value", &valueUnmarshal{X: 1}, "half a binary form"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := pack.Marshal(tt.v); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Marshal = %v, want an error with %q", err, tt.want)
			}
		})
	}
}

// MarshalUTF8 refuses what JSON would turn into U+FFFD; Marshal carries
// it as it is.
func TestMarshalUTF8(t *testing.T) {
	in := &sample{Str: "caf\xe9"}
	if _, err := pack.MarshalUTF8(in); !errors.Is(err, pack.ErrNotUTF8) {
		t.Errorf("MarshalUTF8 of a Latin-1 string = %v, want ErrNotUTF8", err)
	}
	if got := roundTrip(t, in); got.Str != in.Str {
		t.Errorf("Marshal lost the bytes: %q", got.Str)
	}
	// UnmarshalUTF8 is its decoding side.
	b, err := pack.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := pack.UnmarshalUTF8(b, new(sample)); !errors.Is(err, pack.ErrNotUTF8) || !strings.Contains(err.Error(), ".Str") {
		t.Errorf("UnmarshalUTF8 of a Latin-1 string = %v, want ErrNotUTF8 at .Str", err)
	}
	if b, err = pack.Marshal(&sample{Str: "café"}); err != nil {
		t.Fatal(err)
	}
	if err := pack.UnmarshalUTF8(b, new(sample)); err != nil {
		t.Errorf("UnmarshalUTF8 of UTF-8 = %v", err)
	}
	if _, err := pack.MarshalUTF8(&sample{Str: "café"}); err != nil {
		t.Errorf("MarshalUTF8 of UTF-8 = %v", err)
	}
}

// What pack skips comes back zero, as it would from encoding/json.
func TestSkipped(t *testing.T) {
	got := roundTrip(t, &sample{Skipped: "x", private: "y", embedded: embedded{hidden: 3}})
	if got.Skipped != "" || got.private != "" || got.hidden != 0 {
		t.Errorf("skipped fields came through: %+v", got)
	}
	// Unmarshal overwrites the whole value.
	dst := &sample{Str: "old", private: "old"}
	b, _ := pack.Marshal(&sample{Int: 1})
	if err := pack.Unmarshal(b, dst); err != nil || dst.Str != "" || dst.private != "" || dst.Int != 1 {
		t.Errorf("Unmarshal into a used value = %+v, %v", dst, err)
	}
}

func TestRefused(t *testing.T) {
	type withFunc struct{ F func() }
	type withChan struct {
		Inner struct{ C chan int }
	}
	type withComplex struct{ L []complex64 }
	type nothing struct{ a, b int }
	type holdsNothing struct{ N *nothing }
	for _, tt := range []struct {
		name string
		v    any
		want string
	}{
		{"interface", &sample{Any: 1}, ".Any: unsupported kind interface (holding int)"},
		{"func", &withFunc{F: func() {}}, ".F: unsupported kind func"},
		{"nil func", &withFunc{}, ".F: unsupported kind func"},
		{"chan", &withChan{}, ".Inner.C: unsupported kind chan"},
		{"complex", &withComplex{L: []complex64{1}}, ".L[0]: unsupported kind complex64"},
		{"nothing to carry", &holdsNothing{N: &nothing{}}, ".N: struct with no exported field to carry"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := pack.Marshal(tt.v)
			if err == nil || !strings.HasSuffix(err.Error(), tt.want) {
				t.Errorf("Marshal = %v, want an error ending %q", err, tt.want)
			}
		})
	}
	// The empty ones are carried: a nil interface, a complex slice with
	// no element.
	if got := roundTrip(t, &withComplex{L: []complex64{}}); got.L == nil {
		t.Error("an empty []complex64 came back nil")
	}
}

func TestHostile(t *testing.T) {
	valid, err := pack.Marshal(&sample{Str: "abc", Strs: []string{"x"}, Ptr: &inner{B: []int{1, 2}}, Map: map[kind]inner{"k": {}}})
	if err != nil {
		t.Fatal(err)
	}
	// Every cut of a valid encoding is refused.
	for n := range len(valid) {
		if err := pack.Unmarshal(valid[:n], new(sample)); err == nil {
			t.Errorf("a cut at %d of %d bytes was taken", n, len(valid))
		}
	}
	huge := func(prefix ...byte) []byte {
		return append(append([]byte{pack.Version}, prefix...), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)
	}
	for _, tt := range []struct {
		name string
		data []byte
		into any
		want string
	}{
		{"trailing", append(bytes.Clone(valid), 0), new(sample), "1 trailing bytes"},
		{"other form", append([]byte{pack.Version + 1}, valid[1:]...), new(sample), "form 2"},
		{"empty", nil, new(sample), "empty"},
		{"huge string", huge(), new(string), "past the 0 bytes left"},
		{"huge slice", huge(), new([]inner), "past the 0 bytes left"},
		{"huge map", huge(), new(map[string]string), "past the 0 bytes left"},
		{"overflow", []byte{pack.Version, 0x80, 0x02}, new(int8), "128 overflows int8"},
		{"varint past 64 bits", []byte{pack.Version, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, new(uint64), "overflows 64 bits"},
		{"bool 2", []byte{pack.Version, 2}, new(bool), "byte 2 where 0 or 1 is due"},
		{"pointer marker 7", []byte{pack.Version, 7}, new(*int), "byte 7"},
		{"interface set", []byte{pack.Version, 1}, new(any), "unsupported kind interface"},
		{"not a pointer", valid, sample{}, "not a non-nil pointer"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := pack.Unmarshal(tt.data, tt.into)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Unmarshal = %v, want an error with %q", err, tt.want)
			}
		})
	}
}

// A slice's length allocates no more than the elements read justify: a
// length of a million 101-byte elements, within the bytes left, whose
// first element is bad, fails before it costs 100 MB.
func TestHostileLengthAllocatesLittle(t *testing.T) {
	type big struct {
		A [100]byte
		B bool
	}
	data := binary.AppendUvarint([]byte{pack.Version}, 1_000_000+1)
	first := len(data)
	data = append(data, make([]byte, 1_000_000)...)
	data[first+100] = 9 // the first element's bool
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	err := pack.Unmarshal(data, new([]big))
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "[0].B: byte 9") {
		t.Fatalf("Unmarshal = %v, want the first element's bool refused", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > uint64(len(data))+1<<20 { // a chunk, and slack
		t.Errorf("decoding a bad slice allocated %d bytes", grew)
	}
}

// Elements of no size take no bytes: lengths that each fit in the bytes
// left would otherwise make a short input loop for hours (300,000
// slices claiming 300,000 empty elements each: 9e10 of them).
func TestHostileEmptyElements(t *testing.T) {
	data := binary.AppendUvarint([]byte{pack.Version}, 300_000+1)
	for range 300_000 {
		data = binary.AppendUvarint(data, 300_000+1)
	}
	done := make(chan error, 1)
	go func() { done <- pack.Unmarshal(data, new([][]struct{})) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "more elements than bytes") {
			t.Fatalf("Unmarshal = %v, want more elements than bytes refused", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Unmarshal of empty elements still looping after a minute")
	}
}

func TestDepth(t *testing.T) {
	type node struct{ Next *node }
	var n *node
	for range 100 {
		n = &node{Next: n}
	}
	if _, err := pack.Marshal(n); err == nil || !strings.Contains(err.Error(), "nested deeper than") {
		t.Errorf("Marshal of 100 deep = %v, want too deep", err)
	}
	deep := []byte{pack.Version}
	for range 100 {
		deep = append(deep, 1)
	}
	deep = append(deep, 0)
	if err := pack.Unmarshal(deep, new(node)); err == nil || !strings.Contains(err.Error(), "nested deeper than") {
		t.Errorf("Unmarshal of 100 deep = %v, want too deep", err)
	}
}

// A value random in every field comes back equal.
func TestRandomRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		in := new(sample)
		packtest.Fill(r, in)
		if got := roundTrip(t, in); !reflect.DeepEqual(got, in) {
			t.Fatalf("round trip\n got %#v\nwant %#v", got, in)
		}
	}
}

func FuzzUnmarshal(f *testing.F) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 20 {
		v := new(sample)
		packtest.Fill(r, v)
		b, err := pack.Marshal(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v := new(sample)
		if err := pack.Unmarshal(data, v); err != nil {
			if pe := (*pack.PanicError)(nil); errors.As(err, &pe) {
				t.Fatal(err)
			}
			return
		}
		// What decodes encodes, and that decodes again to a value that
		// encodes as long (maps come in any order; a NaN is not equal
		// to itself).
		b, err := pack.Marshal(v)
		if err != nil {
			t.Fatalf("a decoded value does not encode: %v", err)
		}
		w := new(sample)
		if err := pack.Unmarshal(b, w); err != nil {
			t.Fatalf("a re-encoded value does not decode: %v", err)
		}
		if b2, err := pack.Marshal(w); err != nil || len(b2) != len(b) {
			t.Fatalf("re-encoded %d bytes, then %d (%v)", len(b), len(b2), err)
		}
	})
}

// The encoding is smaller than JSON's for the same value.
func TestSmallerThanJSON(t *testing.T) {
	v := &sample{Str: "hello", Strs: []string{"CAP_CHOWN", "CAP_KILL"}, Inners: []inner{{A: "a", B: []int{1, 2, 3}}}}
	b, _ := pack.Marshal(v)
	j, _ := json.Marshal(v)
	if len(b) >= len(j) {
		t.Errorf("pack %d bytes, json %d", len(b), len(j))
	}
}
