#!/usr/bin/env bash
# Makes sure the team-history tests and benchmarks can start a throwaway PostgreSQL server:
# the server binaries (initdb, postgres), a `postgres` user to run them as when we are root
# (initdb refuses root), and openssl for the TLS test's certificate. Idempotent; the tests find
# the binaries under /usr/lib/postgresql/*/bin or on PATH (or PROMPTSTACK_PG_BIN).
set -euo pipefail

have_server() {
    ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1
}

apt_install() {
    if [ "$(id -u)" != 0 ]; then
        echo "install-postgres: please install: $* (Debian: apt-get install $*)" >&2
        exit 1
    fi
    if [ -z "${APT_UPDATED:-}" ]; then
        apt-get update -qq
        APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

have_server || apt_install postgresql
command -v openssl >/dev/null 2>&1 || apt_install openssl

if [ "$(id -u)" = 0 ] && ! getent passwd postgres >/dev/null; then
    useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
fi

initdb=$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -1 || true)
echo "install-postgres: $("${initdb:-initdb}" --version)"
