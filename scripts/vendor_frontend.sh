#!/bin/sh
# Re-vendor the pages' front-end libraries from the npm registry at the pinned versions
# (supportapp/static/vendor/README.md). Run it only to change a version: the files it writes
# are committed, so running the app never needs npm or the network.
set -eu
cd "$(dirname "$0")/.."
VENDOR=supportapp/static/vendor
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

fetch() { # name version sha256-of-tarball
    (cd "$WORK" && npm pack --silent "$1@$2" >/dev/null)
    echo "$3  $WORK/$1-$2.tgz" | sha256sum -c - >/dev/null
    mkdir -p "$WORK/$1" && tar xzf "$WORK/$1-$2.tgz" -C "$WORK/$1"
}

fetch preact 10.29.8 b18cb0a457f3d43c7bb30391a74ade7d13e03bc6e77915e061c70c0fe1123299
fetch htm 3.1.1 2425b9bee11409177bcabc7f32e319926fc6690c1701c0b257c88bdff2d5ba90
fetch redoc 2.5.1 01ba9840ed89ca7862268d8d21892bcaa54e0fce6a62941faf12021834cd2032

cp "$WORK/preact/package/dist/preact.module.js" "$WORK/preact/package/hooks/dist/hooks.module.js" \
    "$WORK/preact/package/LICENSE" "$VENDOR/preact/"
cp "$WORK/htm/package/dist/htm.module.js" "$WORK/htm/package/LICENSE" "$VENDOR/htm/"
cp "$WORK/redoc/package/bundles/redoc.standalone.js" \
    "$WORK/redoc/package/bundles/redoc.standalone.js.LICENSE.txt" \
    "$WORK/redoc/package/LICENSE" "$VENDOR/redoc/"
# One patch: ReDoc's sidebar attribution shows a logo from cdn.redoc.ly; we render no image
# there (the "API docs by Redocly" link stays), so the docs page never reaches for a CDN.
python3 - "$VENDOR/redoc/redoc.standalone.js" <<'PATCH'
import sys
path = sys.argv[1]
text = open(path, encoding="utf-8").read()
logo = ('e?n.createElement("img",{alt:"redocly logo",onError:()=>t(!1),'
        'src:"https://cdn.redoc.ly/redoc/logo-mini.svg"}):null')
assert text.count(logo) == 1, "ReDoc's attribution logo moved: update this patch"
open(path, "w", encoding="utf-8").write(text.replace(logo, "null"))
PATCH
echo "7690689798d214831f4c03fa4bdcff72e7e824cc1c578e2daa23500436ec91db  $VENDOR/redoc/redoc.standalone.js" \
    | sha256sum -c - >/dev/null
echo "vendored into $VENDOR"
