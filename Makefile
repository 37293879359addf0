# golxc: one multi-call binary, lxc-* tool links, templates, man pages,
# completions, units; or a .deb of them.
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR := $(PREFIX)/bin
SHAREDIR := $(PREFIX)/share/golxc
LIBEXECDIR := $(PREFIX)/libexec/golxc
UNITDIR := $(PREFIX)/lib/systemd/system
MANDIR := $(PREFIX)/share/man
BASHCOMPDIR := $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR := $(PREFIX)/share/zsh/vendor-completions
FISHCOMPDIR := $(PREFIX)/share/fish/vendor_completions.d
SYSCONFDIR ?= /etc
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
MODULE := $(shell $(GO) list -m)
GOFLAGS_BUILD := -trimpath -ldflags "-s -w -X $(MODULE)/internal/cli.Version=$(VERSION)"
# The oldest Go that builds golxc and passes its unit tests: go.mod's go
# directive; make gocheck proves it with that very toolchain.
GO_MIN := $(shell sed -n 's/^go //p' go.mod)
# The tool names come from the binary itself (golxc --list-tools): one list,
# read by the shell once the binary exists.
TOOLS = $$(bin/golxc --list-tools)
# What packaging/install.sh needs to know.
INSTALL_ENV = DESTDIR="$(DESTDIR)" PREFIX="$(PREFIX)" BINDIR="$(BINDIR)" SHAREDIR="$(SHAREDIR)" \
	LIBEXECDIR="$(LIBEXECDIR)" UNITDIR="$(UNITDIR)" MANDIR="$(MANDIR)" BASHCOMPDIR="$(BASHCOMPDIR)" \
	ZSHCOMPDIR="$(ZSHCOMPDIR)" FISHCOMPDIR="$(FISHCOMPDIR)" SYSCONFDIR="$(SYSCONFDIR)" BUILD=build
.PHONY: all build test unit integration soak bench bench-scale install uninstall clean demo vet docs split deb gocheck

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

# Man pages and completion scripts, generated from the tools' cobra tree
# and the config key tables by a program of its own (the binary does not
# carry the generators).
docs:
	$(GO) run -ldflags "-X $(MODULE)/internal/cli.Version=$(VERSION)" ./internal/tools/mangen -out build

install: build docs
	$(INSTALL_ENV) sh packaging/install.sh install

uninstall:
	$(INSTALL_ENV) sh packaging/install.sh uninstall

# One binary per tool (cmd/<tool>/main.go, made by go generate ./cmd/golxc;
# a unit test fails when a tool has none).
SPLITDIR ?= bin/split
split:
	CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -o $(SPLITDIR)/ $$(ls -d ./cmd/*/ | grep -v '^./cmd/golxc/$$')

# A Debian package of the install layout under /usr.
deb: build docs
	GOLXC=bin/golxc BUILD=build VERSION=$(VERSION) sh packaging/deb.sh build

# Build, vet and unit-test with the oldest Go the go directive names
# (fetched through the module proxy by GOTOOLCHAIN). make vet, with any
# newer Go, already refuses a use of the library newer than the directive.
gocheck:
	GOTOOLCHAIN=go$(GO_MIN) $(GO) version
	GOTOOLCHAIN=go$(GO_MIN) CGO_ENABLED=0 $(GO) build ./...
	GOTOOLCHAIN=go$(GO_MIN) $(GO) vet ./...
	GOTOOLCHAIN=go$(GO_MIN) $(GO) test -count=1 ./internal/...

clean:
	rm -rf bin build
