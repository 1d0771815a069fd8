//! Differential tests: the native check and the circuit agree on valid statements and on one
//! tampered variant per check.

use ark_ff::{BigInteger, One, PrimeField};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystem};
use zkcustoms_circuits::aeo_status::{
    self, check, holder_commitment, nullifier, AeoStatusCircuit, AeoStatusError, AeoStatusPrivate,
    AeoStatusPublic, Tier,
};
use zkcustoms_circuits::date::Day;
use zkcustoms_circuits::invoice::{
    self, example_invoice, Invoice, SizeClass, HEADER_LEN, LINE_LEN,
};
use zkcustoms_circuits::invoice_value::{
    self, InvoiceValueCircuit, InvoiceValueError, InvoiceValuePrivate, InvoiceValuePublic,
};
use zkcustoms_circuits::registry::{build, example_aeo_status, example_registry, RegistryInput};
use zkcustoms_circuits::{CircuitId, Fr};

fn satisfied<C: ConstraintSynthesizer<Fr>>(circuit: C) -> bool {
    let cs = ConstraintSystem::<Fr>::new_ref();
    match circuit.generate_constraints(cs.clone()) {
        Ok(()) => cs.is_satisfied().unwrap(),
        Err(_) => false,
    }
}

fn aeo_agrees(public: AeoStatusPublic, private: AeoStatusPrivate) -> Result<(), AeoStatusError> {
    let native = check(&public, &private);
    let circuit = satisfied(AeoStatusCircuit { public, private });
    assert_eq!(
        native.is_ok(),
        circuit,
        "native {native:?} vs circuit {circuit}"
    );
    native
}

#[test]
fn aeo_status_valid() {
    let (public, private) = example_aeo_status();
    aeo_agrees(public, private).unwrap();
}

#[test]
fn aeo_status_every_member_of_a_registry_can_prove() {
    let reg = example_registry();
    for (i, m) in reg.members.iter().enumerate().take(2) {
        let secret =
            zkcustoms_circuits::registry::example_holder_secret(&m.certificate.operator_id);
        let scope = format!("session-{i}");
        let public = AeoStatusPublic {
            registry_root: reg.root,
            authority: reg.authority.clone(),
            as_of: Day::parse("2026-06-01").unwrap(),
            required_tier: Tier::AEOC,
            nullifier: nullifier(&secret, &scope),
            scope,
        };
        let private = AeoStatusPrivate {
            certificate: m.certificate.clone(),
            holder_secret: secret,
            path: m.path.clone(),
        };
        aeo_agrees(public, private).unwrap();
    }
}

#[test]
fn aeo_status_wrong_path_or_root() {
    let (public, mut private) = example_aeo_status();
    private.path.siblings[3] += Fr::one();
    assert_eq!(
        aeo_agrees(public, private),
        Err(AeoStatusError::NotInRegistry)
    );

    let (public, mut private) = example_aeo_status();
    private.path.index ^= 1;
    assert_eq!(
        aeo_agrees(public, private),
        Err(AeoStatusError::NotInRegistry)
    );

    let (mut public, private) = example_aeo_status();
    public.registry_root += Fr::one();
    assert_eq!(
        aeo_agrees(public, private),
        Err(AeoStatusError::NotInRegistry)
    );
}

#[test]
fn aeo_status_validity_window() {
    let (mut public, private) = example_aeo_status();
    public.as_of = Day::parse("2027-03-01").unwrap();
    public.nullifier = nullifier(&private.holder_secret, &public.scope);
    assert_eq!(aeo_agrees(public, private), Err(AeoStatusError::Expired));

    let (mut public, private) = example_aeo_status();
    public.as_of = Day::parse("2024-02-29").unwrap();
    assert_eq!(
        aeo_agrees(public, private),
        Err(AeoStatusError::NotYetValid)
    );

    // Boundaries are inclusive.
    for day in ["2024-03-01", "2027-02-28"] {
        let (mut public, private) = example_aeo_status();
        public.as_of = Day::parse(day).unwrap();
        aeo_agrees(public, private).unwrap();
    }
}

#[test]
fn aeo_status_tier_below_required() {
    // The third example certificate is AEOS only: it cannot prove AEOC or AEOF.
    let reg = example_registry();
    let m = &reg.members[2];
    let secret = zkcustoms_circuits::registry::example_holder_secret(&m.certificate.operator_id);
    for (tier, ok) in [(Tier::AEOS, true), (Tier::AEOC, false), (Tier::AEOF, false)] {
        let public = AeoStatusPublic {
            registry_root: reg.root,
            authority: reg.authority.clone(),
            as_of: Day::parse("2025-01-01").unwrap(),
            required_tier: tier,
            nullifier: nullifier(&secret, "s"),
            scope: "s".into(),
        };
        let private = AeoStatusPrivate {
            certificate: m.certificate.clone(),
            holder_secret: secret,
            path: m.path.clone(),
        };
        let r = aeo_agrees(public, private);
        assert_eq!(r.is_ok(), ok, "{tier:?}");
        if !ok {
            assert_eq!(r, Err(AeoStatusError::TierTooLow));
        }
    }
}

#[test]
fn aeo_status_wrong_holder_secret() {
    let (mut public, mut private) = example_aeo_status();
    private.holder_secret += Fr::one();
    public.nullifier = nullifier(&private.holder_secret, &public.scope);
    assert_eq!(
        aeo_agrees(public, private),
        Err(AeoStatusError::WrongHolderSecret)
    );
}

#[test]
fn aeo_status_nullifier_for_another_scope() {
    let (mut public, private) = example_aeo_status();
    public.nullifier = nullifier(&private.holder_secret, "another scope");
    assert_eq!(
        aeo_agrees(public, private),
        Err(AeoStatusError::WrongNullifier)
    );

    let (mut public, private) = example_aeo_status();
    public.scope = "another scope".into();
    assert_eq!(
        aeo_agrees(public, private),
        Err(AeoStatusError::WrongNullifier)
    );
}

#[test]
fn aeo_status_other_authority() {
    // A registry of another authority holding the same certificate data.
    let (mut public, private) = example_aeo_status();
    let mut cert = private.certificate.clone();
    cert.authority = "FR-DGDDI".into();
    let reg = build(&RegistryInput {
        authority: "FR-DGDDI".into(),
        certificates: vec![cert],
    })
    .unwrap();
    public.registry_root = reg.root;
    // Claiming the certificate was issued by DE-GZD while it sits in the FR registry fails.
    let private = AeoStatusPrivate {
        certificate: reg.members[0].certificate.clone(),
        holder_secret: private.holder_secret,
        path: reg.members[0].path.clone(),
    };
    assert_eq!(
        aeo_agrees(public, private),
        Err(AeoStatusError::WrongAuthority)
    );
}

#[test]
fn aeo_status_holder_commitment_is_bound() {
    let (_, private) = example_aeo_status();
    assert_eq!(
        holder_commitment(&private.holder_secret),
        private.certificate.holder_commitment
    );
}

// ---------------------------------------------------------------------------------------------

fn example_invoice_value(class: SizeClass) -> (InvoiceValuePublic, InvoiceValuePrivate) {
    let c = invoice_value::dummy(class);
    (c.public, c.private)
}

fn invoice_agrees(
    class: SizeClass,
    public: InvoiceValuePublic,
    private: InvoiceValuePrivate,
) -> Result<(), InvoiceValueError> {
    let native = invoice_value::check(class, &public, &private);
    let circuit = satisfied(InvoiceValueCircuit {
        class,
        public,
        private,
    });
    assert_eq!(
        native.is_ok(),
        circuit,
        "native {native:?} vs circuit {circuit}"
    );
    native
}

/// Re-anchors a changed encoding: the digest is of the changed bytes.
fn reanchor(public: &mut InvoiceValuePublic, private: &InvoiceValuePrivate) {
    public.digest = invoice::sha256(&private.encoded);
}

#[test]
fn invoice_value_valid_in_both_classes() {
    for class in SizeClass::ALL {
        let (public, private) = example_invoice_value(class);
        invoice_agrees(class, public, private).unwrap();
    }
}

#[test]
fn invoice_value_full_class() {
    let mut inv = example_invoice();
    inv.lines = (0..4).map(|_| inv.lines[2].clone()).collect();
    inv.total_minor = 4 * inv.lines[2].amount_minor;
    let private = InvoiceValuePrivate::new(&inv, SizeClass::Lines4).unwrap();
    let public = InvoiceValuePublic {
        digest: invoice::sha256(&private.encoded),
        declared_value_minor: inv.total_minor,
        currency: inv.currency,
    };
    invoice_agrees(SizeClass::Lines4, public, private).unwrap();
}

#[test]
fn invoice_value_byte_changed() {
    let (public, mut private) = example_invoice_value(SizeClass::Lines4);
    // A description byte: still a canonical invoice, but not the anchored one.
    private.encoded[HEADER_LEN + layout_desc()] = b'X';
    assert_eq!(
        invoice_agrees(SizeClass::Lines4, public, private),
        Err(InvoiceValueError::DigestMismatch)
    );
}

fn layout_desc() -> usize {
    invoice::layout::LINE_DESCRIPTION.0
}

#[test]
fn invoice_value_lines_not_summing() {
    let mut inv = example_invoice();
    inv.total_minor += 1;
    let private = InvoiceValuePrivate::new(&inv, SizeClass::Lines4).unwrap();
    let mut public = InvoiceValuePublic {
        digest: [0; 32],
        declared_value_minor: inv.total_minor,
        currency: inv.currency,
    };
    reanchor(&mut public, &private);
    assert!(matches!(
        invoice_agrees(SizeClass::Lines4, public, private),
        Err(InvoiceValueError::LinesDoNotSum { .. })
    ));
}

#[test]
fn invoice_value_declared_value_or_currency_differs() {
    let (mut public, private) = example_invoice_value(SizeClass::Lines4);
    public.declared_value_minor -= 1;
    assert_eq!(
        invoice_agrees(SizeClass::Lines4, public, private),
        Err(InvoiceValueError::ValueMismatch)
    );
    let (mut public, private) = example_invoice_value(SizeClass::Lines4);
    public.currency = "USD".into();
    assert_eq!(
        invoice_agrees(SizeClass::Lines4, public, private),
        Err(InvoiceValueError::CurrencyMismatch)
    );
}

#[test]
fn invoice_value_digest_of_another_invoice() {
    let (mut public, private) = example_invoice_value(SizeClass::Lines4);
    let mut other = example_invoice();
    other.invoice_number = "INV-2026-000452".into();
    public.digest = invoice::sha256(&other.encode().unwrap());
    assert_eq!(
        invoice_agrees(SizeClass::Lines4, public, private),
        Err(InvoiceValueError::DigestMismatch)
    );
}

#[test]
fn invoice_value_more_lines_than_the_class() {
    // A line count of 5 in a 4-line encoding: the decoder refuses it, and so does the circuit.
    let (mut public, mut private) = example_invoice_value(SizeClass::Lines4);
    private.encoded[7] = 5;
    reanchor(&mut public, &private);
    assert!(matches!(
        invoice_agrees(SizeClass::Lines4, public, private),
        Err(InvoiceValueError::Encoding(_))
    ));
    // A line hidden in an unused slot (count says 3, slot 4 carries an amount).
    let (mut public, mut private) = example_invoice_value(SizeClass::Lines4);
    let amount_at = HEADER_LEN + 3 * LINE_LEN + invoice::layout::LINE_AMOUNT.0 + 7;
    private.encoded[amount_at] = 1;
    reanchor(&mut public, &private);
    assert!(invoice_agrees(SizeClass::Lines4, public, private).is_err());
    // And an invoice of 5 lines does not encode in the 4-line class at all.
    let mut inv = example_invoice();
    inv.lines = (0..5).map(|_| inv.lines[0].clone()).collect();
    assert!(matches!(
        inv.encode_in(SizeClass::Lines4),
        Err(invoice::InvoiceError::TooManyLines { .. })
    ));
}

#[test]
fn invoice_value_zero_lines() {
    // Line count 0, every slot zero, total 0, declared 0: the decoder refuses an invoice without
    // lines, and the circuit must too (the first slot is always in use).
    let (mut public, mut private) = example_invoice_value(SizeClass::Lines4);
    private.encoded[6..8].copy_from_slice(&[0, 0]);
    private.encoded[HEADER_LEN..].fill(0);
    let (total_at, total_len) = invoice::layout::TOTAL;
    private.encoded[total_at..total_at + total_len].fill(0);
    public.declared_value_minor = 0;
    reanchor(&mut public, &private);
    assert!(matches!(
        invoice_agrees(SizeClass::Lines4, public, private),
        Err(InvoiceValueError::Encoding(_))
    ));
}

#[test]
fn invoice_value_reserved_bytes_not_zero() {
    // Each reserved header byte in turn (first, middle, last) set: the decoder refuses the
    // encoding, and the circuit must too.
    let (at, len) = invoice::layout::RESERVED;
    for offset in [at, at + len / 2, at + len - 1] {
        let (mut public, mut private) = example_invoice_value(SizeClass::Lines4);
        private.encoded[offset] = 0x80;
        reanchor(&mut public, &private);
        assert!(
            matches!(
                invoice_agrees(SizeClass::Lines4, public, private),
                Err(InvoiceValueError::Encoding(_))
            ),
            "reserved byte at {offset}"
        );
    }
}

#[test]
fn invoice_value_wrong_size_class_witness() {
    let (public, private) = example_invoice_value(SizeClass::Lines16);
    assert!(invoice_value::check(SizeClass::Lines4, &public, &private).is_err());
    assert!(!satisfied(InvoiceValueCircuit {
        class: SizeClass::Lines4,
        public,
        private
    }));
}

#[test]
fn invoice_round_trips_through_json() {
    let inv = example_invoice();
    let json = serde_json::to_string(&inv).unwrap();
    let back: Invoice = serde_json::from_str(&json).unwrap();
    assert_eq!(back.encode().unwrap(), inv.encode().unwrap());
    assert!(
        serde_json::from_str::<Invoice>(&json.replace("\"incoterm\"", "\"incoterms\"")).is_err()
    );
}

#[test]
fn public_inputs_have_the_declared_counts() {
    let (p, _) = example_aeo_status();
    assert_eq!(
        aeo_status::public_inputs(&p).unwrap().len(),
        CircuitId::AeoStatusV1.num_public_inputs()
    );
    let (p, _) = example_invoice_value(SizeClass::Lines4);
    assert_eq!(
        invoice_value::public_inputs(&p).unwrap().len(),
        CircuitId::InvoiceValueV1(SizeClass::Lines4).num_public_inputs()
    );
    // The digest halves are 128-bit numbers.
    let inputs = invoice_value::public_inputs(&p).unwrap();
    assert!(inputs[0].into_bigint().num_bits() <= 128);
}
