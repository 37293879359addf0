#!/bin/bash
# oci-validation.sh RUNTIME [OUTDIR]: builds opencontainers/runtime-tools'
# validation programs (once, under /var/cache/golxc-test/runtime-tools, from
# the Go module proxy) and runs each with RUNTIME (e.g. bin/golxc-runc),
# printing PASS or FAIL per program and the count. Run as root. RUNTIME is
# not resolved through symlinks: golxc-runc is a link named after the tool.
# The linux_cgroups_relative_* programs are skipped: a relative
# cgroupsPath lands below the runtime's own cgroup, which is its caller's
# (golxc-runc refuses it; runc would make cgroups there).
set -u
RT=$(cd "$(dirname "$1")" && pwd)/$(basename "$1"); OUT=${2:-$(mktemp -d)}
VER=v0.9.1-0.20251114084447-edf4cb3d2116
C=/var/cache/golxc-test/runtime-tools
S=$C/src-$VER
export PATH=$PATH:/usr/local/go/bin GOMODCACHE=$C/mod GOCACHE=$C/build GOFLAGS=-modcacherw
if [ ! -x "$S/validation/default/default.t" ]; then
  D=$(cd /tmp && go mod download -json github.com/opencontainers/runtime-tools@$VER | sed -n 's/.*"Dir": "\(.*\)",/\1/p')
  rm -rf "$S"; cp -r "$D" "$S"; chmod -R u+w "$S"
  # The module's zip has no vendor tree: build against the module cache.
  (cd "$S" && GOFLAGS="-mod=mod -modcacherw" make runtimetest validation-executables >/dev/null) || exit 1
fi
mkdir -p "$OUT"; cd "$S"; pass=0; run=0
for t in validation/*/*.t; do
  n=$(basename "$t" .t)
  case $n in linux_cgroups_relative_*) echo "$n SKIP"; continue;; esac
  RUNTIME=$RT timeout 120 "$t" > "$OUT/$n.tap" 2>&1 < /dev/null; rc=$?
  nok=$(grep -c '^not ok' "$OUT/$n.tap"); ok=$(grep -c '^ok' "$OUT/$n.tap")
  # Some programs plan no test ("1..0") and print a YAML "error" only
  # when they fail.
  yerr=$(grep -c '^    "error": "[^"]' "$OUT/$n.tap")
  run=$((run+1))
  # The two *_fail programs without TAP of their own (process_rlimits_fail,
  # process_capabilities_fail) pass by exiting 0 once the create failed,
  # which they say.
  nontap_fail=0
  case $n in *_fail) grep -q '^TAP version' "$OUT/$n.tap" || { grep -q '^failed to create the container' "$OUT/$n.tap" && nontap_fail=1; };; esac
  if [ $rc -eq 0 ] && [ "$nok" -eq 0 ] && { [ "$ok" -gt 0 ] || [ $nontap_fail -eq 1 ] || { [ "$yerr" -eq 0 ] && grep -q '^1\.\.0' "$OUT/$n.tap"; }; }; then
    echo "$n PASS"; pass=$((pass+1))
  else
    echo "$n FAIL"
  fi
done
echo "$pass of $run programs pass (TAP output in $OUT)"
