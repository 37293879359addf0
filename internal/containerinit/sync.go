package containerinit

import (
	"errors"
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/pack"
)

// message is one datagram on the sync socket (SOCK_SEQPACKET, so each
// message arrives whole). The parent sends "spec"; the child answers with
// "ptys" (masters attached as SCM_RIGHTS), then, when asked, "configured"
// (answered with "go"), and then either "error" or
// nothing: the socket is close-on-exec, so EOF means exec succeeded.
//
// Both ends are the same binary (the stage is a re-exec of the parent's):
// messages go in package pack's form, which the stage decodes without
// first learning the types as encoding/json would (~0.7 ms a start). The
// parent decodes what the stage says as hostile: after the start hooks
// the container's root may drive the stage's end. So the spec travels
// packed inside the message, as bytes: a reply carrying one costs the
// parent one copy of the datagram, never a Spec built from it.
type message struct {
	Type    string
	Spec    []byte // in "spec": the Spec in pack's form
	Error   string
	Console bool
	TTYs    int
	// SealedFD is the descriptor of the sealed copy of golxc the init
	// stage runs from, for it to close.
	SealedFD int
	// NullFDs are the standard descriptors the parent left on its
	// /dev/null, for the init stage to point at the container's.
	NullFDs []int
	// RootFD says the spec comes with a descriptor of the container's
	// root, a detached mount the parent made (a user namespace's start:
	// see rootTree).
	RootFD bool
	// IDMapFDs is how many idmapped mount trees come after the
	// namespaces to join (Spec.IDMapMounts, in order).
	IDMapFDs int
	// BecomeRoot says the stage was spawned unmapped in its user
	// namespace by a user other than root, whose maps newuidmap and
	// newgidmap have now written: it clones its rootfs's mount itself,
	// as that user, and becomes the namespace's root (see
	// namespace.UnmappedAttr).
	BecomeRoot bool
	// Join lists the namespaces whose descriptors come with the spec
	// (after the rootfs's), for the stage to enter.
	Join []specs.LinuxNamespaceType
	// Configure asks the stage to say "configured" once set up and wait
	// for the parent's "go" before its exec (StartOptions.Configured).
	Configure bool
	// StartHost asks the stage to say "start-host" after its start hooks
	// and wait for the parent's "go" before its exec
	// (StartOptions.StartHost).
	StartHost bool
	// Gate says the last descriptor that comes with the spec is the read
	// end of a FIFO the stage waits on before its exec (StartOptions.Gate);
	// the stage then says "ready" once it is set up, instead of closing
	// the socket on its exec.
	Gate bool
	// Report says the last descriptor (after the gate's) is the FIFO the
	// stage writes its failure past the gate to (StartOptions.Report).
	Report bool
}

const maxMessage = 1 << 20

func send(fd int, m *message, files []int) error {
	b, err := pack.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode %s message: %w", m.Type, err)
	}
	if len(b) > maxMessage {
		return fmt.Errorf("%s message too large (%d bytes)", m.Type, len(b))
	}
	var oob []byte
	if len(files) > 0 {
		oob = unix.UnixRights(files...)
	}
	for {
		err = unix.Sendmsg(fd, b, oob, nil, 0)
		if err != unix.EINTR {
			break
		}
	}
	if errors.Is(err, unix.EMSGSIZE) {
		return fmt.Errorf("send %s message: %d bytes is more than the socket's buffer takes (net.core.wmem_max): %w", m.Type, len(b), err)
	}
	if err != nil {
		return fmt.Errorf("send %s message: %w", m.Type, err)
	}
	return nil
}

// recv reads one message; io.EOF-like end is reported as (nil, nil, nil).
func recv(fd int) (*message, []*os.File, error) {
	// Peek at the size first: a monitor keeps its heap for as long as the
	// container runs, so it should not be sized by the largest message
	// there could be.
	size := 0
	for {
		var err error
		size, _, _, _, err = unix.Recvmsg(fd, nil, nil, unix.MSG_PEEK|unix.MSG_TRUNC)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read sync socket: %w", err)
		}
		break
	}
	if size > maxMessage {
		return nil, nil, fmt.Errorf("sync message too large (%d bytes)", size)
	}
	buf := make([]byte, size+1)
	oob := make([]byte, unix.CmsgSpace(4*64))
	var n, oobn int
	var err error
	for {
		n, oobn, _, _, err = unix.Recvmsg(fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read sync socket: %w", err)
	}
	var files []*os.File
	if oobn > 0 {
		cmsgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil {
			return nil, nil, fmt.Errorf("parse sync socket rights: %w", err)
		}
		for _, c := range cmsgs {
			fds, err := unix.ParseUnixRights(&c)
			if err != nil {
				continue
			}
			for _, fd := range fds {
				// Non-blocking, so that Go's poller serves reads of the
				// pty masters instead of one parked thread each.
				_ = unix.SetNonblock(fd, true)
				files = append(files, os.NewFile(uintptr(fd), "pty"))
			}
		}
	}
	if n == 0 && oobn == 0 {
		return nil, nil, nil
	}
	m := new(message)
	if err := pack.Unmarshal(buf[:n], m); err != nil {
		for _, f := range files {
			f.Close()
		}
		return nil, nil, fmt.Errorf("decode sync message: %w", err)
	}
	return m, files, nil
}
