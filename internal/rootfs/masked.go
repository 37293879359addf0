package rootfs

// MaskedPaths are the kernel files and directories under /proc and /sys
// that every golxc container gets masked (a file: the null device; a
// directory: an empty read-only tmpfs), whatever mounted /proc and /sys.
// They are the list the major OCI runtimes mask by default. Each one either
// exposes the host's kernel to a privileged container (kernel memory, the
// host's firmware tables, power and energy counters that leak what runs on
// other cores) or says what the host does and no container needs to know
// (keyrings of every user, timers and scheduler state of every process,
// interrupts per CPU). LXC leaves these to AppArmor, which a host without
// it (this one) does not have: there an LXC container reads them all.
func MaskedPaths() []string {
	return []string{
		"/proc/acpi",                    // ACPI tables and events of the host
		"/proc/asound",                  // the host's sound cards
		"/proc/interrupts",              // interrupt counts per CPU: a side channel on other processes
		"/proc/kcore",                   // the kernel's memory as an ELF core
		"/proc/keys",                    // every keyring the kernel holds that the reader may view
		"/proc/latency_stats",           // latencies of every process
		"/proc/sched_debug",             // scheduler state of every CPU and task, host tasks included
		"/proc/scsi",                    // SCSI devices; some drivers take commands written here
		"/proc/timer_list",              // every pending timer, with the owning tasks
		"/proc/timer_stats",             // the same, on older kernels
		"/sys/devices/virtual/powercap", // RAPL energy counters (CVE-2020-8694)
		"/sys/firmware",                 // ACPI tables, EFI variables, memory map of the host
	}
}

// ProcReadonlyPaths are the /proc files and directories that change the
// host's kernel, not a namespace's, and are read-only with proc:mixed:
// LXC's /proc/sysrq-trigger (and /proc/sys, made apart because
// /proc/sys/net stays writable), and the runtimes' /proc/bus (PCI and USB
// devices), /proc/fs (file system tunables, nfsd's exports) and /proc/irq
// (interrupt affinity of the host's devices).
func ProcReadonlyPaths() []string {
	return []string{"/proc/sysrq-trigger", "/proc/bus", "/proc/fs", "/proc/irq"}
}
