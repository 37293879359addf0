package seccomp

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"", "p:1: empty policy"},
		{"3\ndenylist\n", "p:1: version \"3\""},
		{"2\n", "p:2: missing policy type"},
		{"2\ngreylist\n", "p:2: policy type \"greylist\""},
		{"1\ndenylist\n", "p:2: version 1 policies are allowlists only"},
		{"1\nallowlist\n0\nread\n", "p:4: version 1 takes one system call number"},
		{"2\ndenylist frobnicate\n", "p:2: default action: unknown action \"frobnicate\""},
		{"2\ndenylist\n\n# c\nmkdir erno 1\n", "p:5: mkdir: unknown action \"erno\""},
		{"2\ndenylist\nmkdir errno\n", "p:3: mkdir: errno needs a number"},
		{"2\ndenylist\nmkdir errno 4096\n", "p:3: mkdir: errno \"4096\""},
		{"2\ndenylist\nmkdir errno -1\n", "p:3: mkdir: errno \"-1\""},
		{"2\ndenylist\nmkdir errno 1 2\n", "p:3: mkdir: unexpected \"2\""},
		{"2\ndenylist\n[sparc]\n", "p:3: unsupported architecture [sparc]"},
		{"2\ndenylist\nMkdir\n", "p:3: bad system call name \"Mkdir\""},
		{"2\ndenylist\n# mount on x86_64, getresuid on i386\n165 errno 1\n", "p:4: system call 165 by number: version 2 names system calls"},
		{"2\ndenylist\nmkdir errno 1 [6,1,SCMP_CMP_EQ]\n", "p:3: mkdir: argument filter [6,1,SCMP_CMP_EQ]: argument index"},
		{"2\ndenylist\nmkdir errno 1 [0,x,SCMP_CMP_EQ]\n", "value \"x\""},
		{"2\ndenylist\nmkdir errno 1 [0,1,SCMP_CMP_XX]\n", "unknown comparison \"SCMP_CMP_XX\""},
		{"2\ndenylist\nmkdir errno 1 [0,1]\n", "want INDEX,VALUE,OP"},
		{"2\ndenylist\nmkdir errno 1 [0,1,SCMP_CMP_EQ\n", "no closing ]"},
		{"2\ndenylist\nmkdir errno 1 [0,1,SCMP_CMP_MASKED_EQ]\n", "needs a mask"},
		{"2\ndenylist\nmkdir errno 1 [0,3,SCMP_CMP_MASKED_EQ,1]\n", "bits outside mask"},
		{"2\ndenylist\nmkdir errno 1 [0,1,==] x\n", "p:3: mkdir: argument filter \"x\""},
		{"2\ndenylist\nmkdir [0,1,==][0,1,==][0,1,==][0,1,==][0,1,==][0,1,==][0,1,==]\n", "7 argument filters"},
	} {
		_, err := Parse(strings.NewReader(tc.text), "p")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.text, err, tc.want)
		}
	}
}

func TestParse(t *testing.T) {
	p, err := Parse(strings.NewReader(`2
denylist errno 38   # the default
# a comment
mkdir  errno  1	# trailing comment
reject_force_umount
[x86_64]
mount [2, 0x10, SCMP_CMP_EQ] [3,010,!=]
umount2 kill [1,2,SCMP_CMP_MASKED_EQ,0x2]
`), "p")
	if err != nil {
		t.Fatal(err)
	}
	if p.Allowlist || p.Default != (Action{Kind: Errno, Data: 38}) || p.Version != 2 {
		t.Errorf("header: %+v", p)
	}
	want := []Rule{
		{Name: "mkdir", Number: -1, Action: Action{Kind: Errno, Data: 1}, Section: "all", Line: 4},
		{Name: "umount2", Number: -1, Action: Action{Kind: Errno, Data: 13}, Args: []ArgCmp{{Index: 1, Op: MaskedEq, Value: 1, Mask: 1}}, Section: "all", Line: 5},
		{Name: "mount", Number: -1, Action: Action{Kind: Kill}, Args: []ArgCmp{{Index: 2, Op: Eq, Value: 16}, {Index: 3, Op: Ne, Value: 8}}, Section: "x86_64", Line: 7},
		{Name: "umount2", Number: -1, Action: Action{Kind: Kill}, Args: []ArgCmp{{Index: 1, Op: MaskedEq, Value: 2, Mask: 2}}, Section: "x86_64", Line: 8},
	}
	if len(p.Rules) != len(want) {
		t.Fatalf("rules: %+v", p.Rules)
	}
	for i := range want {
		g, w := p.Rules[i], want[i]
		if g.Name != w.Name || g.Number != w.Number || g.Action != w.Action || g.Section != w.Section || g.Line != w.Line || len(g.Args) != len(w.Args) {
			t.Errorf("rule %d: got %+v, want %+v", i, g, w)
			continue
		}
		for j := range w.Args {
			if g.Args[j] != w.Args[j] {
				t.Errorf("rule %d arg %d: got %+v, want %+v", i, j, g.Args[j], w.Args[j])
			}
		}
	}
	if n, line := p.UsesNotify(); n || line != 0 {
		t.Errorf("UsesNotify = %v %d", n, line)
	}
	p, err = Parse(strings.NewReader("2\ndenylist\nmkdir\nioctl notify\n"), "p")
	if err != nil {
		t.Fatal(err)
	}
	if n, line := p.UsesNotify(); !n || line != 4 {
		t.Errorf("UsesNotify = %v %d", n, line)
	}
	if _, err := ParseFile(filepath.Join(t.TempDir(), "none")); err == nil || !strings.Contains(err.Error(), "open seccomp policy") {
		t.Errorf("missing file: %v", err)
	}
}

// The kernel takes the compiled programs, and a denied call fails with the
// policy's errno, in a child process (a filter cannot be taken back).
func TestLoadInKernel(t *testing.T) {
	if dir := os.Getenv("SECCOMP_TEST_CHILD"); dir != "" {
		loadChild(dir)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLoadInKernel$", "-test.v")
	cmd.Env = append(os.Environ(), "SECCOMP_TEST_CHILD="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	for _, w := range []string{"mkdir: operation not permitted", "rmdir-masked: argument list too long", "rmdir-unmasked: bad address", "chdir-64: permission denied", "chdir-other: ok", "getpid: ok"} {
		if !strings.Contains(string(out), w) {
			t.Errorf("child output lacks %q:\n%s", w, out)
		}
	}
}

func loadChild(dir string) {
	p, err := Parse(strings.NewReader(`2
denylist
mkdirat errno 1
mkdir errno 1
chdir errno 13 [0,0xffffffff00000000,SCMP_CMP_GE]
chdir errno 22 [0,5,SCMP_CMP_LT]
rmdir errno 7 [0,0x10,SCMP_CMP_MASKED_EQ,0x10]
[x86]
kexec_load errno 1
`), "child")
	if err != nil {
		panic(err)
	}
	prog, err := Compile(p, "x86_64")
	if err != nil {
		panic(err)
	}
	if err := SetNoNewPrivs(); err != nil {
		panic(err)
	}
	if err := Load(prog); err != nil {
		panic(err)
	}
	say := func(what string, err error) {
		if err == nil {
			os.Stdout.WriteString(what + ": ok\n")
			return
		}
		os.Stdout.WriteString(what + ": " + err.Error() + "\n")
	}
	say("mkdir", unix.Mkdir(filepath.Join(dir, "x"), 0o755))
	// Bad pointers on purpose: the filter sees the number, and a call it
	// lets through fails with EFAULT in the kernel.
	_, _, e := unix.Syscall(unix.SYS_RMDIR, 0x30, 0, 0)
	say("rmdir-masked", errOf(e))
	_, _, e = unix.Syscall(unix.SYS_RMDIR, 0x20, 0, 0)
	say("rmdir-unmasked", errOf(e))
	_, _, e = unix.Syscall(unix.SYS_CHDIR, 0xffffffff00001000, 0, 0)
	say("chdir-64", errOf(e))
	say("chdir-other", unix.Chdir(dir))
	_, _, e = unix.Syscall(unix.SYS_GETPID, 0, 0, 0)
	say("getpid", errOf(e))
}

func errOf(e unix.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

func TestEncode(t *testing.T) {
	prog, err := Compile(&Policy{Version: 2, Default: Action{Kind: Allow}, Rules: []Rule{{Name: "ioctl", Number: -1, Action: Action{Kind: Notify}, Section: "all"}}}, "x86_64")
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode(Encode(prog))
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != len(prog) {
		t.Fatalf("%d instructions back of %d", len(back), len(prog))
	}
	for i := range prog {
		if back[i] != prog[i] {
			t.Errorf("instruction %d: %+v, want %+v", i, back[i], prog[i])
		}
	}
	if !Returns(prog, unix.SECCOMP_RET_USER_NOTIF) || Returns(prog, unix.SECCOMP_RET_TRAP) {
		t.Errorf("Returns is wrong")
	}
	for _, b := range [][]byte{nil, make([]byte, 7), make([]byte, 8*4097)} {
		if _, err := Decode(b); err == nil {
			t.Errorf("Decode of %d bytes succeeded", len(b))
		}
	}
}

// TestNotifyStalls: a notify action on a call the init stage makes before
// it hands the listener over (the Go runtime's futex, the handover's
// sendmsg) is refused, naming file, line and call; so is a default of
// notify that leaves one of them to it; a notify on mkdir is not.
func TestNotifyStalls(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"2\ndenylist\nmkdir notify\n", ""},
		{"2\ndenylist\nmkdir notify\nfutex notify\n", "p:4: notify on futex would hang the start"},
		{"2\ndenylist\n[x86_64]\nsendmsg notify [0,3,SCMP_CMP_EQ]\n", "p:4: notify on sendmsg"},
		// Another ABI's: the stage makes only native calls.
		{"2\ndenylist\n[x86]\nfutex notify\n", ""},
		{"2\nallowlist notify\nmkdir\n", "p:2: default action notify catches arch_prctl"},
	} {
		p, err := Parse(strings.NewReader(tc.text), "p")
		if err != nil {
			t.Fatalf("%q: %v", tc.text, err)
		}
		err = p.NotifyStalls("amd64")
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%q: %v, want %q", tc.text, err, tc.want)
		}
	}
	// Every stage call given a rule of its own: the default may notify.
	text := "2\nallowlist notify\nmkdir\n" + strings.Join(stageCalls, "\n") + "\n"
	p, err := Parse(strings.NewReader(text), "p")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.NotifyStalls("amd64"); err != nil {
		t.Errorf("every stage call allowed: %v", err)
	}
}
