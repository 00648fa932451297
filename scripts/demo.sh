#!/usr/bin/env bash
# The sample data of a devnet (scripts/devnet.sh demo): an agency and a photographer are
# registered, the photographer registers a few generated images, transfers one to the agency,
# licenses another, the agency files an infringement claim, and a registration certificate is
# written into the devnet folder with the command that checks it offline.
#
# Uses the devnet in $TOTEM_DEVNET_DIR (default ./devnet) and the totemd in $TOTEMD (default the
# release build). Needs the nodes running (scripts/devnet.sh up) and libvips' `vips` command.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR="${TOTEM_DEVNET_DIR:-devnet}"
T="${TOTEMD:-$PWD/.build/release/totemd}"
[ -x "$T" ] || T="$PWD/.build/debug/totemd"
[ -x "$T" ] || { echo "demo: no totemd binary; run scripts/devnet.sh up first" >&2; exit 1; }
[ -f "$DIR/root_registrar.json" ] || { echo "demo: no devnet in $DIR; run scripts/devnet.sh up first" >&2; exit 1; }
command -v vips >/dev/null || { echo "demo: the vips command is missing (apt-get install libvips-tools)" >&2; exit 1; }

# The anchor node's API, from its config.
API="http://$(sed -n 's/^listen = "\(.*\)"$/\1/p' "$DIR/node0/config.toml" | tail -1)"
OUT="$DIR/demo"
rm -rf "$OUT" && mkdir -p "$OUT"
step() { printf '\n== %s\n' "$*"; }
tx() { "$T" tx "$@" --api "$API" > "$OUT/last-tx.json" && grep -m1 '"status"' "$OUT/last-tx.json"; }

step "keys: a registrar, an agency and a photographer"
REG=$("$T" keygen --out "$OUT/registrar.json")
AGENCY=$("$T" keygen --out "$OUT/agency.json")
PHOTO=$("$T" keygen --out "$OUT/photographer.json")
echo "registrar $REG"; echo "agency $AGENCY"; echo "photographer $PHOTO"

step "the operator (root registrar) appoints the registrar"
tx add-registrar --key "$DIR/root_registrar.json" --subject "$REG" --name "Demo Registry"
step "the registrar registers the agency and the photographer"
tx register-identity --key "$OUT/registrar.json" --subject "$AGENCY" --name "Agence Démo" --role agency
tx register-identity --key "$OUT/registrar.json" --subject "$PHOTO" --name "Zoë Photographer" --role photographer

step "three generated pictures"
for i in 1 2 3; do
    # Smooth structure (sines at a picture-specific frequency) with grain, as 8-bit PNG.
    vips sines "$OUT/s$i.v" 640 480 --hfreq "0.$((i + 1))" --vfreq "0.$((4 - i))"
    vips linear "$OUT/s$i.v" "$OUT/picture$i.png" 100 128 --uchar
    rm -f "$OUT/s$i.v"
    "$T" fingerprint "$OUT/picture$i.png" | sed 's/^/  /'
done

step "the photographer registers them"
for i in 1 2 3; do
    tx register-work --key "$OUT/photographer.json" --file "$OUT/picture$i.png" --title "Demo picture $i" \
        --license "All rights reserved"
    grep -m1 '"txHash"' "$OUT/last-tx.json" | sed 's/[", ]//g; s/txHash://' > "$OUT/picture$i.tx"
done
H1=$(sha256sum "$OUT/picture1.png" | cut -d' ' -f1)
H2=$(sha256sum "$OUT/picture2.png" | cut -d' ' -f1)
H3=$(sha256sum "$OUT/picture3.png" | cut -d' ' -f1)

step "picture 2 is transferred to the agency, picture 3 licensed to it"
tx transfer --key "$OUT/photographer.json" --content-hash "$H2" --to "$AGENCY"
tx license --key "$OUT/photographer.json" --content-hash "$H3" --licensee "$AGENCY" --terms "Editorial use, Europe, 1 year" \
    --valid-until-ms $(( $(date +%s) * 1000 + 365 * 86400 * 1000 ))

step "a resized copy of picture 1 is found on the web; the agency files a claim"
vips resize "$OUT/picture1.png" "$OUT/copy-of-picture1.jpg" 0.5
"$T" similar "$OUT/copy-of-picture1.jpg" --api "$API" --max-distance 8
tx claim --key "$OUT/agency.json" --content-hash "$H1" --infringing-digest "$(sha256sum "$OUT/copy-of-picture1.jpg" | cut -d' ' -f1)" \
    --locator "https://example.org/stolen/picture1.jpg" --note "resized copy, no licence"

step "history of picture 1"
"$T" query history "$H1" --api "$API"

step "registration certificate of picture 1"
"$T" query certificate "$(cat "$OUT/picture1.tx")" --api "$API" --out "$OUT/certificate-picture1.json"
echo
echo "certificate: $OUT/certificate-picture1.json"
echo "check it offline with:"
echo "  $T verify $OUT/certificate-picture1.json --genesis $DIR/genesis.json"
"$T" verify "$OUT/certificate-picture1.json" --genesis "$DIR/genesis.json"
