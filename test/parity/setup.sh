#!/bin/bash
# Install the reference JS runtime for test/t/045_encoder_use_parity.pl into
# build/parity/node_modules (pinned by package-lock.json), so that the parity
# test runs offline afterwards.  Needs npm and network once.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p build/parity
cp test/parity/package.json test/parity/package-lock.json build/parity/
(cd build/parity && npm ci --no-audit --no-fund --silent)
chmod -R a+rX build/parity
echo "parity runtime installed in build/parity/node_modules"
