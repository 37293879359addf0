# golxc: one multi-call binary, lxc-* tool links, templates.
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR := $(PREFIX)/bin
SHAREDIR := $(PREFIX)/share/golxc
LIBEXECDIR := $(PREFIX)/libexec/golxc
UNITDIR := $(PREFIX)/lib/systemd/system
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
GOFLAGS_BUILD := -trimpath -ldflags "-s -w -X golxc/internal/cli.Version=$(VERSION)"
# The tool names come from the binary itself (golxc --list-tools): one list,
# read by the shell once the binary exists.
TOOLS = $$(bin/golxc --list-tools)

.PHONY: all build test unit integration soak bench bench-scale install uninstall clean demo vet

all: build

build:
	CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -o bin/golxc ./cmd/golxc
	@for t in $(TOOLS); do ln -sf golxc bin/$$t; done

vet:
	gofmt -l $$(git ls-files '*.go') | (! grep .)
	$(GO) vet ./...

# Unit tests, then the integration tests that drive the built binaries.
test: build vet unit integration

unit:
	$(GO) test -count=1 ./internal/...

integration: build
	GOLXC_BIN=$(CURDIR)/bin $(GO) test -count=1 -timeout 20m ./test/...

# The long reliability run (1000 start/stop cycles); prints its figures.
soak: build
	GOLXC_BIN=$(CURDIR)/bin $(GO) test -tags soak -count=1 -run Soak -v -timeout 60m ./test/

# The golxc/LXC ratios (LXC's tools beside golxc's when Debian's lxc is
# installed): make bench [BENCH_ARGS="-runs 50 -vs-lxc=no"].
bench: build
	GOLXC_BIN=$(CURDIR)/bin $(GO) run ./bench $(BENCH_ARGS)

# N containers running at once, then all stopped and destroyed, with a plot
# (bench-scale.png): make bench-scale N=1000 [VS_LXC=1].
N ?= 1000
bench-scale: build
	GOLXC_BIN=$(CURDIR)/bin $(GO) run ./bench scale -n $(N) $(if $(VS_LXC),-vs-lxc) $(BENCH_ARGS)

demo: build
	./demo.sh

install: build
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SHAREDIR)/templates
	install -m 0755 bin/golxc $(DESTDIR)$(BINDIR)/golxc
	@for t in $(TOOLS); do ln -sf golxc $(DESTDIR)$(BINDIR)/$$t; done
	install -m 0755 templates/lxc-busybox $(DESTDIR)$(SHAREDIR)/templates/lxc-busybox
	install -m 0755 templates/lxc-debian $(DESTDIR)$(SHAREDIR)/templates/lxc-debian
	install -d $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(UNITDIR)
	install -m 0755 templates/lxc-net $(DESTDIR)$(LIBEXECDIR)/lxc-net
	sed 's|@LIBEXECDIR@|$(LIBEXECDIR)|g' templates/lxc-net.service >$(DESTDIR)$(UNITDIR)/lxc-net.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/lxc-net.service
	sed 's|@BINDIR@|$(BINDIR)|g' templates/lxc.service >$(DESTDIR)$(UNITDIR)/lxc.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/lxc.service

uninstall: build
	rm -f $(DESTDIR)$(BINDIR)/golxc
	@for t in $(TOOLS); do rm -f $(DESTDIR)$(BINDIR)/$$t; done
	rm -rf $(DESTDIR)$(SHAREDIR) $(DESTDIR)$(LIBEXECDIR)
	rm -f $(DESTDIR)$(UNITDIR)/lxc-net.service $(DESTDIR)$(UNITDIR)/lxc.service

clean:
	rm -rf bin
