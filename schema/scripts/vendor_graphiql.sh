#!/bin/sh
# Fetch GraphiQL, React and the explorer plugin from the npm registry (`npm pack` checks
# each tarball against the registry's integrity hash) into the package's versioned asset
# folder, with their licences and a SHA256SUMS file. Run by `make vendor-graphiql`; the
# files are committed, so the API serves them with no network at run time.
set -eu

GRAPHIQL=3.8.3
REACT=18.2.0
EXPLORER=1.0.2

root=$(cd "$(dirname "$0")/../.." && pwd)
dest="$root/schema/hotline/schema/static/graphiql/$GRAPHIQL"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cd "$work"
npm pack --silent "graphiql@$GRAPHIQL" "react@$REACT" "react-dom@$REACT" \
    "@graphiql/plugin-explorer@$EXPLORER" >/dev/null
for tarball in *.tgz; do
    mkdir "${tarball%.tgz}"
    tar xzf "$tarball" -C "${tarball%.tgz}"
done

rm -rf "$dest"
mkdir -p "$dest/licenses"
cp "react-$REACT/package/umd/react.production.min.js" "$dest/"
cp "react-dom-$REACT/package/umd/react-dom.production.min.js" "$dest/"
cp "graphiql-$GRAPHIQL/package/graphiql.min.js" "graphiql-$GRAPHIQL/package/graphiql.min.css" "$dest/"
cp "graphiql-plugin-explorer-$EXPLORER/package/dist/index.umd.js" "$dest/plugin-explorer.umd.js"
cp "graphiql-plugin-explorer-$EXPLORER/package/dist/style.css" "$dest/plugin-explorer.css"
cp "react-$REACT/package/LICENSE" "$dest/licenses/react.LICENSE"
cp "graphiql-$GRAPHIQL/package/LICENSE" "$dest/licenses/graphiql.LICENSE"
cp "graphiql-plugin-explorer-$EXPLORER/package/LICENSE" "$dest/licenses/plugin-explorer.LICENSE" \
    2>/dev/null || cp "graphiql-$GRAPHIQL/package/LICENSE" "$dest/licenses/plugin-explorer.LICENSE"
printf 'graphiql %s\nreact %s\nreact-dom %s\n@graphiql/plugin-explorer %s\n' \
    "$GRAPHIQL" "$REACT" "$REACT" "$EXPLORER" >"$dest/VERSIONS"
cd "$dest"
sha256sum ./*.js ./*.css | sed 's# \./# #' >SHA256SUMS
echo "vendored into $dest:"
cat SHA256SUMS
