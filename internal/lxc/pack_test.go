package lxc

import (
	"bytes"
	"encoding"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/golxc/golxc/internal/cgroup"
	"github.com/golxc/golxc/internal/containerinit"
	"github.com/golxc/golxc/internal/hooks"
	"github.com/golxc/golxc/internal/monitor"
	"github.com/golxc/golxc/internal/network"
	"github.com/golxc/golxc/internal/pack"
	"github.com/golxc/golxc/internal/pack/packtest"
)

// What lxc-attach and its helper, lxc-start and its own monitor, and
// lxc-start and a shared monitor of its binary send each other goes
// through pack as it went through encoding/json.
// Windows.CredentialSpec (an interface) is runtime-spec's for Windows
// containers, which golxc never fills: pack carries it nil and refuses it
// set.
func TestPackable(t *testing.T) {
	packtest.Audit(t, attachRequest{})
	packtest.Audit(t, attachReport{})
	packtest.Audit(t, detachedStart{}, "specs.Windows.CredentialSpec")
	// Its Spec, a json.RawMessage, is carried as the bytes of its JSON.
	packtest.Audit(t, startRequest{}, "lxc.startRequest.Spec")
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

// fullStartRequest is a start request with every field that travels
// set (allSet checks it), its spec to be packed or put in JSON.
func fullStartRequest() *startRequest {
	spec := &containerinit.Spec{WrapInit: true, TTYs: 2, Devpts: true}
	spec.OCI.Process = &specs.Process{Args: []string{"/sbin/init", "-v"}, Env: []string{"container=lxc"}}
	spec.OCI.Mounts = []specs.Mount{{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid"}}}
	addr := func(s string) network.Addr {
		p := netip.MustParsePrefix(s)
		return network.Addr{Prefix: p, Broadcast: netip.MustParseAddr("10.0.3.255")}
	}
	return &startRequest{
		Name: "c1", LXCPath: "/p",
		Cgroups:   []monitor.CgroupSetting{{Version: 2, Key: "memory.max", Value: "1G"}},
		CgroupDir: monitor.CgroupDir{Dir: "d", Container: "c", Monitor: "m", Inner: "i", Use: []string{"cpu"}, Pattern: "lxc/%n"},
		Network: []network.Iface{{
			Index: 1, Type: "veth", Name: "eth0", Hwaddr: "00:16:3e:00:00:01", MTU: 1400, Up: true,
			Link: "lxcbr0", Mode: "bridge", Pair: "vethc1",
			IPv4: []network.Addr{addr("10.0.3.7/24")}, IPv4Gateway: network.Gateway{Mode: network.GatewayAddr, Addr: netip.MustParseAddr("10.0.3.1")},
			IPv6: []network.Addr{addr("fd00::7/64")}, IPv6Gateway: network.Gateway{Mode: network.GatewayAddr, Addr: netip.MustParseAddr("fe80::1%eth0")},
			HostRoutes:  []netip.Prefix{netip.MustParsePrefix("10.0.3.7/32")},
			MacvlanMode: "private", IpvlanMode: "l3", IpvlanIsolation: "bridge", VLANID: 10,
			ScriptUp: "/bin/up", ScriptDown: "/bin/down", ScriptEnv: []string{"LXC_NAME=c1"}, HookVersion: 1,
			L2Proxy: true, VethVLANID: 5, VethVLANTagged: []int{6, 7},
		}},
		Execute: true, Shared: true, ConsoleLog: "/var/log/c1.console",
		Console: monitor.ConsoleOptions{Path: "/dev/null", LogSize: 1 << 20, LogRotate: true, BufferSize: 4096},
		LogFile: "/var/log/c1.log", LogLevel: "DEBUG", PidFile: "/run/c1.pid", Ephemeral: true, StartID: "s1", Reserved: 2,
		Hooks: &monitor.HostHooks{
			Container: hooks.Container{Name: "c1", ConfigFile: "/p/c1/config", RootfsPath: "/p/c1/rootfs", RootfsMount: "/p/c1/rootfs",
				Version: 1, LogLevel: "DEBUG", Console: "/dev/null", ConsoleLog: "/var/log/c1.console", Environ: []string{"A=1"}},
			PreStart: []string{"/bin/pre"}, StartHost: []string{"/bin/host"}, Stop: []string{"/bin/stop"}, PostStop: []string{"/bin/post"},
		},
		Adopt:    true,
		detected: &cgroup.Layout{Unified: "/sys/fs/cgroup"},
		spec:     spec,
	}
}

// allSet lists the fields of v left zero, recursively (a slice's
// elements, what a pointer points to; a struct with its own binary form,
// netip's, as a whole), but those in skip ("startRequest.Spec").
func allSet(v reflect.Value, path string, skip ...string) []string {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return []string{path}
		}
		return allSet(v.Elem(), path, skip...)
	case reflect.Slice:
		if v.Len() == 0 {
			return []string{path}
		}
		var zero []string
		for i := range v.Len() {
			zero = append(zero, allSet(v.Index(i), fmt.Sprintf("%s[%d]", path, i), skip...)...)
		}
		return zero
	case reflect.Struct:
		if v.Type().Implements(reflect.TypeFor[encoding.BinaryMarshaler]()) {
			break
		}
		var zero []string
		for i := range v.NumField() {
			f := v.Type().Field(i)
			p := path + "." + f.Name
			if !f.IsExported() || slices.Contains(skip, p) {
				continue
			}
			zero = append(zero, allSet(v.Field(i), p, skip...)...)
		}
		return zero
	}
	if v.IsZero() {
		return []string{path}
	}
	return nil
}

// The shared monitor reads a start request packed whole (from a tool of
// this binary: no JSON encoder learnt) as it reads one in JSON: the same
// request, every field of it, the same spec to run, and the same JSON of
// it for the record, which outlives this binary. The packed line is
// {"packedRequest":...} alone. A field added to the request (or to what
// it holds) must be set here: allSet fails the test until it is, and pack
// must then carry it as JSON does.
func TestSharedStartRequestForms(t *testing.T) {
	req := fullStartRequest()
	if zero := allSet(reflect.ValueOf(req), "startRequest", "startRequest.Spec", "startRequest.PackedSpec", "startRequest.PackedRequest"); len(zero) > 0 {
		t.Fatalf("fields of the test's request left unset: %v", zero)
	}
	spec := req.spec
	var got [2]*startRequest
	for i, packed := range []bool{false, true} {
		b, err := encodeStartRequest(req, packed)
		if err != nil {
			t.Fatal(err)
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(b, &fields); err != nil {
			t.Fatalf("packed %v: not JSON: %v", packed, err)
		}
		_, hasPacked := fields["packedRequest"]
		if packed != hasPacked || packed && len(fields) != 1 || fields["packedSpec"] != nil {
			t.Errorf("packed %v: request %.120s", packed, b)
		}
		if got[i], err = decodeStartRequest(b); err != nil {
			t.Fatalf("packed %v: %v", packed, err)
		}
		if len(got[i].PackedSpec) != 0 || len(got[i].PackedRequest) != 0 {
			t.Errorf("packed %v: packed bytes kept: %d, %d", packed, len(got[i].PackedSpec), len(got[i].PackedRequest))
		}
	}
	if got[0].came != "in JSON" || got[1].came != "packed, inside a packed request (a tool of this binary)" {
		t.Errorf("the forms came %q and %q", got[0].came, got[1].came)
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
	// The rest, field by field: as sent, but what only this process
	// knows (detected, spec).
	want := *req
	want.detected, want.spec, want.Spec = nil, nil, got[0].Spec
	for i, g := range got {
		g.spec, g.came = nil, ""
		if !reflect.DeepEqual(*g, want) {
			t.Errorf("form %d decoded as\n%#v\nwant\n%#v", i, *g, want)
		}
	}

	// An adoption's request has the record's JSON of its spec: packed
	// as it is.
	adopt := &startRequest{Name: "c1", LXCPath: "/p", Adopt: true, Spec: json.RawMessage(`{"ttys":2}`)}
	b, err := encodeStartRequest(adopt, true)
	if err != nil {
		t.Fatal(err)
	}
	if g, err := decodeStartRequest(b); err != nil || string(g.Spec) != `{"ttys":2}` || g.spec != nil || !g.Adopt {
		t.Errorf("a packed adoption decoded as %+v, %v", g, err)
	}
}

// packedLine is {"packedRequest":...} of data, as a tool of this binary
// sends it.
func packedLine(data []byte) []byte {
	return []byte(`{"packedRequest":"` + base64.StdEncoding.EncodeToString(data) + `"}`)
}

// A start request reaches the monitor from root of the host only, but it
// is decoded as hostile: a bad packed request, or any mix of the two
// forms, is an error of one line, naming the container when known.
func TestHostileStartRequests(t *testing.T) {
	packReq := func(r *startRequest) []byte {
		b, err := pack.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	spec, err := pack.Marshal(&containerinit.Spec{TTYs: 1})
	if err != nil {
		t.Fatal(err)
	}
	badSpec, err := pack.Marshal(&containerinit.Spec{TTYDir: "lxc\xff"})
	if err != nil {
		t.Fatal(err)
	}
	valid := packReq(&startRequest{Name: "c1", LXCPath: "/p", PackedSpec: spec, Cgroups: []monitor.CgroupSetting{{Key: "k", Value: "v"}}})
	// Name "c1", LXCPath "/p", no Spec, PackedSpec nor PackedRequest, then
	// Cgroups claiming a billion elements.
	billion := []byte{pack.Version, 2, 'c', '1', 2, '/', 'p', 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x04}
	for _, tt := range []struct {
		name string
		line []byte
		want string
	}{
		{"garbage", []byte(`{"packedRequest":"AAAA"}`), "the packed start request: unpack: form 0, want 1"},
		{"not base64", []byte(`{"packedRequest":"%%%"}`), "illegal base64"},
		{"empty", []byte(`{"packedRequest":""}`), "the packed start request: unpack: empty"},
		{"truncated", packedLine(valid[:len(valid)-3]), "the packed start request of c1: "},
		{"trailing", packedLine(append(bytes.Clone(valid), 0)), "the packed start request of c1: "},
		{"billion elements", packedLine(billion), "the packed start request of c1: unpack lxc.startRequest: .Cgroups: length"},
		{"nested", packedLine(packReq(&startRequest{Name: "c1", PackedRequest: valid})), "the packed start request of c1 has another packed inside"},
		{"fields next to it", []byte(`{"name":"c2",` + string(packedLine(valid)[1:])), "the start request of c2 has fields next to its packed form"},
		{"a JSON spec next to it", []byte(`{"spec":{},` + string(packedLine(valid)[1:])), "the start request has fields next to its packed form"},
		{"a packed spec in JSON", []byte(`{"name":"c1","packedSpec":"AQ=="}`), "the start request of c1 has a packed spec outside a packed request"},
		{"a JSON spec next to a packed one", packedLine(packReq(&startRequest{Name: "c1", Spec: json.RawMessage(`{}`), PackedSpec: spec})), "the start request of c1 has its spec both in JSON and packed"},
		{"a bad packed spec", packedLine(packReq(&startRequest{Name: "c1", PackedSpec: []byte{pack.Version, 0xff, 0xff, 0xff, 0xff, 0x04}})), "the packed spec of c1: "},
		{"a name of two lines", packedLine(packReq(&startRequest{Name: "c1\nERR x", PackedSpec: []byte{0}})), `the packed spec of "c1\nERR x": `},
		// The record (JSON) would not say what the monitor acts on.
		{"text not UTF-8", packedLine(packReq(&startRequest{Name: "c1", LogFile: "/var/log/caf\xe9", PackedSpec: spec})), "the packed start request of c1: unpack lxc.startRequest: .LogFile: a string that is not valid UTF-8"},
		{"a spec with text not UTF-8", packedLine(packReq(&startRequest{Name: "c1", PackedSpec: badSpec})), "the packed spec of c1: unpack containerinit.Spec: .TTYDir: a string that is not valid UTF-8"},
		{"a JSON spec that is not JSON", packedLine(packReq(&startRequest{Name: "c1", Spec: json.RawMessage(`{"ttys":`)})), "the packed start request of c1 has a spec that is not JSON"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, err := decodeStartRequest(tt.line)
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("decode = %+v, %v; want one line with %q", req, err, tt.want)
			}
		})
	}
	if req, err := decodeStartRequest(packedLine(valid)); err != nil || req.Name != "c1" || req.spec == nil || req.spec.TTYs != 1 {
		t.Errorf("the valid packed request decoded as %+v, %v", req, err)
	}
}

// A packed start request of any bytes is an error or a request, never a
// panic of pack's (a *pack.PanicError): netip's binary forms included.
func FuzzPackedStartRequest(f *testing.F) {
	req := fullStartRequest()
	req.Spec = json.RawMessage(`{}`)
	b, err := pack.Marshal(req)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	// And one with its spec packed, as lxc-start sends it.
	req.Spec = nil
	spec, err := pack.Marshal(&containerinit.Spec{})
	if err != nil {
		f.Fatal(err)
	}
	req.PackedSpec = spec
	if b, err = pack.Marshal(req); err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := decodeStartRequest(packedLine(data))
		if pe := (*pack.PanicError)(nil); errors.As(err, &pe) {
			t.Fatal(err)
		}
		if err != nil {
			return
		}
		// What the monitor takes, its record can say, and be read from
		// (an adoption, an upgrade).
		j, err := json.Marshal(got)
		if err != nil {
			t.Fatalf("a request taken has no record: %v", err)
		}
		back := new(startRequest)
		if err := json.Unmarshal(j, back); err != nil {
			t.Fatalf("the record of a request taken does not read back: %v\n%s", err, j)
		}
		if len(back.Spec) > 0 {
			if err := json.Unmarshal(back.Spec, new(containerinit.Spec)); err != nil {
				t.Fatalf("the spec in the record of a request taken does not read back: %v\n%s", err, back.Spec)
			}
		}
	})
}

// A request with text that is not UTF-8 is not sent packed: lxc-start
// falls back to JSON (which says U+FFFD, as the record will).
func TestStartRequestNotUTF8GoesInJSON(t *testing.T) {
	req := &startRequest{Name: "c1", LXCPath: "/p", LogFile: "/var/log/caf\xe9", spec: &containerinit.Spec{}}
	if _, err := encodeStartRequest(req, true); !errors.Is(err, pack.ErrNotUTF8) {
		t.Errorf("packed encode of a request with Latin-1 text = %v, want pack.ErrNotUTF8", err)
	}
	req = &startRequest{Name: "c1", LXCPath: "/p", spec: &containerinit.Spec{TTYDir: "lxc\xff"}}
	if _, err := encodeStartRequest(req, true); !errors.Is(err, pack.ErrNotUTF8) {
		t.Errorf("packed encode of a spec with Latin-1 text = %v, want pack.ErrNotUTF8", err)
	}
	b, err := encodeStartRequest(req, false)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeStartRequest(b)
	if err != nil || got.Name != "c1" {
		t.Errorf("its JSON form decodes as %+v, %v", got, err)
	}
}
