#!/bin/bash
# Stand-in for the Azure CLI (the azure-cli package's `az`), built by the aks-jumpbox rootfs harness.
# It answers what an image build asks of az, in the real CLI's output shapes:
#   az version [-o json] | az --version | az config set K=V | az config get K
#   az extension add -n NAME [--version V] [--source FILE|URL] [--system] [--yes] [--upgrade]
#   az extension show -n NAME [--query version -o tsv] | az extension list [-o json]
# Extensions come from --source, or from the extension index (config extension.index_url or
# AZURE_EXTENSION_INDEX_URL). The public index is never contacted: the harness has no network
# beyond 127.0.0.1, as a locked-down build VM with only a mirror would not.
set -euo pipefail

AZ_VERSION="@AZ_VERSION@"
PUBLIC_INDEX="https://azcliextensionsync.blob.core.windows.net/index1/index.json"
SYSTEM_EXT_DIR=/opt/az/azcliextensions
CONFIG_DIR="${AZURE_CONFIG_DIR:-${HOME:-/root}/.azure}"
USER_EXT_DIR="${AZURE_EXTENSION_DIR:-$CONFIG_DIR/cliextensions}"

die() { echo "ERROR: $*" >&2; exit "${2:-1}"; }
unsupported() { echo "az (stand-in): unsupported arguments: $*" >&2; exit 2; }

config_get() {  # section.key
  local section="${1%%.*}" key="${1#*.}" file="$CONFIG_DIR/config"
  [ -f "$file" ] || return 1
  awk -v s="[$section]" -v k="$key" '
    $0 == s {in_s = 1; next} /^\[/ {in_s = 0}
    in_s { split($0, kv, " = "); if (kv[1] == k) { print kv[2]; found = 1 } }
    END { exit !found }' "$file"
}

config_set() {  # section.key=value
  local name="${1%%=*}" value="${1#*=}"
  local section="${name%%.*}" key="${name#*.}" file="$CONFIG_DIR/config"
  mkdir -p "$CONFIG_DIR"; touch "$file"
  awk -v s="[$section]" -v k="$key" -v v="$value" '
    BEGIN { done = 0 }
    $0 == s { print; in_s = 1; next }
    /^\[/ { if (in_s && !done) { print k " = " v; done = 1 } in_s = 0 }
    in_s { split($0, kv, " = "); if (kv[1] == k) { if (!done) print k " = " v; done = 1; next } }
    { print }
    END { if (!done) { if (!in_s) print s; print k " = " v } }' "$file" > "$file.new"
  mv "$file.new" "$file"
}

ext_dirs() { printf '%s\n' "$USER_EXT_DIR" "$SYSTEM_EXT_DIR"; }

ext_version() {  # name -> version of the installed extension, from its dist-info
  local name="$1" dir meta
  while read -r dir; do
    meta=$(ls -d "$dir/$name"/*.dist-info/METADATA 2>/dev/null | head -n1 || true)
    if [ -n "$meta" ]; then sed -n 's/^Version: //p' "$meta"; return 0; fi
  done < <(ext_dirs)
  return 1
}

installed_extensions() {
  local dir e
  while read -r dir; do
    [ -d "$dir" ] || continue
    for e in "$dir"/*/; do [ -d "$e" ] && basename "$e"; done
  done < <(ext_dirs) | sort -u
}

extensions_json() {  # {"name": "version", ...}
  local first=1 e
  printf '{'
  for e in $(installed_extensions); do
    [ $first -eq 1 ] || printf ', '
    first=0
    printf '"%s": "%s"' "$e" "$(ext_version "$e")"
  done
  printf '}'
}

fetch() {  # url-or-path dest
  case "$1" in
    https://*) curl --fail --silent --show-error --location --proto '=https' --max-time 120 -o "$2" "$1" ;;
    http://*) die "Unable to download $1: only https sources are allowed by this stand-in" ;;
    *) cp "$1" "$2" ;;
  esac
}

ext_add() {
  local name="" version="" source="" target="$USER_EXT_DIR" upgrade=0
  while [ $# -gt 0 ]; do
    case "$1" in
      -n|--name) name="$2"; shift 2 ;;
      --version) version="$2"; shift 2 ;;
      -s|--source) source="$2"; shift 2 ;;
      --system) target="$SYSTEM_EXT_DIR"; shift ;;
      -y|--yes) shift ;;
      --upgrade) upgrade=1; shift ;;
      --allow-preview) shift 2 ;;
      --only-show-errors) shift ;;
      *) unsupported extension add "$@" ;;
    esac
  done
  if [ -n "$AZURE_EXTENSION_DIR_SET" ]; then target="$AZURE_EXTENSION_DIR"; fi
  local tmp; tmp=$(mktemp -d); TMPDIRS+=("$tmp")
  local wheel="$tmp/ext.whl"
  if [ -n "$source" ]; then
    fetch "$source" "$wheel"
    name="${name:-$(basename "$source" | sed 's/-[0-9].*//; s/_/-/g')}"
  else
    [ -n "$name" ] || die "usage error: --name or --source is required" 2
    local index="${AZURE_EXTENSION_INDEX_URL:-$(config_get extension.index_url || true)}"
    [ -n "$index" ] || die "Failed to establish a new connection to $PUBLIC_INDEX (stand-in: the public extension index is never reached from the harness; set extension.index_url or use --source)"
    fetch "$index" "$tmp/index.json"
    # index.json: {"extensions": {"NAME": [{"downloadUrl", "sha256Digest", "metadata": {"version"}}]}}
    # (no JSON parser in a minimal image: this reads the harness's index, one entry per line)
    local entry="" line v
    while IFS= read -r line; do
      case "$line" in *"\"name\": \"$name\""*) ;; *) continue ;; esac
      v=$(sed -n 's/.*"version": "\([^"]*\)".*/\1/p' <<< "$line")
      if [ -z "$version" ] || [ "$v" = "$version" ]; then
        entry="$(sed -n 's/.*"downloadUrl": "\([^"]*\)".*/\1/p' <<< "$line") $(sed -n 's/.*"sha256Digest": "\([^"]*\)".*/\1/p' <<< "$line") $v"
      fi
    done < "$tmp/index.json"
    [ -n "$entry" ] || die "No matching extensions for '$name'${version:+ with version $version}. Use --debug for more information."
    local url digest
    read -r url digest _ <<< "$entry"
    fetch "$url" "$wheel"
    local actual; actual=$(sha256sum "$wheel" | cut -d' ' -f1)
    [ "$actual" = "$digest" ] || die "The checksum of the extension does not match the expected value. Use --debug for more information."
  fi
  if [ -d "$target/$name" ] && [ $upgrade -eq 0 ]; then
    echo "WARNING: Extension '$name' is already installed." >&2
    return 0
  fi
  rm -rf "${target:?}/$name"
  mkdir -p "$target/$name"
  unzip -q -o "$wheel" -d "$target/$name" || die "Unable to install the extension: not a wheel"
}

ext_show() {
  local name="" query="" output="json"
  while [ $# -gt 0 ]; do
    case "$1" in
      -n|--name) name="$2"; shift 2 ;;
      --query) query="$2"; shift 2 ;;
      -o|--output) output="$2"; shift 2 ;;
      --only-show-errors) shift ;;
      *) unsupported extension show "$@" ;;
    esac
  done
  local v
  v=$(ext_version "$name") || die "The extension $name is not installed."
  if [ "$query" = "version" ]; then
    if [ "$output" = "tsv" ]; then echo "$v"; else echo "\"$v\""; fi
  elif [ -z "$query" ]; then
    printf '{\n  "name": "%s",\n  "version": "%s",\n  "extensionType": "whl"\n}\n' "$name" "$v"
  else
    unsupported extension show --query "$query"
  fi
}

AZURE_EXTENSION_DIR_SET="${AZURE_EXTENSION_DIR:-}"
TMPDIRS=()
trap 'rm -rf "${TMPDIRS[@]}"' EXIT

case "${1:-}" in
  version)
    shift
    case "$*" in ""|"-o json"|"--output json") ;; *) unsupported version "$@" ;; esac
    printf '{\n  "azure-cli": "%s",\n  "azure-cli-core": "%s",\n  "azure-cli-telemetry": "1.1.0",\n  "extensions": %s\n}\n' \
      "$AZ_VERSION" "$AZ_VERSION" "$(extensions_json)"
    ;;
  --version)
    printf 'azure-cli                         %s\n\ncore                              %s\ntelemetry                          1.1.0\n' "$AZ_VERSION" "$AZ_VERSION"
    if [ -n "$(installed_extensions)" ]; then
      printf '\nExtensions:\n'
      for e in $(installed_extensions); do printf '%-33s %s\n' "$e" "$(ext_version "$e")"; done
    fi
    printf '\nPython location '"'"'/opt/az/bin/python3'"'"'\n'
    ;;
  config)
    case "${2:-}" in
      set) shift 2; for kv in "$@"; do case "$kv" in --only-show-errors) ;; *=*) config_set "$kv" ;; *) unsupported config set "$kv" ;; esac; done ;;
      get) config_get "$3" || die "Configuration '$3' is not set." ;;
      *) unsupported "$@" ;;
    esac
    ;;
  extension)
    case "${2:-}" in
      add) shift 2; ext_add "$@" ;;
      show) shift 2; ext_show "$@" ;;
      list) printf '['; first=1; for e in $(installed_extensions); do [ $first -eq 1 ] || printf ', '; first=0
              printf '{"name": "%s", "version": "%s"}' "$e" "$(ext_version "$e")"; done; printf ']\n' ;;
      *) unsupported "$@" ;;
    esac
    ;;
  *) unsupported "$@" ;;
esac
