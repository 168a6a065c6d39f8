#!/usr/bin/env bash
# validate.sh: proves the AKS jump box image before Image Builder distributes it.
#@@HEADER@@
#
# Checks every tool (present, root:root 0755, reporting the locked version), the Azure CLI and its
# extensions, the effective sshd settings and the manifest. Prints one line per failure and exits 1
# when anything is wrong, so the image is not distributed.
#
# Run it (`sudo bash validate.sh`) and `main` runs; source it and only the variables and functions
# below are defined, so tests can call the checks one by one.

#@@CONFIG@@

MANIFEST_FILE=/etc/aks-jumpbox/manifest.json
failures=0
checks=0

#@@COMMON@@

# ---- helpers ------------------------------------------------------------------------------

fail() {
  printf '==> aks-jumpbox validate FAILED: %s\n' "$*" >&2
  failures=$((failures + 1))
}

ok() {
  checks=$((checks + 1))
  printf '    ok: %s\n' "$*"
}

# ---- checks -------------------------------------------------------------------------------

check_tools() {
  local @@COLUMNS@@
  local owner_mode got
  while IFS=$'\t' read -r @@COLUMNS@@; do
    [ -n "$name" ] || continue
    if [ ! -e "$dest" ]; then
      fail "$name: $dest is missing"
      continue
    fi
    owner_mode=$(stat -c '%U:%G %a' "$dest")
    [ "$owner_mode" = "root:root 755" ] || fail "$name: $dest is $owner_mode, expected root:root 755"
    if [ ! -x "$dest" ]; then
      fail "$name: $dest is not executable"
      continue
    fi
    # shellcheck disable=SC2086 # the version command is a word list from the catalog
    got=$($vcmd 2>&1 | version_of "$vregex")
    if [ "$got" = "$version" ]; then
      ok "$name $version"
    else
      fail "$name: reports version ${got:-none} (\`$vcmd\`), expected $version"
    fi
  done <<< "$TOOLS"
}

check_azure_cli() {
  local got ext ext_version have
  if ! command -v az >/dev/null 2>&1; then
    fail "azure-cli: az is not on PATH"
    return
  fi
  got=$(az version -o json 2>/dev/null | version_of "$AZ_VERSION_REGEX")
  if [ "$got" = "$AZ_VERSION" ]; then ok "azure-cli $AZ_VERSION"; else fail "azure-cli: reports version ${got:-none}, expected $AZ_VERSION"; fi
  while IFS=$'\t' read -r ext ext_version; do
    [ -n "$ext" ] || continue
    have=$(az extension show --name "$ext" --query version -o tsv 2>/dev/null)
    if [ -z "$have" ]; then
      fail "azure-cli extension $ext is not installed"
    elif [ "$have" != "$ext_version" ]; then
      fail "azure-cli extension $ext is $have, expected $ext_version"
    else
      ok "azure-cli extension $ext $have"
    fi
  done <<< "$AZ_EXTENSIONS"
}

check_sshd() {
  local effective key want got
  mkdir -p /run/sshd
  if ! effective=$(sshd -T 2>&1); then
    fail "sshd -T failed: $effective"
    return
  fi
  while read -r key want; do
    [ -n "$key" ] || continue
    got=$(printf '%s\n' "$effective" | awk -v k="$key" '$1 == k { print $2; exit }')
    if [ "$got" = "$want" ]; then ok "sshd $key $want"; else fail "sshd: $key is ${got:-unset}, expected $want"; fi
  done <<< "$SSHD_EXPECT"
}

# check_manifest: the image's manifest was written by this plan and lists every tool; "ok" only
# when none of that failed.
check_manifest() {
  local before=$failures @@COLUMNS@@
  if [ ! -f "$MANIFEST_FILE" ]; then
    fail "manifest: $MANIFEST_FILE is missing"
    return
  fi
  while IFS=$'\t' read -r @@COLUMNS@@; do
    [ -n "$name" ] || continue
    grep -qF "\"name\": \"$name\"" "$MANIFEST_FILE" || fail "manifest: $name is not listed in $MANIFEST_FILE"
  done <<< "$TOOLS"
  grep -qF "\"plan\": \"$PLAN_HASH\"" "$MANIFEST_FILE" \
    || fail "manifest: $MANIFEST_FILE was written by another plan than $PLAN_HASH"
  [ "$failures" -gt "$before" ] || ok "manifest"
}

main() {
  set -uo pipefail
  export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  # No version check home from `terraform version` (see provision.sh), and this run's `az` state goes
  # to a directory removed on exit, so validation leaves no /root/.azure in the image.
  export CHECKPOINT_DISABLE=1
  AZURE_CONFIG_DIR=$(mktemp -d)
  export AZURE_CONFIG_DIR
  trap 'rm -rf "$AZURE_CONFIG_DIR"' EXIT
  printf '==> aks-jumpbox step validate begin\n'
  check_tools
  check_azure_cli
  check_sshd
  check_manifest
  if [ "$failures" -gt 0 ]; then
    printf '==> aks-jumpbox step validate FAILED: %s of %s checks failed\n' "$failures" "$((checks + failures))" >&2
    exit 1
  fi
  printf '==> aks-jumpbox step validate end: %s checks passed\n' "$checks"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  main "$@"
fi
