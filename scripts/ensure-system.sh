#!/usr/bin/env bash
# Ensures the system packages syncrepl-rx needs, idempotently (Debian/Ubuntu, apt-get).
#
#   scripts/ensure-system.sh slapd         OpenLDAP slapd + ldap-utils (integration tests, demo)
#   scripts/ensure-system.sh chromium      Chromium at /usr/bin/chromium (end-to-end tests)
#   scripts/ensure-system.sh 389ds         389 Directory Server, 389-ds-base (its tests, demo --server 389ds)
#   scripts/ensure-system.sh python-ldap   python3-ldap for /usr/bin/python3 (benchmarks; optional, never fails)
#   scripts/ensure-system.sh --check ...   only report what is missing (exit 1 if a required one is)
#
# Nothing is done when the binaries are already there. Otherwise, as root or with passwordless sudo,
# it runs `apt-get update` once and installs with DEBIAN_FRONTEND=noninteractive behind a temporary
# /usr/sbin/policy-rc.d (exit 101), so the Debian postinst does not start a system slapd on port 389.
# The tests never use a system slapd anyway: test/fixtures/slapd.ts runs its own slapd from a temp
# directory on a free loopback port, with its own slapd.conf, so a running system instance, its
# config or its port do not matter.
set -euo pipefail

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; }

check_only=0
wanted=()
for arg in "$@"; do
  case "$arg" in
    --check) check_only=1 ;;
    slapd | chromium | python-ldap | 389ds) wanted+=("$arg") ;;
    -h | --help) usage; exit 0 ;;
    *)
      echo "ensure-system.sh: unknown argument '$arg' (expected slapd, chromium, 389ds or python-ldap)." >&2
      exit 2
      ;;
  esac
done
[ "${#wanted[@]}" -gt 0 ] || { usage >&2; exit 2; }

have_cmd() { command -v "$1" >/dev/null 2>&1; }

present() {
  case "$1" in
    slapd)
      [ -x /usr/sbin/slapd ] && [ -x /usr/sbin/slapadd ] && have_cmd ldapsearch && have_cmd ldapmodify &&
        have_cmd ldapadd && have_cmd ldapdelete
      ;;
    chromium) [ -x /usr/bin/chromium ] ;;
    389ds) [ -x /usr/sbin/ns-slapd ] && [ -x /usr/sbin/dscreate ] && have_cmd ldapmodify ;;
    # the Debian package serves the system python, whatever python3 comes first on PATH
    python-ldap) [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import ldap.syncrepl' >/dev/null 2>&1 ;;
  esac
}

packages_for() {
  case "$1" in
    slapd) echo "slapd ldap-utils" ;;
    chromium) echo "chromium" ;;
    389ds) echo "389-ds-base ldap-utils" ;;
    python-ldap) echo "python3-ldap" ;;
  esac
}

explain() {
  case "$1" in
    slapd) echo "syncrepl-rx needs OpenLDAP's slapd and ldap-utils: install them with \`sudo apt-get install slapd ldap-utils\`." ;;
    chromium) echo "syncrepl-rx's end-to-end tests need Chromium at /usr/bin/chromium: install it with \`sudo apt-get install chromium\`." ;;
    389ds) echo "syncrepl-rx's 389 Directory Server tests need Debian's 389-ds-base: install it with \`sudo apt-get install 389-ds-base\`." ;;
    python-ldap) echo "python3-ldap is missing, so the python-ldap benchmark will be skipped (install it with \`sudo apt-get install python3-ldap\`)." ;;
  esac
}

required() { [ "$1" != python-ldap ]; }

missing=()
for w in "${wanted[@]}"; do present "$w" || missing+=("$w"); done

if [ "${#missing[@]}" -gt 0 ] && [ "$check_only" -eq 1 ]; then
  status=0
  for w in "${missing[@]}"; do
    explain "$w" >&2
    if required "$w"; then status=1; fi
  done
  exit "$status"
fi

if [ "${#missing[@]}" -gt 0 ]; then
  sudo=()
  can_install=1
  if [ "$(id -u)" -ne 0 ]; then
    if have_cmd sudo && sudo -n true >/dev/null 2>&1; then sudo=(sudo -n); else can_install=0; fi
  fi
  have_cmd apt-get || can_install=0

  if [ "$can_install" -eq 0 ]; then
    status=0
    for w in "${missing[@]}"; do
      explain "$w" >&2
      if required "$w"; then status=1; fi
    done
    exit "$status"
  fi

  # keep the Debian maintainer scripts from starting services (a system slapd on :389)
  created_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    "${sudo[@]}" sh -c 'printf "#!/bin/sh\nexit 101\n" >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d'
    created_policy=1
  fi
  cleanup() {
    if [ "$created_policy" -eq 1 ]; then "${sudo[@]}" rm -f /usr/sbin/policy-rc.d; fi
  }
  trap cleanup EXIT

  echo "» apt-get update" >&2
  if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null; then
    echo "ensure-system.sh: apt-get update failed; trying to install from the current package lists." >&2
  fi

  install() {
    # shellcheck disable=SC2046
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold $(packages_for "$1") >/dev/null
  }

  status=0
  for w in "${missing[@]}"; do
    echo "» installing $(packages_for "$w")" >&2
    if ! install "$w" || ! present "$w"; then
      explain "$w" >&2
      if required "$w"; then status=1; fi
    fi
  done
  if [ "$status" -ne 0 ]; then exit "$status"; fi
fi

# AppArmor: Ubuntu ships an enforcing profile for /usr/sbin/slapd that only allows its usual paths
# (Debian 12 ships none). The test fixture runs slapd with a config and database in the temp dir,
# which such a profile denies. Say so clearly instead of letting tests fail obscurely.
for w in "${wanted[@]}"; do
  if [ "$w" = slapd ] && [ -r /sys/kernel/security/apparmor/profiles ] &&
    grep -qE '^/usr/sbin/slapd \(enforce\)' /sys/kernel/security/apparmor/profiles; then
    echo "ensure-system.sh: AppArmor confines /usr/sbin/slapd, so test slapds in the temp dir will be denied:" \
      "run \`sudo aa-complain /usr/sbin/slapd\` (or set SYNCREPL_RX_SLAPD to an unconfined copy of slapd)." >&2
    exit 1
  fi
done

exit 0
