package namespace

import (
	"os"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestKindsTable(t *testing.T) {
	seenFlag := map[int]string{}
	for _, k := range Kinds() {
		if prev, ok := seenFlag[k.Flag]; ok {
			t.Errorf("%s and %s share clone flag %#x", prev, k.Name, k.Flag)
		}
		seenFlag[k.Flag] = k.Name
		if got, ok := ByOCI(k.OCI); !ok || got.Name != k.Name {
			t.Errorf("ByOCI(%s) = %v, %v", k.OCI, got, ok)
		}
		if got, err := ByName(k.Name); err != nil || got.Flag != k.Flag {
			t.Errorf("ByName(%s) = %v, %v", k.Name, got, err)
		}
		// Every kind is a namespace file of this kernel's processes.
		if _, err := os.Lstat("/proc/self/ns/" + k.ProcFile()); err != nil {
			t.Errorf("%s: %v", k.Name, err)
		}
	}
	if k, err := ByName("mount"); err != nil || k.Name != "mnt" {
		t.Errorf(`ByName("mount") = %v, %v: LXC takes mount for mnt`, k, err)
	}
	if _, err := ByName("bogus"); err == nil {
		t.Error("ByName(bogus) succeeded")
	}
	// User first, mount last: the order a process joins them in.
	ks := Kinds()
	if ks[0].Name != "user" || ks[len(ks)-1].Name != "mnt" {
		t.Errorf("join order %v: want user first and mnt last", ks)
	}
}

func TestAttachNames(t *testing.T) {
	want := map[string]int{"MOUNT": unix.CLONE_NEWNS, "PID": unix.CLONE_NEWPID, "UTSNAME": unix.CLONE_NEWUTS, "IPC": unix.CLONE_NEWIPC,
		"NETWORK": unix.CLONE_NEWNET, "CGROUP": unix.CLONE_NEWCGROUP, "USER": unix.CLONE_NEWUSER}
	got := AttachNames()
	if len(got) != len(want) {
		t.Fatalf("AttachNames = %v, want %v (lxc-attach(1))", got, want)
	}
	for n, f := range want {
		if got[n] != f {
			t.Errorf("%s = %#x, want %#x", n, got[n], f)
		}
	}
	all := 0
	for _, k := range ContainerKinds() {
		all |= k.Flag
	}
	if all != AttachFlags {
		t.Errorf("AttachFlags %#x, a container's kinds %#x", AttachFlags, all)
	}
	for _, k := range ContainerKinds() {
		if k.OCI == specs.UserNamespace || k.OCI == specs.TimeNamespace {
			t.Errorf("a container gets %s by default", k.Name)
		}
	}
}
