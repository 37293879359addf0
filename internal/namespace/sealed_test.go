package namespace

import (
	"bytes"
	"os"
	"os/exec"
	"testing"

	"golang.org/x/sys/unix"
)

func TestSealedSelf(t *testing.T) {
	f, err := SealedSelf()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(ExecPath(int(f.Fd())))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("copy differs from the binary (%d bytes, want %d)", len(got), len(want))
	}
	// Every way of changing it is refused, through this fd and through a
	// reopen (what /proc/PID/exe gives a container).
	if _, err := f.WriteAt([]byte("x"), 0); err == nil {
		t.Error("write to the sealed copy succeeded")
	}
	if err := f.Truncate(1); err == nil {
		t.Error("truncate of the sealed copy succeeded")
	}
	if w, err := os.OpenFile(ExecPath(int(f.Fd())), os.O_WRONLY, 0); err == nil {
		_, err := w.Write([]byte("x"))
		w.Close()
		if err == nil {
			t.Error("write through a reopen of the sealed copy succeeded")
		}
	}
	if _, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, 0); err == nil {
		// F_SEAL_SEAL: no further change of the seals.
		t.Error("seals can still be changed")
	}
	// And it runs: the test binary lists its tests.
	cmd := exec.Command(ExecPath(3), "-test.list", "TestSealedSelf")
	cmd.ExtraFiles = []*os.File{f}
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("TestSealedSelf")) {
		t.Fatalf("exec of the sealed copy: %v: %s", err, out)
	}
}
