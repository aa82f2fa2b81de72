#!/usr/bin/env bash
# Sets up what `npm run test:e2e` needs, from Debian packages and the npm registry only:
# Chromium, and code-server 4.100.x (the last line that runs on Node 20) built for this Node.
#
# code-server's install script refuses to run as root, so it is installed as an ordinary user
# (default: cstest). Two of its dependencies want the network beyond npm: kerberos needs the
# GSSAPI headers (libkrb5-dev), and @vscode/ripgrep downloads rg from GitHub unless its download
# cache already holds the archive, so the cache is filled with Debian's ripgrep.
# Prints the path to export as CODE_SERVER.
set -euo pipefail
user="${1:-cstest}"
version="4.100.3"
apt-get install -y -q chromium ripgrep libkrb5-dev libxkbfile-dev libsecret-1-dev libx11-dev pkg-config build-essential >/dev/null
id "$user" >/dev/null 2>&1 || useradd -m -s /bin/bash "$user"
su - "$user" -c '
  set -e
  cache=/tmp/vscode-ripgrep-cache-1.15.11
  archive="$cache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz"
  if [ ! -r "$archive" ]; then
    mkdir -p "$cache"
    staging=$(mktemp -d)
    cp /usr/bin/rg "$staging/rg"
    tar czf "$archive" -C "$staging" rg
  fi
  mkdir -p ~/code-server && cd ~/code-server
  [ -f package.json ] || echo "{\"name\":\"code-server-host\",\"private\":true}" > package.json
  npm_config_nodedir=/usr npm install --no-audit --no-fund --loglevel=error code-server@'"$version"'
'
echo "CODE_SERVER=$(getent passwd "$user" | cut -d: -f6)/code-server/node_modules/.bin/code-server"
