#!/usr/bin/env bash
# provision.sh: builds the AKS jump box image. Runs as root on Image Builder's build VM.
#@@HEADER@@
#
# Every step prints "==> aks-jumpbox step <name> begin|end" and, when it fails,
# "==> aks-jumpbox step <name> FAILED: <why>", so a log reader can name the failing step.
# Every download is HTTPS only, bounded in time, retried, and checked against its SHA-256
# before anything of it is installed.
#
# Run it (`sudo bash provision.sh`) and `main` runs; source it and only the variables and
# functions below are defined, so tests can call the helpers one by one.

#@@CONFIG@@

WORK=/var/tmp/aks-jumpbox
STATE=/etc/aks-jumpbox
# The Azure CLI's per-user state (config, logs, telemetry cache) of the root that ran the build.
AZ_STATE=/root/.azure
APT_ATTEMPTS=5
# A failed index download is an error, not a warning; stalled connections time out.
APT_OPTS=(-y -q -o DPkg::Lock::Timeout=600 -o Acquire::Retries=3 -o APT::Update::Error-Mode=any
          -o Acquire::http::Timeout=60 -o Acquire::https::Timeout=60
          -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
# Every apt-get call is bounded too: apt's own delayed retries can otherwise wait without limit.
APT_UPDATE_TIMEOUT=$((DOWNLOAD_TIMEOUT * DOWNLOAD_ATTEMPTS > 120 ? DOWNLOAD_TIMEOUT * DOWNLOAD_ATTEMPTS : 120))
APT_TIMEOUT=3600
STEP=""
declare -A DL_PID=()    # tool -> pid of its background download
declare -A VERIFIED=()  # tool -> the SHA-256 its artifact was verified against here

#@@COMMON@@

# ---- helpers ------------------------------------------------------------------------------

step() {
  STEP=$1
  printf '==> aks-jumpbox step %s begin %s\n' "$STEP" "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
}

step_end() {
  printf '==> aks-jumpbox step %s end %s\n' "$STEP" "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  STEP=""
}

die() {
  printf '==> aks-jumpbox step %s FAILED: %s\n' "${STEP:-provision}" "$*" >&2
  STEP=""
  exit 1
}

on_exit() {
  local rc=$?
  if [ "$rc" -ne 0 ] && [ -n "$STEP" ]; then
    printf '==> aks-jumpbox step %s FAILED: exit code %s\n' "$STEP" "$rc" >&2
  fi
  # Stop downloads still running and leave no half-downloaded or staged files behind.
  local pids=()
  mapfile -t pids < <(jobs -p)
  [ "${#pids[@]}" -eq 0 ] || kill "${pids[@]}" 2>/dev/null || true
  rm -rf "$WORK/stage" "$WORK"/*.part 2>/dev/null || true
  return "$rc"
}

log() { printf '    %s\n' "$*"; }

apt_get() {
  local n=1 bound=$APT_TIMEOUT
  [ "$1" = update ] && bound=$APT_UPDATE_TIMEOUT
  until timeout --kill-after=30 "$bound" apt-get "${APT_OPTS[@]}" "$@"; do
    if [ "$n" -ge "$APT_ATTEMPTS" ]; then
      die "apt-get $* failed $n times (each try bounded to ${bound}s)"
    fi
    log "apt-get $1 failed (attempt $n of $APT_ATTEMPTS); retrying in $((n * 10))s"
    sleep $((n * 10))
    n=$((n + 1))
  done
}

# fetch URL DEST: HTTPS only (redirects too), bounded per try, retried with backoff.
fetch() {
  local url=$1 dest=$2
  case $url in
    https://*) ;;
    *) echo "refusing a download that is not HTTPS: $url" >&2; return 1 ;;
  esac
  if curl --proto '=https' --proto-redir '=https' --tlsv1.2 --fail --silent --show-error --location \
      --connect-timeout 20 --max-time "$DOWNLOAD_TIMEOUT" \
      --retry $((DOWNLOAD_ATTEMPTS - 1)) --retry-all-errors \
      --output "$dest.part" "$url"; then
    mv -f "$dest.part" "$dest"
  else
    local rc=$?
    rm -f "$dest.part"
    echo "download of $url failed after $DOWNLOAD_ATTEMPTS attempt(s) of at most ${DOWNLOAD_TIMEOUT}s (curl exit $rc)" >&2
    return 1
  fi
}

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# expected_digest NAME CHECKSUM_URL FORMAT ORDER_URL FILE: the digest the upstream checksum file
# lists for FILE; used only for artifacts whose digest the lock could not pin.
expected_digest() {
  local name=$1 url=$2 format=$3 order_url=$4 file=$5 sums="$WORK/$1.checksums"
  fetch "$url" "$sums" || die "$name: could not fetch its checksum file $url"
  case $format in
    bare) awk 'NR == 1 { print tolower($1) }' "$sums" ;;
    sha256sum) awk -v f="$file" '$2 == f || $2 == "*" f { print tolower($1) }' "$sums" ;;
    yq-multi)
      fetch "$order_url" "$sums.order" || die "$name: could not fetch $order_url"
      local col
      col=$(awk '$0 == "SHA-256" { print NR + 1 }' "$sums.order")
      [ -n "$col" ] || die "$name: $order_url names no SHA-256 column"
      awk -v f="$file" -v c="$col" '$1 == f { print tolower($c) }' "$sums" ;;
    *) die "$name: unknown checksum format $format" ;;
  esac
}

# os_sources: the deb822 sources of the OS archive mirror.
os_sources() {
  printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: %s\n\n' \
    "$APT_ARCHIVE" "$OS_CODENAME" "$OS_CODENAME" "$APT_COMPONENTS"
  printf 'Types: deb\nURIs: %s\nSuites: %s-security\nComponents: %s\n' \
    "$APT_SECURITY" "$OS_CODENAME" "$APT_COMPONENTS"
}

# azure_cli_sources: the deb822 source of the Azure CLI repository, signed by the pinned key.
azure_cli_sources() {
  printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nArchitectures: %s\nSigned-By: /etc/apt/keyrings/aks-jumpbox-azure-cli.gpg\n' \
    "$AZ_REPO" "$OS_CODENAME" "$ARCH"
}

# manifest_json: the manifest rendered at plan time, completed with what only the build knows:
# when it ran, and the digest of each tool the lock could not pin, as verified here.
manifest_json() {
  local json=$MANIFEST name
  json=${json//"<aks-jumpbox:built-at>"/"$(date -u +%Y-%m-%dT%H:%M:%SZ)"}
  for name in "${!VERIFIED[@]}"; do
    json=${json//"<aks-jumpbox:sha256:$name>"/"${VERIFIED[$name]}"}
  done
  case $json in
    *'<aks-jumpbox:'*) die "manifest: a value was left uncompleted: $(grep -o '<aks-jumpbox:[^>]*>' <<< "$json" | head -n 1)" ;;
  esac
  printf '%s\n' "$json"
}

# ---- steps --------------------------------------------------------------------------------

wait_for_boot() {
  step wait-for-boot
  if command -v cloud-init >/dev/null 2>&1; then
    timeout 900 cloud-init status --wait >/dev/null 2>&1 || log "cloud-init did not report done; continuing"
  fi
  # Stop the periodic apt jobs for the build (they hold dpkg locks); they start again at boot.
  systemctl stop apt-daily.timer apt-daily-upgrade.timer apt-daily.service apt-daily-upgrade.service \
    unattended-upgrades.service >/dev/null 2>&1 || true
  step_end
}

trust_mirror_ca() {
  [ -n "$MIRROR_CA_PEM" ] || return 0
  step trust-mirror-ca
  mkdir -p /usr/local/share/ca-certificates
  printf '%s\n' "$MIRROR_CA_PEM" > /usr/local/share/ca-certificates/aks-jumpbox-mirror.crt
  update-ca-certificates >/dev/null || die "update-ca-certificates failed"
  step_end
}

use_apt_mirror() {
  [ -n "$APT_ARCHIVE" ] || return 0
  step apt-sources
  # Set the image's own sources aside and point apt at the mirror.
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    case $(basename "$f") in aks-jumpbox-*) continue ;; esac
    mv -f "$f" "$f.disabled-by-aks-jumpbox"
  done
  os_sources > /etc/apt/sources.list.d/aks-jumpbox-os.sources
  step_end
}

apt_upgrade() {
  step apt-upgrade
  apt_get update
  apt_get full-upgrade
  apt_get install --no-install-recommends ca-certificates curl gnupg unzip tar gzip openssh-server
  step_end
}

start_downloads() {
  step download
  # All artifacts download in parallel, in the background, while the Azure CLI installs.
  mkdir -p "$WORK/cache"
  local @@COLUMNS@@
  while IFS=$'\t' read -r @@COLUMNS@@; do
    [ -n "$name" ] || continue
    ( fetch "$url" "$WORK/cache/$file" ) > "$WORK/$name.download.log" 2>&1 &
    DL_PID[$name]=$!
    log "downloading $name $version from $url"
  done <<< "$ARTIFACTS"
  step_end
}

install_azure_cli() {
  step azure-cli
  local key="$WORK/azure-cli.asc" gnupg_home key_fprs fpr want trusted="" got
  fetch "$AZ_KEY_URL" "$key" || die "could not fetch the Azure CLI signing key from $AZ_KEY_URL"
  gnupg_home=$(mktemp -d)
  key_fprs=$(gpg --homedir "$gnupg_home" --batch --show-keys --with-colons "$key" 2>/dev/null \
    | awk -F: '$1 == "fpr" { print $10 }')
  rm -rf "$gnupg_home"
  for fpr in $key_fprs; do
    for want in $AZ_KEY_FINGERPRINTS; do
      [ "$fpr" = "$want" ] && trusted=$fpr
    done
  done
  [ -n "$trusted" ] || die "the key at $AZ_KEY_URL has fingerprint(s) ${key_fprs:-none}, none of the pinned $AZ_KEY_FINGERPRINTS"
  log "signing key $trusted matches the pinned fingerprint"
  mkdir -p /etc/apt/keyrings
  gpg --batch --yes --dearmor --output /etc/apt/keyrings/aks-jumpbox-azure-cli.gpg "$key"
  chmod 0644 /etc/apt/keyrings/aks-jumpbox-azure-cli.gpg
  azure_cli_sources > /etc/apt/sources.list.d/aks-jumpbox-azure-cli.sources
  apt_get update
  apt_get install --no-install-recommends --allow-downgrades "azure-cli=$AZ_APT_VERSION"
  apt-mark hold azure-cli >/dev/null
  got=$(az version -o json 2>/dev/null | version_of "$AZ_VERSION_REGEX")
  [ "$got" = "$AZ_VERSION" ] || die "az reports version ${got:-none}, expected $AZ_VERSION"
  install_extensions
  step_end
}

# Every Azure CLI extension: its locked wheel, downloaded over HTTPS, checked against the lock's SHA-256
# and installed from the file, so the extension index is never read and nothing unverified is installed.
# --source takes a wheel file; --yes answers the prompt az shows for a wheel not taken from the index:
# https://learn.microsoft.com/cli/azure/extension#az-extension-add
install_extensions() {
  local ext ext_version url sha file wheel actual have
  while IFS=$'\t' read -r ext ext_version url sha file; do
    [ -n "$ext" ] || continue
    mkdir -p "$WORK/extensions"
    wheel="$WORK/extensions/$file"
    fetch "$url" "$wheel" || die "$ext: could not fetch its wheel $url"
    actual=$(sha256_of "$wheel")
    if [ "$actual" != "$sha" ]; then
      rm -f "$wheel"
      die "$ext: SHA-256 mismatch for $file from $url: expected $sha, got $actual; nothing installed"
    fi
    az extension add --source "$wheel" --system --yes --upgrade --only-show-errors \
      || die "$ext: az extension add --source $file failed"
    have=$(az extension show --name "$ext" --query version -o tsv 2>/dev/null) || true
    [ "$have" = "$ext_version" ] || die "$ext: az reports extension version ${have:-none}, expected $ext_version"
    log "Azure CLI extension $ext $ext_version installed from $file (sha256 $sha)"
  done <<< "$AZ_EXTENSIONS"
}

# Every tool: wait for its download, check its digest, unpack, install root:root 0755, and
# check the version it reports. Nothing of a tool is installed before its digest matches.
install_tools() {
  local @@COLUMNS@@
  local artifact actual stage binary got
  while IFS=$'\t' read -r @@COLUMNS@@; do
    [ -n "$name" ] || continue
    step "tool:$name"
    if ! wait "${DL_PID[$name]}"; then
      cat "$WORK/$name.download.log" >&2 || true
      die "$name: download failed: $(tail -n 1 "$WORK/$name.download.log" 2>/dev/null)"
    fi
    artifact="$WORK/cache/$file"
    if [ "$sha" = "-" ]; then
      echo "==> aks-jumpbox warning: $name has no SHA-256 pinned in the lock; verifying against $checksum_url"
      sha=$(expected_digest "$name" "$checksum_url" "$format" "$order_url" "$file")
      [ -n "$sha" ] || die "$name: $checksum_url does not list $file"
    fi
    actual=$(sha256_of "$artifact")
    if [ "$actual" != "$sha" ]; then
      rm -f "$artifact"
      die "$name: SHA-256 mismatch for $file from $url: expected $sha, got $actual; nothing installed"
    fi
    VERIFIED[$name]=$actual
    stage="$WORK/stage"
    rm -rf "$stage" && mkdir -p "$stage"
    # The binary to install; an archive member may be named like the tool (flux, azwi, ...).
    case $archive in
      raw) binary="$artifact" ;;
      tar.gz)
        tar -xzf "$artifact" -C "$stage" --no-same-owner "$member" 2>/dev/null \
          || die "$name: $member is not in $file"
        binary="$stage/$member" ;;
      zip)
        unzip -q -o "$artifact" "$member" -d "$stage" >/dev/null 2>&1 || die "$name: $member is not in $file"
        binary="$stage/$member" ;;
      *) die "$name: unknown archive type $archive" ;;
    esac
    install -o root -g root -m 0755 "$binary" "$dest.aks-jumpbox-new"
    mv -f "$dest.aks-jumpbox-new" "$dest"
    rm -rf "$stage"
    # shellcheck disable=SC2086 # the version command is a word list from the catalog
    got=$($vcmd 2>&1 | version_of "$vregex") || true
    [ "$got" = "$version" ] || die "$name: installed $dest reports version ${got:-none}, expected $version"
    log "$name $version installed at $dest (sha256 $sha)"
    step_end
  done <<< "$ARTIFACTS"
}

harden_sshd() {
  step sshd-hardening
  # A drop-in that sorts first: sshd keeps the first value it reads for each keyword.
  mkdir -p /etc/ssh/sshd_config.d /run/sshd
  printf '%s\n' "$SSHD_DROPIN" > /etc/ssh/sshd_config.d/05-aks-jumpbox.conf
  chmod 0644 /etc/ssh/sshd_config.d/05-aks-jumpbox.conf
  if ! grep -qE '^[[:space:]]*Include[[:space:]]+/etc/ssh/sshd_config\.d/\*\.conf' /etc/ssh/sshd_config; then
    sed -i '1i Include /etc/ssh/sshd_config.d/*.conf' /etc/ssh/sshd_config
  fi
  sshd -t || die "sshd rejects its configuration (sshd -t)"
  step_end
}

write_manifest() {
  step manifest
  local pkg pkg_version pkg_arch
  manifest_json > "$STATE/manifest.json.new"
  mv -f "$STATE/manifest.json.new" "$STATE/manifest.json"
  chmod 0644 "$STATE/manifest.json"
  dpkg-query -W -f '${Package}\t${Version}\t${Architecture}\n' | sort > "$STATE/packages.tsv"
  while IFS=$'\t' read -r pkg pkg_version pkg_arch; do
    printf '==> aks-jumpbox package %s %s %s\n' "$pkg" "$pkg_version" "$pkg_arch"
  done < "$STATE/packages.tsv"
  step_end
}

clean_up() {
  step cleanup
  apt-get clean
  # The image keeps nothing of the build's own `az` runs (config, logs, command index).
  rm -rf "$WORK" "$AZ_STATE"
  step_end
}

main() {
  set -euo pipefail
  umask 022
  export DEBIAN_FRONTEND=noninteractive
  # needrestart must not restart sshd under Packer's SSH session (the upgrade hang upstream hit).
  export NEEDRESTART_MODE=l NEEDRESTART_SUSPEND=1 UCF_FORCE_CONFFOLD=1
  export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  # HashiCorp's version check: `terraform version` would call checkpoint-api.hashicorp.com (not in the
  # egress allow-list) and write a random checkpoint signature into the image.
  # https://developer.hashicorp.com/terraform/cli/commands#upgrade-and-security-bulletin-checks
  export CHECKPOINT_DISABLE=1
  trap on_exit EXIT
  [ "$(id -u)" -eq 0 ] || { echo "provision.sh must run as root (the image template runs it with sudo)" >&2; exit 1; }
  mkdir -p "$WORK" "$STATE"

  wait_for_boot
  trust_mirror_ca
  use_apt_mirror
  apt_upgrade
  start_downloads
  install_azure_cli
  install_tools
  harden_sshd
  write_manifest
  clean_up
  echo "==> aks-jumpbox provision complete ($PLAN_HASH)"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  main "$@"
fi
