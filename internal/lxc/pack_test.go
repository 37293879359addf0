package lxc

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/golxc/golxc/internal/containerinit"
	"github.com/golxc/golxc/internal/pack"
	"github.com/golxc/golxc/internal/pack/packtest"
)

// What lxc-attach and its helper, and lxc-start and its own monitor, send
// each other goes through pack as it went through encoding/json.
// Windows.CredentialSpec (an interface) is runtime-spec's for Windows
// containers, which golxc never fills: pack carries it nil and refuses it
// set.
func TestPackable(t *testing.T) {
	packtest.Audit(t, attachRequest{})
	packtest.Audit(t, attachReport{})
	packtest.Audit(t, detachedStart{}, "specs.Windows.CredentialSpec")
}

func TestAttachPackRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for range 300 {
		req, rep := new(attachRequest), new(attachReport)
		packtest.Fill(r, req)
		packtest.Fill(r, rep)
		for _, v := range []any{req, rep} {
			b, err := pack.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			got := reflect.New(reflect.TypeOf(v).Elem()).Interface()
			if err := pack.Unmarshal(b, got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, v) {
				t.Fatalf("round trip\n got %#v\nwant %#v", got, v)
			}
		}
	}
}

// The report comes from a helper inside the container: any bytes are an
// error or a report, never a panic.
func FuzzAttachReport(f *testing.F) {
	for _, r := range []attachReport{{Pid: 12, Hop: 11, Done: true}, {Error: "no such file", Code: 127}} {
		b, _ := pack.Marshal(r)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		err := pack.Unmarshal(data, new(attachReport))
		if pe := (*pack.PanicError)(nil); errors.As(err, &pe) {
			t.Fatal(err)
		}
	})
}

// A container's own monitor gets its request, and the spec decoded, as
// lxc-start had them; an adoption's spec is the record's JSON.
func TestDetachedStart(t *testing.T) {
	spec := &containerinit.Spec{WrapInit: true, TTYs: 2}
	spec.OCI.Process = &specs.Process{Args: []string{"/sbin/init", "\xff not UTF-8"}}
	req := &startRequest{Name: "c1", LXCPath: "/p", Spec: []byte(`{"ttys":2}`), Execute: true, spec: spec}
	var buf bytes.Buffer
	if err := sendDetachedStart(&buf, req); err != nil {
		t.Fatal(err)
	}
	got, err := readDetachedStart(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, req) {
		t.Errorf("detached start\n got %#v\nwant %#v", got, req)
	}

	if _, err := readDetachedStart(strings.NewReader(`{"name":"c1"}`)); err == nil {
		t.Error("a JSON request was taken")
	}
}

// A spec the monitor cannot decode (the shared monitor's, from another
// lxc-start) is told to lxc-start as one line that names the container,
// before anything is done.
func TestSuperviseBadSpec(t *testing.T) {
	var told error
	req := &startRequest{Name: "c1", LXCPath: t.TempDir(), Shared: true, Spec: []byte(`{"ttys":"two"}`)}
	_, err := supervise(req, nil, func(err error) { told = err })
	if err == nil || told != err {
		t.Fatalf("supervise = %v, told %v; want the error, told", err, told)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "decode the spec of c1's start request: ") || strings.Contains(msg, "\n") {
		t.Errorf("supervise = %q, want one line naming c1", msg)
	}
	if s, err := requestSpec(&startRequest{Name: "c1"}); s != nil || err != nil {
		t.Errorf("requestSpec of none = %v, %v", s, err)
	}
}

// The shared monitor reads a start request with its spec packed (from a
// tool of this binary) as it reads one in JSON: the same spec to run, and
// the same JSON for the record, which outlives this binary; a bad packed
// spec is an error naming the container.
func TestSharedStartRequestForms(t *testing.T) {
	spec := &containerinit.Spec{WrapInit: true, TTYs: 2, Devpts: true}
	spec.OCI.Process = &specs.Process{Args: []string{"/sbin/init", "-v"}, Env: []string{"container=lxc"}}
	spec.OCI.Mounts = []specs.Mount{{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid"}}}
	req := &startRequest{Name: "c1", LXCPath: "/p", Shared: true, spec: spec}
	var got [2]*startRequest
	for i, packed := range []bool{false, true} {
		b, err := encodeStartRequest(req, packed)
		if err != nil {
			t.Fatal(err)
		}
		if packed != strings.Contains(string(b), `"packedSpec"`) {
			t.Errorf("packed %v: request %.120s", packed, b)
		}
		if got[i], err = decodeStartRequest(b); err != nil {
			t.Fatalf("packed %v: %v", packed, err)
		}
		if got[i].packed != packed || len(got[i].PackedSpec) != 0 {
			t.Errorf("packed %v: decoded as packed %v with %d packed bytes kept", packed, got[i].packed, len(got[i].PackedSpec))
		}
	}
	if !bytes.Equal(got[0].Spec, got[1].Spec) {
		t.Errorf("record JSON differs:\n json   %s\n packed %s", got[0].Spec, got[1].Spec)
	}
	if !reflect.DeepEqual(got[1].spec, spec) {
		t.Errorf("packed spec decoded as %#v, want %#v", got[1].spec, spec)
	}
	if s, err := requestSpec(got[0]); err != nil || !reflect.DeepEqual(s, spec) {
		t.Errorf("JSON spec decoded as %#v, %v; want %#v", s, err, spec)
	}
	if _, err := decodeStartRequest([]byte(`{"name":"c1","packedSpec":"AAAA"}`)); err == nil || !strings.Contains(err.Error(), "packed spec of c1") {
		t.Errorf("a bad packed spec: %v, want an error naming c1", err)
	}
}
