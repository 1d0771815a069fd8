#!/usr/bin/env bash
# The zkcustoms story on the embedded defaults: a single-validator ledger node (RocksDB in a local
# directory, Simplex consensus), an AEO authority publishing its registry root, a trader anchoring
# its documents and proving its AEO status and its invoice's value without revealing either,
# customs reading the records and marking the declaration under examination, and a late
# amendment refused; the invoice kept encrypted on the node, read by customs, and forgotten.
set -euo pipefail

ZK=${ZK:-target/release/zkcustoms}
OUT=${DEMO_DIR:-demo-out}
API_PORT=${DEMO_API_PORT:-18080}
P2P_PORT=${DEMO_P2P_PORT:-17400}
NODE="http://127.0.0.1:$API_PORT"
UCR=26DE-HAM-000042
# The trader: its EORI number (the example certificate's operator) and its key, made below.
EORI=DE123456789012345
TODAY=$(date -u +%F)

rm -rf "$OUT"
mkdir -p "$OUT"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
field() { sed -n "s/.*\"$1\": *\"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}$/\1/p" "$2" | head -n 1; }
NODE_PID=
stop_node() {
  if [ -n "$NODE_PID" ] && kill -0 "$NODE_PID" 2>/dev/null; then
    kill -TERM "$NODE_PID"
    wait "$NODE_PID" 2>/dev/null || true
  fi
}
trap stop_node EXIT
# Runs a command that must be refused by a ledger rule (exit code 1).
refused() {
  set +e
  "$@"
  local code=$?
  set -e
  if [ "$code" -ne 1 ]; then
    echo "expected a refusal (exit 1), got exit $code" >&2
    exit 1
  fi
  echo "(refused, as it must be)"
}

step "1. Keys: development keys for aeo-status/v1, invoice-value/v1 and declaration-match/v1 (4 lines)"
"$ZK" setup --dev --out "$OUT/keys" --circuit aeo-status/v1 --circuit invoice-value/v1:4 \
  --circuit declaration-match/v1:4

step "2. Ledger: a development genesis (one validator, authority DE-GZD, office DE-HAMBURG-HAFEN)"
"$ZK" genesis --dev --out "$OUT/ledger" --keys "$OUT/keys" --p2p-port "$P2P_PORT"
L="$OUT/ledger"
# Every transaction the parties sign below is signed for this network's chain id.
export ZKCUSTOMS_GENESIS="$L/genesis.json"

step "3. The validator's node starts: RocksDB in $OUT/node, Simplex consensus, API on $NODE"
"$ZK" node --genesis "$L/genesis.json" --data-dir "$OUT/node" --listen "127.0.0.1:$API_PORT" \
  2> "$OUT/node.log" &
NODE_PID=$!
for _ in $(seq 1 100); do
  if "$ZK" query status --node "$NODE" --token-file "$L/auditor.token" > "$OUT/status.json" 2>/dev/null; then
    break
  fi
  if ! kill -0 "$NODE_PID" 2>/dev/null; then
    echo "the node stopped; its log:" >&2
    cat "$OUT/node.log" >&2
    exit 1
  fi
  sleep 0.2
done
echo "chain id $(field chain_id "$OUT/status.json"), height $(field height "$OUT/status.json")"

step "3a. The trader makes its key; customs office DE-HAMBURG-HAFEN registers it on the ledger, signed"
TRADER_PUB=$("$ZK" party new --out "$OUT/trader.key")
echo "trader $EORI, public key $TRADER_PUB (the private key stays in $OUT/trader.key)"
"$ZK" party register --node "$NODE" --token-file "$L/customs.token" --office DE-HAMBURG-HAFEN \
  --key "$L/customs-DE-HAMBURG-HAFEN.key" --trader "$EORI" --public-key "$TRADER_PUB" > /dev/null
"$ZK" party show --node "$NODE" --token-file "$L/auditor.token" --trader "$EORI" \
  > "$OUT/trader-record.json"
echo "registered: $(field status "$OUT/trader-record.json"), vouched for by administration $(field administration "$OUT/trader-record.json")"
SIGN=(--trader "$EORI" --key "$OUT/trader.key")

step "4. AEO authority DE-GZD builds its registry and publishes the root, signed"
"$ZK" example certificates --as-of "$TODAY" > "$OUT/certificates.json"
"$ZK" registry build --certificates "$OUT/certificates.json" --out "$OUT/registry"
"$ZK" submit root --node "$NODE" --token-file "$L/authority.token" \
  --registry "$OUT/registry/root.json" --key "$L/authority-DE-GZD.key"

step "5. Trader anchors its invoice and its declaration, signed (digests only; documents stay off-ledger)"
echo "the first anchor makes $EORI the owner of $UCR: nobody else may write under it"
"$ZK" example invoice > "$OUT/invoice.json"
"$ZK" submit anchor --node "$NODE" --token-file "$L/trader.token" "${SIGN[@]}" --ucr "$UCR" \
  --doc-type invoice --invoice "$OUT/invoice.json" --reference "vault://trader/documents/3f9a1c"
printf 'declaration of %s, version 1\n' "$UCR" > "$OUT/declaration-v1.txt"
DECL1=$(sha256sum "$OUT/declaration-v1.txt" | cut -d' ' -f1)
"$ZK" submit anchor --node "$NODE" --token-file "$L/trader.token" "${SIGN[@]}" --ucr "$UCR" \
  --doc-type declaration --digest "$DECL1" --reference "vault://trader/declarations/$UCR/1"

step "5a. Another registered trader may not anchor under $UCR (refused: not-owner)"
"$ZK" party new --out "$OUT/other-trader.key" > "$OUT/other-trader.pub"
"$ZK" party register --node "$NODE" --token-file "$L/customs.token" --office DE-HAMBURG-HAFEN \
  --key "$L/customs-DE-HAMBURG-HAFEN.key" --trader NL000111222 \
  --public-key "$(cat "$OUT/other-trader.pub")" > /dev/null
refused "$ZK" submit anchor --node "$NODE" --token-file "$L/trader.token" --trader NL000111222 \
  --key "$OUT/other-trader.key" --ucr "$UCR" --doc-type packing-list --version 1 \
  --digest "$(printf junk | sha256sum | cut -d' ' -f1)" --reference "vault://elsewhere/1"

step "6. Trader proves 'I hold an AEO certificate of tier AEOS or higher from DE-GZD, valid today', for $UCR on this ledger"
"$ZK" example aeo-status --as-of "$TODAY" > "$OUT/aeo-status.witness.json"
"$ZK" prove aeo-status --keys "$OUT/keys" --witness "$OUT/aeo-status.witness.json" \
  --for-ucr "$UCR" --genesis "$L/genesis.json" --out "$OUT/aeo-status.proof.json"
echo "its scope binds it to this ledger and consignment: $(field scope "$OUT/aeo-status.proof.json")"
"$ZK" submit proof --node "$NODE" --token-file "$L/trader.token" "${SIGN[@]}" --ucr "$UCR" \
  --proof "$OUT/aeo-status.proof.json"

step "7. A second, freshly made proof of the same statement (other bytes, same public values) is refused"
"$ZK" prove aeo-status --keys "$OUT/keys" --witness "$OUT/aeo-status.witness.json" \
  --for-ucr "$UCR" --genesis "$L/genesis.json" --out "$OUT/aeo-status.again.proof.json"
refused "$ZK" submit proof --node "$NODE" --token-file "$L/trader.token" "${SIGN[@]}" --ucr "$UCR" \
  --proof "$OUT/aeo-status.again.proof.json"

step "8. Trader proves 'the anchored invoice totals the declared value' and submits it"
"$ZK" example invoice-value > "$OUT/invoice-value.witness.json"
"$ZK" prove invoice-value --keys "$OUT/keys" --witness "$OUT/invoice-value.witness.json" \
  --out "$OUT/invoice-value.proof.json"
"$ZK" submit proof --node "$NODE" --token-file "$L/trader.token" "${SIGN[@]}" --ucr "$UCR" \
  --proof "$OUT/invoice-value.proof.json"

step "8a. Trader proves 'the declaration items are the anchored invoice's lines grouped by HS-6 heading'"
"$ZK" example declaration-match > "$OUT/declaration-match.witness.json"
echo "declared items (the invoice's two 850440 lines make one item):"
sed -n '/"items": \[/,/\]/p' "$OUT/declaration-match.witness.json"
"$ZK" prove declaration-match --keys "$OUT/keys" --witness "$OUT/declaration-match.witness.json" \
  --out "$OUT/declaration-match.proof.json"
"$ZK" submit proof --node "$NODE" --token-file "$L/trader.token" "${SIGN[@]}" --ucr "$UCR" \
  --proof "$OUT/declaration-match.proof.json"

step "9. Customs reads the consignment's records (a trader's token may not)"
"$ZK" query records --node "$NODE" --token-file "$L/customs.token" --ucr "$UCR" > "$OUT/records.json"
echo "records of $UCR: $(grep -c '"transaction"' "$OUT/records.json") (written to $OUT/records.json)"
grep -o '"type": "[a-z_]*"' "$OUT/records.json" | sort | uniq -c
if "$ZK" query records --node "$NODE" --token-file "$L/trader.token" --ucr "$UCR" 2>/dev/null; then
  echo "a trader read the records: this must not happen" >&2
  exit 1
fi
echo "(trader token: 403 wrong-role)"

step "9a. Trader uploads the invoice to the node, encrypted under a key of its own; German customs may read it"
echo "each party signs its document requests with its own key (no token from the node)"
AS_TRADER=(--party "$EORI" --party-key "$OUT/trader.key")
AS_OFFICE=(--party DE-HAMBURG-HAFEN --party-key "$L/customs-DE-HAMBURG-HAFEN.key")
"$ZK" document put --node "$NODE" "${AS_TRADER[@]}" --ucr "$UCR" \
  --doc-type invoice --invoice "$OUT/invoice.json" --readers customs:DE
"$ZK" document get --node "$NODE" "${AS_OFFICE[@]}" --ucr "$UCR" \
  --doc-type invoice --out "$OUT/invoice-read-by-customs.bin"
"$ZK" invoice digest --invoice "$OUT/invoice.json" --out "$OUT/invoice-canonical.bin" > /dev/null
cmp "$OUT/invoice-read-by-customs.bin" "$OUT/invoice-canonical.bin"
echo "customs read the invoice: it is the anchored canonical encoding"
echo "an auditor, not on the invoice's access list, may not:"
refused "$ZK" document get --node "$NODE" --party AUDIT-EU-1 \
  --party-key "$L/auditor-AUDIT-EU-1.key" --ucr "$UCR" --doc-type invoice

step "9b. Trader amends the declaration: version 2 supersedes version 1, both stay in the log"
printf 'declaration of %s, version 2 (amended)\n' "$UCR" > "$OUT/declaration-v2.txt"
DECL2=$(sha256sum "$OUT/declaration-v2.txt" | cut -d' ' -f1)
"$ZK" submit anchor --node "$NODE" --token-file "$L/trader.token" "${SIGN[@]}" --ucr "$UCR" \
  --doc-type declaration --digest "$DECL2" --version 2 \
  --reference "vault://trader/declarations/$UCR/2"
"$ZK" query records --node "$NODE" --token-file "$L/customs.token" --ucr "$UCR" \
  > "$OUT/records-amended.json"
echo "current version and history of each of $UCR's documents (from $OUT/records-amended.json):"
sed -n '/^  "documents": \[/,/^  \],\{0,1\}$/p' "$OUT/records-amended.json"

step "10. Customs office DE-HAMBURG-HAFEN marks the declaration under examination, signed"
"$ZK" submit examine --node "$NODE" --token-file "$L/customs.token" --ucr "$UCR" \
  --office DE-HAMBURG-HAFEN --key "$L/customs-DE-HAMBURG-HAFEN.key"

step "11. A late amendment of the declaration is refused (RKC General Annex Standard 3.27)"
printf 'declaration of %s, version 3\n' "$UCR" > "$OUT/declaration-v3.txt"
DECL3=$(sha256sum "$OUT/declaration-v3.txt" | cut -d' ' -f1)
refused "$ZK" submit anchor --node "$NODE" --token-file "$L/trader.token" "${SIGN[@]}" --ucr "$UCR" \
  --doc-type declaration --digest "$DECL3" --version 3 \
  --reference "vault://trader/declarations/$UCR/3"

step "11a. The trader forgets the invoice: the node destroys its key; the digest and the proofs stay"
"$ZK" document forget --node "$NODE" "${AS_TRADER[@]}" --ucr "$UCR" --doc-type invoice
echo "reading it now:"
refused "$ZK" document get --node "$NODE" "${AS_OFFICE[@]}" --ucr "$UCR" \
  --doc-type invoice
echo "the audit re-checks the whole ledger, the forgotten invoice's proof included:"
"$ZK" audit --node "$NODE" --token-file "$L/auditor.token" --genesis "$L/genesis.json" \
  --keys "$OUT/keys" --quiet

step "Summary"
"$ZK" query status --node "$NODE" --token-file "$L/auditor.token" > "$OUT/status.json"
"$ZK" query block latest --node "$NODE" --token-file "$L/auditor.token" > "$OUT/latest-block.json"
cat <<TXT
Ledger $(field chain_name "$OUT/status.json"), finalized height $(field height "$OUT/status.json"), latest block $(field hash "$OUT/latest-block.json")
On the ledger for $UCR, each write signed by its party:
  the registration of trader $EORI by DE-HAMBURG-HAFEN, the registry root of DE-GZD, the invoice
  and declaration digests anchored by $EORI (the consignment's owner; the declaration amended to
  version 2, both versions kept),
  an aeo-status proof (tier AEOS, day $TODAY, nullifier for its scope), an invoice-value proof
  (declared value 18432.50 EUR) and a declaration-match proof (the declaration items are the
  invoice's lines grouped by HS-6 heading), each verified by the node on arrival and again in its
  block, and the examination mark of DE-HAMBURG-HAFEN.
Refused: an anchor by another trader under $UCR, a second presentation of the certificate for
  $UCR, and the amendment after examination began.
Off the ledger, on the node: the invoice, encrypted under its own key, read by customs, then
  forgotten (its key destroyed: reads answer 410) while its digest and proof stay and the audit passes.
Never on the ledger: the certificate (its exact tier, validity, place in the registry), the other
  operators of the registry, the invoice's number, parties, lines and prices.
TXT
for secret in DE998877665544332 INV-2026-000451 "Static converters"; do
  if grep -q "$secret" "$OUT/records.json" "$OUT/records-amended.json" "$OUT/latest-block.json"; then
    echo "private value $secret found on the ledger" >&2
    exit 1
  fi
done
echo
echo "Checked: no private value appears in the records or blocks. Files are in $OUT/; node log: $OUT/node.log."
