#!/usr/bin/env bash
# The zkcustoms story on the embedded defaults: an AEO authority publishes its registry root, a
# trader proves its AEO status and the value of an invoice without revealing either, and anyone
# holding the verifying keys checks the proofs.
set -euo pipefail

ZK=${ZK:-target/release/zkcustoms}
OUT=${DEMO_DIR:-demo-out}
rm -rf "$OUT"
mkdir -p "$OUT"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
field() { sed -n "s/.*\"$1\": *\"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}$/\1/p" "$2" | head -n 1; }

step "1. Keys: development keys for aeo-status/v1 and invoice-value/v1 (4 lines)"
"$ZK" setup --dev --out "$OUT/keys" --circuit aeo-status/v1 --circuit invoice-value/v1:4

step "2. AEO authority DE-GZD builds its registry and publishes the root"
"$ZK" example certificates > "$OUT/certificates.json"
"$ZK" registry build --certificates "$OUT/certificates.json" --out "$OUT/registry"

step "3. Trader proves: 'I hold an AEO certificate of tier AEOS or higher from DE-GZD, valid today'"
"$ZK" example aeo-status > "$OUT/aeo-status.witness.json"
"$ZK" prove aeo-status --keys "$OUT/keys" --witness "$OUT/aeo-status.witness.json" \
  --out "$OUT/aeo-status.proof.json"
echo "registry root published by the authority: $(field registry_root "$OUT/registry/root.json")"
echo "registry root named in the proof:         $(field registry_root "$OUT/aeo-status.proof.json")"

step "4. Trader anchors its invoice digest and proves: 'this invoice totals the declared value'"
"$ZK" example invoice > "$OUT/invoice.json"
echo "digest to anchor on the ledger: $("$ZK" invoice digest --invoice "$OUT/invoice.json")"
"$ZK" example invoice-value > "$OUT/invoice-value.witness.json"
"$ZK" prove invoice-value --keys "$OUT/keys" --witness "$OUT/invoice-value.witness.json" \
  --out "$OUT/invoice-value.proof.json"

step "5. Customs (or a partner administration) verifies both proofs"
"$ZK" verify --keys "$OUT/keys" "$OUT/aeo-status.proof.json" "$OUT/invoice-value.proof.json"

step "6. A proof whose declared value was changed afterwards is refused (exit code 1)"
sed 's/"declared_value_minor": [0-9]*/"declared_value_minor": 1843251/' \
  "$OUT/invoice-value.proof.json" > "$OUT/tampered.proof.json"
if "$ZK" verify --keys "$OUT/keys" "$OUT/tampered.proof.json"; then
  echo "the tampered proof verified: this must not happen" >&2
  exit 1
fi

step "What was proved, and what stayed private"
cat <<TXT
Public (in the envelopes, on a ledger later):
  aeo-status/v1     registry root, authority DE-GZD, day 2026-11-25, tier AEOS, scope, nullifier
  invoice-value/v1  invoice digest, declared value 18432.50 EUR
Private (never left the prover):
  which operator (EORI DE123456789012345), its certificate, its place in the registry,
  its holder secret; the invoice number, buyer, seller, lines, quantities and prices.
TXT
for secret in DE123456789012345 INV-2026-000451 "Static converters"; do
  if grep -q "$secret" "$OUT/aeo-status.proof.json" "$OUT/invoice-value.proof.json"; then
    echo "private value $secret found in a proof envelope" >&2
    exit 1
  fi
done
echo
echo "Checked: none of those private values appears in either envelope. Files are in $OUT/."
