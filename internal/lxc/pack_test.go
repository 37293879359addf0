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
