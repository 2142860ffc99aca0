#!/usr/bin/env bash
# Install the Debian packages faxbridge needs to build, run and test.
# Safe to run again: it only calls apt-get when something is missing.
# With "bench", also the documentation packages whose PDFs the document
# benchmark renders.
set -euo pipefail

packages=(
  # build: SpanDSP (vendored by spandsp-sys) needs libtiff, libjpeg and clang for bindgen
  build-essential pkg-config libtiff-dev libjpeg-dev libclang-dev
  # tests and benchmarks: reference tools and rasterisers
  libtiff-tools poppler-utils ghostscript qpdf
  # mail tests: aiosmtpd (PyPI) in a venv the tests create under target/;
  # openssl makes the test relay's and the SIP TLS tests' certificates;
  # swaks is the SMTP client of the SMTP security tests (libnet-ssleay-perl
  # gives it STARTTLS)
  python3 python3-venv openssl swaks libnet-ssleay-perl
  # SNMP tests: snmpsim (PyPI) in a venv under target/, built from Debian's python3
  # web UI tests: headless Chromium driven over WebDriver
  chromium chromium-driver
  # SIP tests against an independent implementation: SIPp plays Mediatrix
  # units and trunks
  sip-tester
  # prlimit: the SIP connection flood test holds the daemon to 1024 descriptors
  util-linux
  # call classifier corpus: speech from espeak-ng, resampled and synthesised by sox
  espeak-ng sox
  # store tests on PostgreSQL: a server in a temporary directory (tests/support/postgres.rs)
  postgresql
)
if [ "${1:-}" = bench ]; then
  packages+=(libtasn1-doc shared-mime-info)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
