package monitor

import (
	"encoding/json"
	"errors"
	"math"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// appendRequest writes what json.Marshal writes, or declines; a
// declined request is sent by encoding/json.
func TestWireRequest(t *testing.T) {
	reqs := []Request{
		{Version: 1, Command: "state"},
		{Version: 1, Command: "stop", Signal: 15, DetectHalt: true, TimeoutMS: -1, NoWait: true},
		{Version: 1, Command: "wait", States: []string{"RUNNING", "STOPPED"}, TimeoutMS: 5000},
		{Version: 1, Command: "console", TTY: -1},
		{Version: 1, Command: "console-buffer", Clear: true},
		{Version: 1, Command: "watch", History: true},
		{Version: 1, Command: "wait", States: []string{}},
		{Version: 1, Command: "a<b"},
		{Version: 1, Command: "wait", States: []string{"é"}},
		{Version: 1, Command: "q\"uote"},
		{Version: 1, Command: ""},
	}
	for _, r := range reqs {
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := appendRequest(nil, r)
		switch {
		case ok && string(got) != string(want):
			t.Errorf("appendRequest(%+v) = %s, json.Marshal %s", r, got, want)
		case !ok && plainString(r.Command) && r.States == nil:
			t.Errorf("appendRequest(%+v) declined a plain request", r)
		case !ok && len(got) != 0:
			t.Errorf("appendRequest(%+v) declined but appended %q", r, got)
		}
	}
	if b, ok := appendRequest(nil, Request{Version: 1, Command: "state"}); !ok || string(b) != `{"v":1,"cmd":"state"}` {
		t.Errorf("state request = %s, %v", b, ok)
	}
}

// decodeResponse reads what json.Unmarshal reads from each line it says
// it handled, and handles the monitor's usual answers.
func TestWireResponse(t *testing.T) {
	answers := []Response{
		{State: "RUNNING", Pid: 12147, Cgroup: "lxc.payload.c1", Started: 1796193735006505287,
			Cgroups: map[string]string{"memory": "/sys/fs/cgroup/memory/lxc.payload.c1", "unified": "/sys/fs/cgroup/unified/lxc.payload.c1"}},
		{State: "STOPPED", Exit: -1},
		{Error: "container is not running"},
		{State: "FROZEN", Pid: 1, InitCgroup: "lxc.payload.c1/init", Cgroups: map[string]string{}},
		{TTY: 2, Seq: math.MaxUint64, Time: math.MinInt64, SeccompNesting: true, NoNewPrivs: true},
		{},
	}
	for _, a := range answers {
		line, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		var got Response
		if !decodeResponse(append(line, '\n'), &got) {
			t.Errorf("decodeResponse declined %s", line)
			continue
		}
		var want Response
		if err := json.Unmarshal(line, &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("decodeResponse(%s) = %+v, json.Unmarshal %+v", line, got, want)
		}
	}
	// Lines it must leave to encoding/json (or refuse with it).
	for _, line := range []string{
		`{"state":"RUN\"NING"}`, `{"state":"caf\u00e9"}`, `{"seccomp":"AAEC"}`, `{"buffer":"aGk="}`,
		`{"State":"RUNNING"}`, `{"other":1}`, `{"pid":1.5}`, `{"pid":1e3}`, `{"pid":012}`, `{"pid":null}`,
		`{"pid":99999999999999999999}`, `{"seq":-1}`, `{"state":"x"} trailing`, `{"state":"x",}`, `[1]`, ``,
		`{"cgroups":{"a":1}}`, `{"state":"` + "\xff" + `"}`, `{"no_new_privs":tru}`, `{"state":"a` + "\n" + `b"}`,
	} {
		var got Response
		if decodeResponse([]byte(line), &got) {
			var want Response
			err := json.Unmarshal([]byte(line), &want)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("decodeResponse(%q) took a line json.Unmarshal reads as %+v, %v (it read %+v)", line, want, err, got)
			}
		}
	}
	// Space between tokens, a key given twice: as encoding/json.
	line := " { \"state\" : \"RUNNING\" ,\t\"pid\":3,\"pid\":4, \"cgroups\":{\"a\":\"x\",\"a\":\"y\"} }\r\n"
	var got, want Response
	if !decodeResponse([]byte(line), &got) {
		t.Fatalf("decodeResponse declined %q", line)
	}
	if err := json.Unmarshal([]byte(line), &want); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("decodeResponse(%q) = %+v, json.Unmarshal %+v, %v", line, got, want, err)
	}
}

// FuzzWireResponse: whatever decodeResponse takes, json.Unmarshal reads
// the same.
func FuzzWireResponse(f *testing.F) {
	f.Add([]byte(`{"state":"RUNNING","pid":1,"cgroups":{"a":"b"},"started":5}`))
	f.Add([]byte(`{"error":"x","exit":-3,"seq":7,"no_new_privs":false}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		var got Response
		if !decodeResponse(line, &got) {
			return
		}
		var want Response
		if err := json.Unmarshal(line, &want); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("decodeResponse(%q) = %+v; json.Unmarshal %+v, %v", line, got, want, err)
		}
	})
}

// TestAskDeadlineWholeQuestion: a peer answering a byte at a time, each
// well within the time left, must not stretch the question past its
// deadline (the socket's timeouts are re-armed from the time left before
// each call). Under the per-call rule the whole answer arrived and the
// call succeeded after several seconds.
func TestAskDeadlineWholeQuestion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "command")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 512)
		_, _ = c.Read(buf)
		for _, b := range []byte(`{"state":"RUNNING"}` + "\n") {
			if _, err := c.Write([]byte{b}); err != nil {
				return
			}
			time.Sleep(150 * time.Millisecond)
		}
	}()
	resp, err := askBlocking(path, "drip", Request{Command: "state"}, time.Now().Add(time.Second))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a byte every 150 ms against a 1 s deadline: %+v, %v; want the deadline exceeded", resp, err)
	}
}
