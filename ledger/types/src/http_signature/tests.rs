use super::*;
use commonware_codec::DecodeExt;
use proptest::prelude::*;

const PARTY: &str = "DE123456789012345";
const NOW: u64 = 1_767_225_600; // 2026-01-01T00:00:00Z
const WINDOW: u64 = DEFAULT_WINDOW_SECS;
const NONCE: [u8; NONCE_LEN] = [
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
];
const BODY: &[u8] = br#"{"hello": "world"}"#;

fn key(seed: u8) -> PrivateKey {
    PrivateKey::decode(&[seed; 32][..]).unwrap()
}

/// The resolver of a verifier that knows [`PARTY`] with `key(1)`.
fn known(id: &str) -> Option<PublicKey> {
    (id == PARTY).then(|| crypto::public_of(&key(1)))
}

fn signed_post() -> SignedHeaders {
    sign_request(
        &key(1),
        PARTY,
        "POST",
        "/v1/transactions?wait_ms=0",
        Some(BODY),
        NOW,
        NONCE,
    )
    .unwrap()
}

fn verify_post(headers: &SignatureHeaders<'_>) -> Result<VerifiedRequest, HttpSignatureError> {
    verify_request(
        headers,
        "POST",
        "/v1/transactions?wait_ms=0",
        BODY,
        known,
        NOW,
        WINDOW,
    )
}

fn code(r: Result<VerifiedRequest, HttpSignatureError>) -> &'static str {
    r.expect_err("was accepted").code()
}

/// The POST headers with `Signature-Input` replaced.
fn with_input(input: &str) -> Result<VerifiedRequest, HttpSignatureError> {
    let s = signed_post();
    let mut h = s.as_received();
    h.signature_input = vec![input];
    verify_post(&h)
}

/// The POST headers with `Signature` replaced.
fn with_signature(signature: &str) -> Result<VerifiedRequest, HttpSignatureError> {
    let s = signed_post();
    let mut h = s.as_received();
    h.signature = vec![signature];
    verify_post(&h)
}

#[test]
fn fixed_vector_pins_the_format() {
    let seed: [u8; 32] = std::array::from_fn(|i| i as u8);
    let key = PrivateKey::decode(&seed[..]).unwrap();
    let params = SignatureParams {
        party_id: PARTY.into(),
        created: NOW,
        expires: None,
        nonce: NONCE,
    };
    let target = "/v1/transactions?wait_ms=0";
    assert_eq!(
        signature_base(&params, "POST", target, Some(BODY)).unwrap(),
        concat!(
            "\"@method\": POST\n",
            "\"@path\": /v1/transactions\n",
            "\"@query\": ?wait_ms=0\n",
            "\"content-digest\": sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:\n",
            "\"@signature-params\": (\"@method\" \"@path\" \"@query\" \"content-digest\")",
            ";created=1767225600;nonce=\"000102030405060708090a0b0c0d0e0f\"",
            ";keyid=\"DE123456789012345\";alg=\"ed25519\";tag=\"zkcustoms\"",
        )
    );
    let signed = sign_request_with(&key, &params, "POST", target, Some(BODY)).unwrap();
    assert_eq!(
        signed.signature_input,
        concat!(
            "sig1=(\"@method\" \"@path\" \"@query\" \"content-digest\")",
            ";created=1767225600;nonce=\"000102030405060708090a0b0c0d0e0f\"",
            ";keyid=\"DE123456789012345\";alg=\"ed25519\";tag=\"zkcustoms\"",
        )
    );
    assert_eq!(
        signed.content_digest.as_deref(),
        Some("sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:")
    );
    // Ed25519 is deterministic: this is the signature of `0x19 || NAMESPACE || base` under the
    // seed 00 01 .. 1f, as any RFC 8032 implementation computes it.
    assert_eq!(
        signed.signature,
        "sig1=:mrH09GgmTzzVGcwaWIMd7p2JX4yYCcz5ESrm3A+RTXZw4ZDSdTJnHjs86r94Dq07TmC/9Z2ZiQb93qRcZU72CQ==:"
    );

    // Without a body and with `expires`: no digest, `?` for the empty query.
    let params = SignatureParams {
        party_id: "DE-HAMBURG-HAFEN".into(),
        expires: Some(NOW + 60),
        ..params
    };
    assert_eq!(
        signature_base(&params, "GET", "/v1/status", None).unwrap(),
        concat!(
            "\"@method\": GET\n",
            "\"@path\": /v1/status\n",
            "\"@query\": ?\n",
            "\"@signature-params\": (\"@method\" \"@path\" \"@query\")",
            ";created=1767225600;expires=1767225660;nonce=\"000102030405060708090a0b0c0d0e0f\"",
            ";keyid=\"DE-HAMBURG-HAFEN\";alg=\"ed25519\";tag=\"zkcustoms\"",
        )
    );
}

#[test]
fn content_digest_matches_rfc_9530() {
    // RFC 9530's example body and its sha-256 digest.
    assert_eq!(
        content_digest(BODY),
        "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
    );
    let good = content_digest(BODY);
    verify_content_digest(&[&good], BODY).unwrap();
    // Other algorithms' members are ignored; the sha-256 one must match.
    let both = format!("sha-512=:AAAA:, {good}");
    verify_content_digest(&[&both], BODY).unwrap();
    verify_content_digest(&[], b"").unwrap();
    verify_content_digest(&[&content_digest(b"")], b"").unwrap();
    for (lines, body) in [
        (vec![], BODY),
        (vec![good.as_str(), good.as_str()], BODY),
        (vec!["sha-512=:AAAA:"], BODY),
        (vec!["sha-256=:AAAA:"], BODY),
        (vec!["sha-256=\"abc\""], BODY),
        (
            vec!["sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:;a=1"],
            BODY,
        ),
        (vec!["garbage"], BODY),
        (vec![good.as_str()], b"{\"hello\": \"world!\"}".as_slice()),
        (vec![good.as_str()], b"".as_slice()),
    ] {
        let err = verify_content_digest(&lines, body).unwrap_err();
        assert_eq!(err.code(), "content-digest-mismatch", "{lines:?}");
    }
    let long = format!("{good}, x=:{}:", "A".repeat(MAX_HEADER_LEN));
    assert!(verify_content_digest(&[&long], BODY).is_err());
}

#[test]
fn round_trip_with_and_without_a_body() {
    let signed = signed_post();
    let v = verify_post(&signed.as_received()).unwrap();
    assert_eq!(
        v,
        VerifiedRequest {
            party_id: PARTY.into(),
            nonce: NONCE,
            created: NOW,
            expires: None,
            valid_until: NOW + WINDOW,
            authority: None,
        }
    );

    let get = sign_request(&key(1), PARTY, "GET", "/v1/status", None, NOW, NONCE).unwrap();
    assert_eq!(get.content_digest, None);
    // An empty body is no body.
    let empty = sign_request(&key(1), PARTY, "GET", "/v1/status", Some(b""), NOW, NONCE).unwrap();
    assert_eq!(get, empty);
    let h = get.as_received();
    let v = verify_request(&h, "GET", "/v1/status", b"", known, NOW + 10, WINDOW).unwrap();
    assert_eq!(v.party_id, PARTY);
    // `expires` shortens the validity.
    let params = SignatureParams {
        party_id: PARTY.into(),
        created: NOW,
        expires: Some(NOW + 30),
        nonce: NONCE,
    };
    let s = sign_request_with(&key(1), &params, "GET", "/v1/status", None).unwrap();
    let v = verify_request(
        &s.as_received(),
        "GET",
        "/v1/status",
        b"",
        known,
        NOW,
        WINDOW,
    )
    .unwrap();
    assert_eq!((v.expires, v.valid_until), (Some(NOW + 30), NOW + 30));
}

#[test]
fn every_tampering_is_refused_with_its_code() {
    let s = signed_post();
    let h = s.as_received();
    let verify = |method: &str, target: &str, body: &[u8], now: u64| {
        verify_request(&h, method, target, body, known, now, WINDOW)
    };
    let target = "/v1/transactions?wait_ms=0";
    assert_eq!(code(verify("PUT", target, BODY, NOW)), "bad-signature");
    assert_eq!(code(verify("post", target, BODY, NOW)), "bad-signature");
    assert_eq!(
        code(verify("POST", "/v1/transaction?wait_ms=0", BODY, NOW)),
        "bad-signature"
    );
    assert_eq!(
        code(verify("POST", "/v1/transactions?wait_ms=1", BODY, NOW)),
        "bad-signature"
    );
    assert_eq!(
        code(verify("POST", "/v1/transactions", BODY, NOW)),
        "bad-signature"
    );
    assert_eq!(
        code(verify("POST", target, b"{\"hello\": \"World\"}", NOW)),
        "content-digest-mismatch"
    );
    // The clock-skew window, both ways, and its edges.
    verify("POST", target, BODY, NOW + WINDOW).unwrap();
    verify("POST", target, BODY, NOW - WINDOW).unwrap();
    assert_eq!(
        code(verify("POST", target, BODY, NOW + WINDOW + 1)),
        "expired-signature"
    );
    assert_eq!(
        code(verify("POST", target, BODY, NOW - WINDOW - 1)),
        "expired-signature"
    );

    // A body replaced together with its digest: the signature covers the digest.
    let other = b"{\"hello\": \"mars\"}";
    let mut h2 = h.clone();
    let digest = content_digest(other);
    h2.content_digest = vec![&digest];
    assert_eq!(
        code(verify_request(
            &h2, "POST", target, other, known, NOW, WINDOW
        )),
        "bad-signature"
    );

    // A wrong key, an unknown party.
    let wrong = |_: &str| Some(crypto::public_of(&key(2)));
    assert_eq!(
        code(verify_request(&h, "POST", target, BODY, wrong, NOW, WINDOW)),
        "bad-signature"
    );
    let nobody = |_: &str| None;
    assert_eq!(
        code(verify_request(
            &h, "POST", target, BODY, nobody, NOW, WINDOW
        )),
        "unknown-key"
    );

    // Another party's name on this party's signature.
    let renamed = s.signature_input.replace(PARTY, "DE999999999999999");
    let both = |id: &str| Some(crypto::public_of(&key(if id == PARTY { 1 } else { 2 })));
    let mut h3 = h.clone();
    h3.signature_input = vec![&renamed];
    assert_eq!(
        code(verify_request(&h3, "POST", target, BODY, both, NOW, WINDOW)),
        "bad-signature"
    );
    // The parameters in another order sign another base.
    let reordered = s.signature_input.replace(
        ";alg=\"ed25519\";tag=\"zkcustoms\"",
        ";tag=\"zkcustoms\";alg=\"ed25519\"",
    );
    assert_eq!(code(with_input(&reordered)), "bad-signature");
    // A changed created time inside the window.
    let created = s
        .signature_input
        .replace("created=1767225600", "created=1767225601");
    assert_eq!(code(with_input(&created)), "bad-signature");
}

#[test]
fn expires_is_enforced() {
    let params = SignatureParams {
        party_id: PARTY.into(),
        created: NOW,
        expires: Some(NOW + 30),
        nonce: NONCE,
    };
    let s = sign_request_with(&key(1), &params, "GET", "/v1/status", None).unwrap();
    let h = s.as_received();
    verify_request(&h, "GET", "/v1/status", b"", known, NOW + 30, WINDOW).unwrap();
    let late = verify_request(&h, "GET", "/v1/status", b"", known, NOW + 31, WINDOW);
    assert_eq!(code(late), "expired-signature");
    // `expires` before `created` is malformed, for the signer and the verifier.
    let backwards = SignatureParams {
        expires: Some(NOW - 1),
        ..params
    };
    let err = sign_request_with(&key(1), &backwards, "GET", "/v1/status", None).unwrap_err();
    assert_eq!(err.code(), "invalid-request");
    let input = s
        .signature_input
        .replace("expires=1767225630", "expires=1767225599");
    let mut h2 = h.clone();
    h2.signature_input = vec![&input];
    let r = verify_request(&h2, "GET", "/v1/status", b"", known, NOW, WINDOW);
    assert_eq!(code(r), "malformed-signature");
}

#[test]
fn a_replayed_nonce_is_refused() {
    let cache = NonceCache::new(100, 10);
    let s = signed_post();
    let first = verify_post(&s.as_received()).unwrap();
    // Checking records nothing: the request is still new after any number of checks.
    cache.check(&first, NOW).unwrap();
    cache.check(&first, NOW).unwrap();
    assert!(cache.is_empty());
    cache.check_and_remember(&first, NOW).unwrap();
    let again = verify_post(&s.as_received()).unwrap();
    assert_eq!(
        cache.check(&again, NOW + 1).unwrap_err().code(),
        "replayed-signature"
    );
    let err = cache.check_and_remember(&again, NOW + 1).unwrap_err();
    assert_eq!(err.code(), "replayed-signature");
    // A fresh nonce is a new request.
    let fresh = sign_request(
        &key(1),
        PARTY,
        "POST",
        "/v1/transactions?wait_ms=0",
        Some(BODY),
        NOW,
        fresh_nonce(),
    )
    .unwrap();
    let v = verify_post(&fresh.as_received()).unwrap();
    cache.check_and_remember(&v, NOW + 1).unwrap();
}

#[test]
fn the_covered_components_must_be_exactly_the_required_ones() {
    // A signature without a body, sent with one, or the reverse.
    let get = sign_request(&key(1), PARTY, "POST", "/v1/x", None, NOW, NONCE).unwrap();
    let digest = content_digest(BODY);
    let mut h = get.as_received();
    h.content_digest = vec![&digest];
    let r = verify_request(&h, "POST", "/v1/x", BODY, known, NOW, WINDOW);
    assert_eq!(code(r), "malformed-signature");
    let post = signed_post();
    let r = verify_request(
        &post.as_received(),
        "POST",
        "/v1/transactions?wait_ms=0",
        b"",
        known,
        NOW,
        WINDOW,
    );
    assert_eq!(code(r), "malformed-signature");

    let s = signed_post();
    for input in [
        // Fewer components.
        s.signature_input.replace(" \"@query\"", ""),
        s.signature_input.replace(" \"content-digest\"", ""),
        // A duplicate, an unknown one, more than required.
        s.signature_input
            .replace("\"@query\"", "\"@query\" \"@query\""),
        s.signature_input.replace("\"@query\"", "\"@authority\""),
        s.signature_input
            .replace("\"@query\"", "\"@query\" \"@authority\""),
        s.signature_input.replace("\"@query\"", "\"@query\";req"),
        s.signature_input.replace("\"@query\"", "@query"),
    ] {
        assert_eq!(code(with_input(&input)), "malformed-signature", "{input}");
    }
    // The same components in another order are accepted if signed that way (RFC 9421), but a
    // reordered list does not carry this signature.
    let reordered = s
        .signature_input
        .replace("\"@path\" \"@query\"", "\"@query\" \"@path\"");
    assert_eq!(code(with_input(&reordered)), "bad-signature");
}

#[test]
fn malformed_headers_are_refused() {
    let s = signed_post();
    let input = s.signature_input.clone();
    let p = |from: &str, to: &str| input.replace(from, to);
    for bad in [
        String::new(),
        "garbage".into(),
        "sig1".into(),
        p("sig1=", "sig2="),
        p("sig1=", "SIG1="),
        format!("{input}, sig2=(\"@method\")"),
        p(";tag=\"zkcustoms\"", ""),
        p(";alg=\"ed25519\"", ""),
        p(";alg=\"ed25519\"", ";alg=\"rsa-pss-sha512\""),
        p(";tag=\"zkcustoms\"", ";tag=\"other\""),
        p("created=1767225600", "created=-1767225600"),
        p("created=1767225600", "created=01767225600"),
        p("created=1767225600", "created=1767225600.0"),
        p("created=1767225600", "created=\"1767225600\""),
        p("created=1767225600", "created=1767225600000000"),
        p(
            "created=1767225600",
            "created=1767225600;created=1767225600",
        ),
        p(";created=1767225600", ""),
        p(";created=1767225600", ";foo=1;created=1767225600"),
        p(
            "000102030405060708090a0b0c0d0e0f",
            "000102030405060708090A0B0C0D0E0F",
        ),
        p(
            "000102030405060708090a0b0c0d0e0f",
            "000102030405060708090a0b0c0d0e",
        ),
        p(
            "000102030405060708090a0b0c0d0e0f",
            "AAECAwQFBgcICQoLDA0ODw==",
        ),
        p("keyid=\"DE123456789012345\"", "keyid=\"DE 123\""),
        p("keyid=\"DE123456789012345\"", "keyid=\"\""),
        p("keyid=\"DE123456789012345\"", "keyid=DE123"),
        p("(", "[").replace(')', "]"),
        format!("{input}\u{e9}"),
        format!("{input};"),
        format!("{input},"),
    ] {
        assert_eq!(code(with_input(&bad)), "malformed-signature", "{bad}");
    }
    let sig = s.signature.clone();
    let b64 = &sig["sig1=:".len()..sig.len() - 1];
    for bad in [
        String::new(),
        "sig1=".into(),
        format!("sig2=:{b64}:"),
        format!("sig1=:{}:", b64.trim_end_matches('=')),
        format!("sig1=:{}:", &b64[4..]),
        format!("sig1=:{b64}AAAA:"),
        format!("sig1=:{b64}:;alg=\"ed25519\""),
        format!("sig1=:{b64}:, sig2=:{b64}:"),
        format!("sig1=\"{b64}\""),
        format!("sig1=:{}:", b64.replace('+', "-").replace('/', "_")),
    ] {
        if bad == sig {
            continue; // the URL-safe replacement changed nothing
        }
        assert_eq!(code(with_signature(&bad)), "malformed-signature", "{bad}");
    }
}

#[test]
fn header_counts_and_lengths_are_bounded() {
    let s = signed_post();
    let mut h = s.as_received();
    h.signature_input = vec![];
    h.signature = vec![];
    assert_eq!(code(verify_post(&h)), "missing-signature");
    h.signature = vec![&s.signature];
    assert_eq!(code(verify_post(&h)), "malformed-signature");
    let mut h = s.as_received();
    h.signature = vec![];
    assert_eq!(code(verify_post(&h)), "malformed-signature");

    let digest = s.content_digest.clone().unwrap();
    let mut h = s.as_received();
    h.signature_input.push(&s.signature_input);
    assert_eq!(code(verify_post(&h)), "malformed-signature");
    let mut h = s.as_received();
    h.signature.push(&s.signature);
    assert_eq!(code(verify_post(&h)), "malformed-signature");
    let mut h = s.as_received();
    h.content_digest.push(&digest);
    assert_eq!(code(verify_post(&h)), "content-digest-mismatch");

    // Spaces inside the value keep its meaning but pass the length bound.
    let long = s
        .signature_input
        .replacen("(", &format!("({}", " ".repeat(MAX_HEADER_LEN)), 1);
    assert_eq!(code(with_input(&long)), "malformed-signature");
    // Spaces that RFC 8941 allows do not change the signed serialisation.
    let spaced = s
        .signature_input
        .replacen("(", "(  ", 1)
        .replace(";created", "; created");
    verify_post(&{
        let mut h = s.as_received();
        h.signature_input = vec![&spaced];
        h
    })
    .unwrap();
    let long = "x".repeat(MAX_TARGET_LEN + 1);
    let target = format!("/{long}");
    let r = verify_request(&s.as_received(), "POST", &target, BODY, known, NOW, WINDOW);
    assert_eq!(code(r), "malformed-signature");
}

#[test]
fn requests_that_cannot_be_signed_are_refused() {
    for (party, method, target) in [
        ("DE 123", "GET", "/v1/status"),
        ("", "GET", "/v1/status"),
        (&*"A".repeat(65), "GET", "/v1/status"),
        (PARTY, "GE T", "/v1/status"),
        (PARTY, "", "/v1/status"),
        (PARTY, "GET", "v1/status"),
        (PARTY, "GET", "http://node/v1/status"),
        (PARTY, "GET", "/v1/status\n\"@method\": POST"),
        (PARTY, "GET", "/v1/st atus"),
        (PARTY, "GET", "/v1/status#frag"),
        (PARTY, "GET", "/v1/caf\u{e9}"),
    ] {
        let err = sign_request(&key(1), party, method, target, None, NOW, NONCE).unwrap_err();
        assert_eq!(
            err.code(),
            "invalid-request",
            "{party:?} {method:?} {target:?}"
        );
    }
    let err = sign_request(
        &key(1),
        PARTY,
        "GET",
        "/",
        None,
        sfv::MAX_INTEGER + 1,
        NONCE,
    );
    assert_eq!(err.unwrap_err().code(), "invalid-request");
    // Party ids may hold the characters a structured string escapes.
    let odd = r#"AUTH"\1"#;
    let s = sign_request(&key(1), odd, "GET", "/", None, NOW, NONCE).unwrap();
    assert!(s.signature_input.contains(r#"keyid="AUTH\"\\1""#));
    let resolve = |id: &str| (id == odd).then(|| crypto::public_of(&key(1)));
    let v = verify_request(&s.as_received(), "GET", "/", b"", resolve, NOW, WINDOW).unwrap();
    assert_eq!(v.party_id, odd);
}

#[test]
fn error_codes_are_stable_and_distinct() {
    let all = [
        HttpSignatureError::Missing,
        HttpSignatureError::Malformed(String::new()),
        HttpSignatureError::UnknownKey(String::new()),
        HttpSignatureError::BadSignature(String::new()),
        HttpSignatureError::Expired(String::new()),
        HttpSignatureError::Replayed(String::new()),
        HttpSignatureError::ContentDigestMismatch(String::new()),
        HttpSignatureError::ReplayCacheFull(String::new()),
        HttpSignatureError::InvalidRequest(String::new()),
    ];
    let codes: Vec<&str> = all.iter().map(HttpSignatureError::code).collect();
    assert_eq!(
        codes,
        [
            "missing-signature",
            "malformed-signature",
            "unknown-key",
            "bad-signature",
            "expired-signature",
            "replayed-signature",
            "content-digest-mismatch",
            "replay-cache-full",
            "invalid-request",
        ]
    );
}

/// Strings made of the characters the header grammar uses, to reach deep into the parser.
fn header_like() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,200}",
        "[a-z0-9@\"();=:,*. \\\\+/-]{0,200}",
        "sig1=\\([\"@a-z -]{0,60}\\)(;[a-z]{1,8}=[0-9\"a-z:=]{0,20}){0,8}",
        "sig1=:[A-Za-z0-9+/=]{0,100}:",
    ]
}

proptest! {
    #[test]
    fn random_headers_never_panic(
        input in header_like(),
        signature in header_like(),
        digest in header_like(),
        target in "/[ -~]{0,40}",
        body in proptest::collection::vec(any::<u8>(), 0..40),
    ) {
        let headers = SignatureHeaders {
            signature_input: vec![&input],
            signature: vec![&signature],
            content_digest: vec![&digest],
        };
        let r = verify_request(&headers, "POST", &target, &body, known, NOW, WINDOW);
        prop_assert!(r.is_err());
        let _ = verify_content_digest(&[&digest], &body);
    }

    #[test]
    fn changed_bytes_of_a_signed_request_never_panic_nor_verify(
        at in 0usize..400,
        byte in 0x20u8..0x7f,
        which in 0usize..2,
    ) {
        let s = signed_post();
        let mut changed = [s.signature_input.clone(), s.signature.clone()];
        let text = &mut changed[which];
        let at = at % text.len();
        prop_assume!(text.as_bytes()[at] != byte);
        text.replace_range(at..=at, &char::from(byte).to_string());
        let mut h = s.as_received();
        h.signature_input = vec![&changed[0]];
        h.signature = vec![&changed[1]];
        prop_assert!(verify_post(&h).is_err());
    }
}

#[test]
fn a_request_bound_to_a_node_verifies_only_there() {
    let params = SignatureParams {
        party_id: PARTY.into(),
        created: NOW,
        expires: None,
        nonce: NONCE,
    };
    let target = "/v1/documents/26DE-HAM-000042/invoice/1?readers=customs%3ADE";
    let node_a = "ledger.zoll.example:8443";
    assert_eq!(
        signature_base_to(&params, Some(node_a), "POST", target, Some(BODY)).unwrap(),
        concat!(
            "\"@method\": POST\n",
            "\"@authority\": ledger.zoll.example:8443\n",
            "\"@path\": /v1/documents/26DE-HAM-000042/invoice/1\n",
            "\"@query\": ?readers=customs%3ADE\n",
            "\"content-digest\": sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:\n",
            "\"@signature-params\": (\"@method\" \"@authority\" \"@path\" \"@query\" ",
            "\"content-digest\");created=1767225600;nonce=\"000102030405060708090a0b0c0d0e0f\"",
            ";keyid=\"DE123456789012345\";alg=\"ed25519\";tag=\"zkcustoms\"",
        )
    );
    let signed =
        sign_request_to(&key(1), &params, Some(node_a), "POST", target, Some(BODY)).unwrap();
    let h = signed.as_received();
    let at = |authority: Option<&str>| {
        verify_request_at(&h, authority, "POST", target, BODY, known, NOW, WINDOW)
    };
    let v = at(Some(node_a)).unwrap();
    assert_eq!(v.authority.as_deref(), Some(node_a));
    // Received under another authority (replayed at another node): the base differs.
    assert_eq!(
        code(at(Some("ledger.douane.example:8443"))),
        "bad-signature"
    );
    assert_eq!(code(at(Some("ledger.zoll.example"))), "bad-signature");
    // A verifier that does not know where the request arrived, or a Host that is no authority.
    assert_eq!(code(at(None)), "malformed-signature");
    for host in [
        "Ledger.Zoll.Example:8443",
        "a b",
        "",
        "user@host",
        "host/path",
    ] {
        assert_eq!(code(at(Some(host))), "malformed-signature", "{host:?}");
    }
    // A request that is not bound verifies wherever it arrives, and names no authority.
    let free = signed_post();
    let v = verify_request_at(
        &free.as_received(),
        Some(node_a),
        "POST",
        "/v1/transactions?wait_ms=0",
        BODY,
        known,
        NOW,
        WINDOW,
    )
    .unwrap();
    assert_eq!(v.authority, None);
    // A signer refuses an authority it could not send.
    let err = sign_request_to(&key(1), &params, Some("Host:1"), "GET", "/", None).unwrap_err();
    assert_eq!(err.code(), "invalid-request");
}
