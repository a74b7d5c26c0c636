#!/bin/sh
# Installs VS Code in the browser (code-server, from the npm registry) into DEST without its postinstall,
# which downloads a ripgrep binary from GitHub (unreachable on machines that reach only the package
# registries). Instead: Debian's ripgrep in its place, and VS Code's native modules compiled here with
# node-gyp against the host's Node.js headers. Needs Node.js 20 (code-server 4.100's engine), npm, g++,
# make, python3 and rg (Debian: nodejs, g++, make, python3, ripgrep). kerberos (Kerberos proxy auth) is
# left out: it needs libkrb5-dev and nothing here uses it.
#
#     infra/lab-images/vscode/install-code-server.sh .venv/code-server
#
# Leaves DEST/bin/code-server, the launcher the VS Code template runs.
set -eu
VERSION=4.100.3
DEST=$(realpath -m "${1:?usage: install-code-server.sh DEST}")
for tool in node npm g++ make python3 rg; do
    command -v "$tool" >/dev/null 2>&1 || { echo "code-server: $tool is missing" >&2; exit 1; }
done
major=$(node -p 'process.versions.node.split(".")[0]')
[ "$major" = 20 ] || { echo "code-server $VERSION needs Node.js 20 (found $(node --version))" >&2; exit 1; }
nodedir=$(dirname "$(dirname "$(command -v node)")")
[ -f "$nodedir/include/node/node_api.h" ] || { echo "code-server: no Node.js headers in $nodedir/include/node" >&2; exit 1; }

if [ -x "$DEST/bin/code-server" ] && [ "$(cat "$DEST/VERSION" 2>/dev/null)" = "$VERSION" ]; then
    echo "code-server $VERSION: already in $DEST"
    exit 0
fi
rm -rf "$DEST.new"
mkdir -p "$DEST.new"
cd "$DEST.new"
npm_flags="--ignore-scripts --no-audit --no-fund --loglevel=error"
echo "code-server $VERSION: npm install"
npm install $npm_flags "code-server@$VERSION" >/dev/null
# Its own native module (argon2: prebuilt binaries come from GitHub), built from source.
npm rebuild --nodedir="$nodedir" --build-from-source argon2 >/dev/null
cd node_modules/code-server/lib/vscode
echo "code-server $VERSION: VS Code's dependencies"
npm install --omit=dev $npm_flags >/dev/null
mkdir -p node_modules/@vscode/ripgrep/bin
ln -sf "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg
echo "code-server $VERSION: compiling VS Code's native modules"
npm install --no-save $npm_flags node-gyp@12 >/dev/null
PATH="$PWD/node_modules/.bin:$PATH" npm rebuild --nodedir="$nodedir" \
    node-pty @vscode/spdlog native-watchdog @parcel/watcher @vscode/deviceid >/dev/null
ln -sfn node_modules node_modules.asar
(cd extensions && npm install --omit=dev $npm_flags >/dev/null)
cd "$DEST.new"
mkdir -p bin
cat > bin/code-server <<LAUNCHER
#!/bin/sh
exec node "$DEST/node_modules/code-server/out/node/entry.js" "\$@"
LAUNCHER
chmod +x bin/code-server
echo "$VERSION" > VERSION
rm -rf "$DEST"
mv "$DEST.new" "$DEST"
echo "code-server $VERSION: installed in $DEST"
