module github.com/golxc/golxc

go 1.25.0

// A monitor sleeps most of its life: with GOMAXPROCS following the
// cgroup's CPU quota, the runtime would re-read the quota files every
// second in each monitor (1000 monitors: 1000 reads a second), for nothing.
godebug (
	containermaxprocs=0
	updatemaxprocs=0
)

require (
	github.com/cilium/ebpf v0.22.0
	github.com/opencontainers/runtime-spec v1.3.0
	github.com/sirupsen/logrus v1.10.2
	github.com/spf13/cobra v1.10.2
	github.com/spf13/pflag v1.0.10
	github.com/vishvananda/netlink v1.3.1
	github.com/vishvananda/netns v0.0.5
	golang.org/x/image v0.40.0
	golang.org/x/net v0.58.0
	golang.org/x/sys v0.47.0
)

require (
	github.com/cpuguy83/go-md2man/v2 v2.0.6 // indirect
	github.com/inconshreveable/mousetrap v1.1.0 // indirect
	github.com/russross/blackfriday/v2 v2.1.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)
