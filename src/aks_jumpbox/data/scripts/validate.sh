#!/usr/bin/env bash
# validate.sh: proves the AKS jump box image before Image Builder distributes it.
#@@HEADER@@
#
# Checks every tool (present, root:root 0755, reporting the locked version), the Azure CLI and its
# extensions, the effective sshd settings and the manifest. Prints one line per failure and exits 1
# when anything is wrong, so the image is not distributed.
set -uo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

#@@CONFIG@@

failures=0
checks=0

fail() {
  printf '==> aks-jumpbox validate FAILED: %s\n' "$*" >&2
  failures=$((failures + 1))
}

ok() {
  checks=$((checks + 1))
  printf '    ok: %s\n' "$*"
}

version_of() {
  local regex=$1
  case $regex in
    ^*) sed -nE "s|${regex}.*|\\1|p" | head -n 1 ;;
    *) sed -nE "s|.*${regex}.*|\\1|p" | head -n 1 ;;
  esac
}

printf '==> aks-jumpbox step validate begin\n'

while IFS=$'\t' read -r name version path vregex vcmd; do
  [ -n "$name" ] || continue
  if [ ! -e "$path" ]; then
    fail "$name: $path is missing"
    continue
  fi
  owner_mode=$(stat -c '%U:%G %a' "$path")
  [ "$owner_mode" = "root:root 755" ] || fail "$name: $path is $owner_mode, expected root:root 755"
  if [ ! -x "$path" ]; then
    fail "$name: $path is not executable"
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

if command -v az >/dev/null 2>&1; then
  got=$(az version -o json 2>/dev/null | version_of "$AZ_VERSION_REGEX")
  if [ "$got" = "$AZ_VERSION" ]; then ok "azure-cli $AZ_VERSION"; else fail "azure-cli: reports version ${got:-none}, expected $AZ_VERSION"; fi
  while read -r ext ext_version; do
    [ -n "$ext" ] || continue
    have=$(az extension show --name "$ext" --query version -o tsv 2>/dev/null)
    if [ -z "$have" ]; then
      fail "azure-cli extension $ext is not installed"
    elif [ "$ext_version" != "-" ] && [ "$have" != "$ext_version" ]; then
      fail "azure-cli extension $ext is $have, expected $ext_version"
    else
      ok "azure-cli extension $ext $have"
    fi
  done <<< "$AZ_EXTENSIONS"
else
  fail "azure-cli: az is not on PATH"
fi

mkdir -p /run/sshd
if effective=$(sshd -T 2>&1); then
  while read -r key want; do
    [ -n "$key" ] || continue
    got=$(printf '%s\n' "$effective" | awk -v k="$key" '$1 == k { print $2; exit }')
    if [ "$got" = "$want" ]; then ok "sshd $key $want"; else fail "sshd: $key is ${got:-unset}, expected $want"; fi
  done <<< "$SSHD_EXPECT"
else
  fail "sshd -T failed: $effective"
fi

if [ -f /etc/aks-jumpbox/manifest.json ]; then
  while IFS=$'\t' read -r name _; do
    [ -n "$name" ] || continue
    grep -q "\"name\": \"$name\"" /etc/aks-jumpbox/manifest.json || fail "manifest: $name is not listed in /etc/aks-jumpbox/manifest.json"
  done <<< "$TOOLS"
  grep -q "\"plan\": \"$PLAN_HASH\"" /etc/aks-jumpbox/manifest.json \
    || fail "manifest: /etc/aks-jumpbox/manifest.json was written by another plan than $PLAN_HASH"
  ok "manifest"
else
  fail "manifest: /etc/aks-jumpbox/manifest.json is missing"
fi

if [ "$failures" -gt 0 ]; then
  printf '==> aks-jumpbox step validate FAILED: %s of %s checks failed\n' "$failures" "$((checks + failures))" >&2
  exit 1
fi
printf '==> aks-jumpbox step validate end: %s checks passed\n' "$checks"
