//! Test vectors of the canonical invoice encoding v1: the vectors A, B and C of
//! `docs/invoice-encoding.md`, embedded verbatim (JSON text, hexadecimal bytes, SHA-256 digests and
//! `invoice-value/v1` public inputs).
//!
//! For each vector this pins the whole path JSON -> `Invoice` -> `encode_in(class)` -> bytes ->
//! `sha256` -> public inputs, and back through `Invoice::decode`. Any change to the encoding, to the
//! JSON model or to the derivation of the public inputs makes it fail; the document and these
//! constants must then change together.

use zkcustoms_circuits::field::fr_from_hex;
use zkcustoms_circuits::invoice::{self, example_invoice, Invoice, SizeClass};
use zkcustoms_circuits::invoice_value::{self, InvoiceValuePublic};

/// One test vector, as published in `docs/invoice-encoding.md`.
struct Vector {
    name: &'static str,
    json: &'static str,
    class: SizeClass,
    /// The encoding, 32 bytes (64 hex digits) per line.
    hex: &'static str,
    sha256: &'static str,
    /// Public inputs of `invoice-value/v1` for a declared value equal to the invoice total.
    public_inputs: [&'static str; 4],
}

const EXAMPLE_JSON: &str = r#"{
  "invoice_number": "INV-2026-000451",
  "issue_date": "2026-11-20",
  "seller": "DE123456789012345",
  "buyer": "NL000099998888",
  "currency": "EUR",
  "incoterm": "FCA",
  "total_minor": 1843250,
  "lines": [
    {
      "hs_code": "850440",
      "description": "Static converters, 24 V",
      "quantity": 120,
      "unit": "C62",
      "amount_minor": 1080000
    },
    {
      "hs_code": "850440",
      "description": "Static converters, 48 V",
      "quantity": 40,
      "unit": "C62",
      "amount_minor": 520000
    },
    {
      "hs_code": "854442",
      "description": "Insulated cables, 2 m",
      "quantity": 500,
      "unit": "C62",
      "amount_minor": 243250
    }
  ]
}"#;

const VECTOR_A: Vector = Vector {
    name: "A (example invoice, class 4)",
    json: EXAMPLE_JSON,
    class: SizeClass::Lines4,
    hex: "
5a4b434901040003494e562d323032362d303030343531000000000000000000
0000000000000000000051294445313233343536373839303132333435000000
4e4c30303030393939393838383800000000000045555246434100000000001c
2032000000000000000000000000000000000000000000000000000000000000
38353034343043363200000000000000780000000000107ac053746174696320
636f6e766572746572732c203234205600000000000000000000000000000000
3835303434304336320000000000000028000000000007ef4053746174696320
636f6e766572746572732c203438205600000000000000000000000000000000
38353434343243363200000000000001f4000000000003b632496e73756c6174
6564206361626c65732c2032206d000000000000000000000000000000000000
0000000000000000000000000000000000000000000000000000000000000000
0000000000000000000000000000000000000000000000000000000000000000
",
    sha256: "694b09ea2df05fa61d2bad6fee7ace7c6cc125d222a824feac97f202654108da",
    public_inputs: [
        "00000000000000000000000000000000694b09ea2df05fa61d2bad6fee7ace7c",
        "000000000000000000000000000000006cc125d222a824feac97f202654108da",
        "00000000000000000000000000000000000000000000000000000000001c2032",
        "0000000000000000000000000000000000000000000000000000000000455552",
    ],
};

const VECTOR_B: Vector = Vector {
    name: "B (one line, USD, class 4)",
    json: r#"{
  "invoice_number": "FR/2026/0932",
  "issue_date": "2026-12-01",
  "seller": "FR12345678901234",
  "buyer": "US-EIN 98-7654321",
  "currency": "USD",
  "incoterm": "DAP",
  "total_minor": 1987500,
  "lines": [
    {
      "hs_code": "640340",
      "description": "Chaussures de sécurité en cuir",
      "quantity": 250,
      "unit": "PR",
      "amount_minor": 1987500
    }
  ]
}"#,
    class: SizeClass::Lines4,
    hex: "
5a4b43490104000146522f323032362f30393332000000000000000000000000
0000000000000000000051344652313233343536373839303132333400000000
55532d45494e2039382d3736353433323100000055534444415000000000001e
53ac000000000000000000000000000000000000000000000000000000000000
36343033343050520000000000000000fa00000000001e53ac43686175737375
7265732064652073c3a96375726974c3a920656e206375697200000000000000
0000000000000000000000000000000000000000000000000000000000000000
0000000000000000000000000000000000000000000000000000000000000000
0000000000000000000000000000000000000000000000000000000000000000
0000000000000000000000000000000000000000000000000000000000000000
0000000000000000000000000000000000000000000000000000000000000000
0000000000000000000000000000000000000000000000000000000000000000
",
    sha256: "92fcbc9ed98dc495c075c4e6fe73c4c6f3ed4de4bc3dee939bb05f86dc1a63b2",
    public_inputs: [
        "0000000000000000000000000000000092fcbc9ed98dc495c075c4e6fe73c4c6",
        "00000000000000000000000000000000f3ed4de4bc3dee939bb05f86dc1a63b2",
        "00000000000000000000000000000000000000000000000000000000001e53ac",
        "0000000000000000000000000000000000000000000000000000000000555344",
    ],
};

const VECTOR_C: Vector = Vector {
    name: "C (example invoice, class 16)",
    json: EXAMPLE_JSON,
    class: SizeClass::Lines16,
    hex: "
5a4b434901100003494e562d323032362d303030343531000000000000000000
0000000000000000000051294445313233343536373839303132333435000000
4e4c30303030393939393838383800000000000045555246434100000000001c
2032000000000000000000000000000000000000000000000000000000000000
38353034343043363200000000000000780000000000107ac053746174696320
636f6e766572746572732c203234205600000000000000000000000000000000
3835303434304336320000000000000028000000000007ef4053746174696320
636f6e766572746572732c203438205600000000000000000000000000000000
38353434343243363200000000000001f4000000000003b632496e73756c6174
6564206361626c65732c2032206d000000000000000000000000000000000000
0000000000000000000000000000000000000000000000000000000000000000
0000000000000000000000000000000000000000000000000000000000000000
0000000000000000000000000000000000000000000000000000000000000000
0000000000000000000000000000000000000000000000000000000000000000
0000000000000000000000000000000000000000000000000000000000000000
0000000000000000000000000000000000000000000000000000000000000000
0000000000000000000000000000000000000000000000000000000000000000
0000000000000000000000000000000000000000000000000000000000000000
0000000000000000000000000000000000000000000000000000000000000000
0000000000000000000000000000000000000000000000000000000000000000
0000000000000000000000000000000000000000000000000000000000000000
0000000000000000000000000000000000000000000000000000000000000000
0000000000000000000000000000000000000000000000000000000000000000
0000000000000000000000000000000000000000000000000000000000000000
0000000000000000000000000000000000000000000000000000000000000000
0000000000000000000000000000000000000000000000000000000000000000
0000000000000000000000000000000000000000000000000000000000000000
0000000000000000000000000000000000000000000000000000000000000000
0000000000000000000000000000000000000000000000000000000000000000
0000000000000000000000000000000000000000000000000000000000000000
0000000000000000000000000000000000000000000000000000000000000000
0000000000000000000000000000000000000000000000000000000000000000
0000000000000000000000000000000000000000000000000000000000000000
0000000000000000000000000000000000000000000000000000000000000000
0000000000000000000000000000000000000000000000000000000000000000
0000000000000000000000000000000000000000000000000000000000000000
",
    sha256: "1c8ecbf8e39989538ef1815206ed2d6173b704fd9c3b56140c1b369bfb29db9d",
    public_inputs: [
        "000000000000000000000000000000001c8ecbf8e39989538ef1815206ed2d61",
        "0000000000000000000000000000000073b704fd9c3b56140c1b369bfb29db9d",
        "00000000000000000000000000000000000000000000000000000000001c2032",
        "0000000000000000000000000000000000000000000000000000000000455552",
    ],
};

const VECTORS: [Vector; 3] = [VECTOR_A, VECTOR_B, VECTOR_C];

/// The bytes of a hex dump, checking its layout: 64 hex digits on every line, as in the document.
fn bytes_of(v: &Vector) -> Vec<u8> {
    let lines: Vec<&str> = v.hex.split_whitespace().collect();
    assert_eq!(
        lines.len(),
        v.class.encoded_len() / 32,
        "vector {}: number of hex lines",
        v.name
    );
    assert!(
        lines.iter().all(|l| l.len() == 64),
        "vector {}: every hex line has 64 digits",
        v.name
    );
    hex::decode(lines.concat()).expect("vector hex is valid")
}

fn parse(v: &Vector) -> Invoice {
    serde_json::from_str(v.json)
        .unwrap_or_else(|e| panic!("vector {}: JSON does not parse: {e}", v.name))
}

#[test]
fn json_encodes_to_the_published_bytes() {
    for v in &VECTORS {
        let encoded = parse(v)
            .encode_in(v.class)
            .unwrap_or_else(|e| panic!("vector {}: does not encode: {e}", v.name));
        assert_eq!(
            hex::encode(&encoded),
            hex::encode(bytes_of(v)),
            "vector {}: encoding",
            v.name
        );
    }
}

#[test]
fn bytes_hash_to_the_published_digest() {
    for v in &VECTORS {
        assert_eq!(
            hex::encode(invoice::sha256(&bytes_of(v))),
            v.sha256,
            "vector {}: SHA-256",
            v.name
        );
    }
}

#[test]
fn bytes_decode_to_the_same_invoice() {
    for v in &VECTORS {
        let (decoded, class) = Invoice::decode(&bytes_of(v))
            .unwrap_or_else(|e| panic!("vector {}: does not decode: {e}", v.name));
        assert!(decoded == parse(v), "vector {}: decoded invoice", v.name);
        assert_eq!(class, v.class, "vector {}: decoded size class", v.name);
        // The JSON model round-trips too: serializing the decoded invoice gives the published text.
        assert_eq!(
            serde_json::to_string_pretty(&decoded).expect("invoice serializes"),
            v.json,
            "vector {}: JSON text",
            v.name
        );
    }
}

#[test]
fn public_inputs_are_the_published_ones() {
    for v in &VECTORS {
        let inv = parse(v);
        let digest: [u8; 32] = hex::decode(v.sha256)
            .expect("digest hex")
            .try_into()
            .expect("32 bytes");
        let public = InvoiceValuePublic {
            digest,
            declared_value_minor: inv.total_minor,
            currency: inv.currency.clone(),
        };
        let expected: Vec<_> = v
            .public_inputs
            .iter()
            .map(|h| fr_from_hex(h).expect("canonical field element"))
            .collect();
        assert_eq!(
            invoice_value::public_inputs(&public).expect("public inputs"),
            expected,
            "vector {}: public inputs",
            v.name
        );
    }
    assert_eq!(invoice::currency_code("EUR"), Ok(0x45_55_52));
    assert_eq!(invoice::currency_code("USD"), Ok(0x55_53_44));
}

#[test]
fn example_invoice_and_smallest_class() {
    assert!(parse(&VECTOR_A) == example_invoice());
    // Without a class asked for, the smallest class that fits is used.
    assert_eq!(
        example_invoice().encode().expect("example encodes"),
        bytes_of(&VECTOR_A)
    );
    assert_eq!(
        parse(&VECTOR_B).encode().expect("vector B encodes"),
        bytes_of(&VECTOR_B)
    );
}
