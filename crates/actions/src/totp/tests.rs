use super::*;

/// The SHA-1 seed of RFC 6238 Appendix B and RFC 4226 Appendix D.
const RFC_SEED: &[u8] = b"12345678901234567890";
const RFC_SEED_BASE32: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
/// 2009-02-13 23:31:30 UTC, step 41152263 at 30 s.
const NOW: i64 = 1_234_567_890;
const NOW_STEP: i64 = 41_152_263;

fn rfc_secret() -> TotpSecret {
    TotpSecret::from_bytes(RFC_SEED.to_vec())
}

#[test]
fn totp_matches_rfc_6238_appendix_b_sha1_vectors() {
    let check = |unix_time: i64, expected: &str| {
        assert_eq!(
            totp(RFC_SEED, unix_time, 30, 8),
            expected,
            "8 digits at {unix_time}"
        );
        assert_eq!(
            totp(RFC_SEED, unix_time, 30, 6),
            expected[2..],
            "6 digits at {unix_time}"
        );
    };
    check(59, "94287082");
    check(1_111_111_109, "07081804");
    check(1_111_111_111, "14050471");
    check(1_234_567_890, "89005924");
    check(2_000_000_000, "69279037");
    // The counter exceeds 2^32 here.
    check(20_000_000_000, "65353130");
}

#[test]
fn hotp_matches_rfc_4226_appendix_d_vectors() {
    let expected = [
        "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871",
        "520489",
    ];
    for (counter, code) in (0_u64..).zip(expected) {
        assert_eq!(hotp(RFC_SEED, counter, 6), code, "counter {counter}");
    }
}

#[test]
fn hotp_keeps_leading_zeros() {
    // The RFC 6238 code at 1111111109 starts with a zero.
    assert_eq!(hotp(RFC_SEED, 0x0235_23EC, 8), "07081804");
    assert_eq!(hotp(RFC_SEED, 0x0235_23EC, 7), "7081804");
}

#[test]
fn hotp_and_totp_do_not_panic_on_odd_parameters() {
    assert_eq!(hotp(RFC_SEED, 1, 0), "287082");
    assert_eq!(hotp(RFC_SEED, 1, u32::MAX), "94287082");
    assert_eq!(totp(RFC_SEED, 59, 0, 6), hotp(RFC_SEED, 59, 6));
    assert_eq!(totp(RFC_SEED, -1, 30, 6), hotp(RFC_SEED, 0, 6));
    assert_eq!(totp(RFC_SEED, i64::MIN, 1, 6), hotp(RFC_SEED, 0, 6));
    assert_eq!(
        totp(RFC_SEED, i64::MAX, 1, 6),
        hotp(RFC_SEED, i64::MAX as u64, 6)
    );
    assert_eq!(hotp(b"", 0, 6).len(), 6);
}

#[test]
fn verify_accepts_one_step_of_drift_and_returns_the_step() {
    let check = |offset: i64, look_around: u32, expected: Option<i64>| {
        let code = totp(RFC_SEED, NOW + offset * 30, 30, 6);
        assert_eq!(
            verify(RFC_SEED, &code, NOW, 30, 6, look_around),
            expected,
            "code {offset} steps away, look-around {look_around}"
        );
    };
    check(0, 1, Some(NOW_STEP));
    check(-1, 1, Some(NOW_STEP - 1));
    check(1, 1, Some(NOW_STEP + 1));
    check(-2, 1, None);
    check(2, 1, None);
    check(0, 0, Some(NOW_STEP));
    check(1, 0, None);
    check(-1, 0, None);
    check(2, 2, Some(NOW_STEP + 2));
    // The window is capped whatever the realm says.
    check(10, u32::MAX, Some(NOW_STEP + 10));
    check(11, u32::MAX, None);
}

#[test]
fn verify_works_with_eight_digits_and_other_periods() {
    assert_eq!(verify(RFC_SEED, "94287082", 59, 30, 8, 1), Some(1));
    assert_eq!(
        verify(RFC_SEED, "65353130", 20_000_000_000, 30, 8, 1),
        Some(666_666_666)
    );
    let code = totp(RFC_SEED, NOW, 60, 6);
    assert_eq!(verify(RFC_SEED, &code, NOW, 60, 6, 1), Some(NOW / 60));
}

#[test]
fn verify_ignores_surrounding_spaces() {
    assert_eq!(verify(RFC_SEED, " 287082 ", 59, 30, 6, 1), Some(1));
    assert_eq!(verify(RFC_SEED, "\t287082\n", 59, 30, 6, 1), Some(1));
}

#[test]
fn verify_refuses_malformed_codes() {
    let check = |code: &str| {
        assert_eq!(verify(RFC_SEED, code, 59, 30, 6, 1), None, "code {code:?}");
    };
    check("");
    check("      ");
    check("28708");
    check("2870820");
    check("94287082");
    check("28708a");
    check("287 082");
    check("+87082");
    check("-87082");
    // Full-width digits are digits to Unicode, not to us.
    check("２８７０８２");
    check("287082\u{0}");
}

#[test]
fn verify_refuses_everything_under_an_invalid_policy() {
    assert_eq!(verify(RFC_SEED, "287082", 59, 0, 6, 1), None);
    assert_eq!(verify(RFC_SEED, "1284755224", 59, 30, 10, 1), None);
    assert_eq!(verify(RFC_SEED, "55224", 59, 30, 5, 1), None);
}

#[test]
fn verify_does_not_panic_at_the_ends_of_time() {
    assert_eq!(
        verify(RFC_SEED, &hotp(RFC_SEED, 0, 6), -10, 30, 6, 1),
        Some(0)
    );
    assert_eq!(verify(RFC_SEED, "000000", i64::MIN, 1, 6, 1), None);
    let last = hotp(RFC_SEED, i64::MAX as u64, 6);
    assert_eq!(verify(RFC_SEED, &last, i64::MAX, 1, 6, 1), Some(i64::MAX));
}

#[test]
fn base32_round_trips_the_rfc_seed() {
    let secret = rfc_secret();
    assert_eq!(secret.to_base32(), RFC_SEED_BASE32);
    assert_eq!(secret.grouped(), "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ");

    let check = |text: &str| {
        let parsed = TotpSecret::from_base32(text);
        assert_eq!(
            parsed.as_ref().map(TotpSecret::as_bytes),
            Some(RFC_SEED),
            "{text:?}"
        );
    };
    check(RFC_SEED_BASE32);
    check("GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ");
    check("gezd gnbv gy3t qojq gezd gnbv gy3t qojq");
    check(" GezdGNBVgy3tQOJQ\tGEZDGNBVGY3TQOJQ \n");
}

#[test]
fn base32_accepts_padding_and_odd_lengths() {
    let secret = TotpSecret::from_bytes(b"hello".to_vec());
    assert_eq!(secret.to_base32(), "NBSWY3DP");
    let secret = TotpSecret::from_bytes(b"hi".to_vec());
    assert_eq!(secret.to_base32(), "NBUQ");
    assert_eq!(secret.grouped(), "NBUQ");
    let parsed = TotpSecret::from_base32("NBUQ====");
    assert_eq!(parsed.as_ref().map(TotpSecret::as_bytes), Some(&b"hi"[..]));
    let secret = TotpSecret::from_bytes(b"hey".to_vec());
    assert_eq!(secret.grouped(), "NBSX S");
}

#[test]
fn base32_refuses_what_no_encoder_writes() {
    let check = |text: &str| {
        assert!(TotpSecret::from_base32(text).is_none(), "{text:?}");
    };
    check("");
    check("   ");
    check("====");
    check("GEZ1");
    check("GEZ0GNBV");
    check("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ8");
    check("GEZDGNB-GY3TQOJQ");
    check("É");
    // A length no 8-bit input encodes to.
    check("G");
    check("GEZ");
    // Non-zero bits after the last byte.
    check("NBUR");
}

#[test]
fn generated_secrets_are_twenty_bytes_and_differ() {
    let first = TotpSecret::generate();
    let second = TotpSecret::generate();
    assert_eq!(first.as_bytes().len(), 20);
    assert_eq!(second.as_bytes().len(), 20);
    assert_ne!(first.as_bytes(), second.as_bytes());
    assert_eq!(first.to_base32().len(), 32);
}

#[test]
fn debug_redacts_the_secret() {
    assert_eq!(format!("{:?}", rfc_secret()), "TotpSecret([redacted])");
}

#[test]
fn key_uri_percent_encodes_label_and_issuer() {
    let check = |issuer: &str, account: &str, digits: u32, period: u32, expected: &str| {
        assert_eq!(
            key_uri(issuer, account, &rfc_secret(), digits, period),
            expected
        );
    };
    check(
        "Smart OA",
        "jean.dupont+test@exemple.fr",
        6,
        30,
        "otpauth://totp/Smart%20OA:jean.dupont%2Btest@exemple.fr\
         ?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Smart%20OA&algorithm=SHA1&digits=6\
         &period=30",
    );
    check(
        "Élodie: R&D",
        "a:b + c@exemple.fr",
        8,
        60,
        "otpauth://totp/%C3%89lodie%20R%26D:a%20b%20%2B%20c@exemple.fr\
         ?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=%C3%89lodie%20R%26D&algorithm=SHA1\
         &digits=8&period=60",
    );
    // Decomposed accents, colons at the ends and stray whitespace come out the same.
    check(
        ":E\u{301}lodie :R&D: ",
        " jean?dupont#1=2/3 ",
        6,
        30,
        "otpauth://totp/%C3%89lodie%20R%26D:jean%3Fdupont%231%3D2%2F3\
         ?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=%C3%89lodie%20R%26D&algorithm=SHA1\
         &digits=6&period=30",
    );
    // Without an issuer the label is the account alone.
    check(
        " : ",
        "jean",
        6,
        30,
        "otpauth://totp/jean?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&algorithm=SHA1&digits=6\
         &period=30",
    );
}

#[test]
fn qr_svg_round_trips_the_key_uri() {
    let check = |uri: &str| {
        let svg = qr_svg(uri, "QR code").unwrap();
        assert_eq!(decode_qr_svg(&svg).as_deref(), Some(uri));
    };
    check(&key_uri(
        "Smart OA",
        "jean.dupont+test@exemple.fr",
        &rfc_secret(),
        6,
        30,
    ));
    check(&key_uri(
        "Élodie: R&D",
        "a:b + c@exemple.fr",
        &TotpSecret::generate(),
        8,
        60,
    ));
    check(&key_uri(
        &"Smart OA ".repeat(20),
        &"x".repeat(200),
        &TotpSecret::generate(),
        6,
        30,
    ));
}

#[test]
fn qr_svg_is_accessible_and_has_no_inline_style() {
    let uri = key_uri("Smart OA", "jean", &rfc_secret(), 6, 30);
    let svg = qr_svg(&uri, "Code QR \"Smart OA\" <jean> & 'co'").unwrap();
    assert!(
        svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 "),
        "{svg}"
    );
    assert!(svg.ends_with("\"/></svg>"), "{svg}");
    assert!(svg.contains(" role=\"img\" "), "{svg}");
    assert!(
        svg.contains(
            " aria-label=\"Code QR &quot;Smart OA&quot; &lt;jean&gt; &amp; &#39;co&#39;\" "
        ),
        "{svg}"
    );
    assert!(!svg.contains("style"), "{svg}");
    assert!(svg.contains("<rect width=\""), "{svg}");
    assert!(svg.contains("fill=\"#fff\""), "{svg}");
    assert!(
        svg.contains("<path fill=\"#000\" d=\"M4 4h7v1h-7z"),
        "{svg}"
    );
}

#[test]
fn qr_svg_refuses_a_uri_too_long_for_any_qr_code() {
    let uri = key_uri("Smart OA", &"x".repeat(3000), &rfc_secret(), 6, 30);
    assert!(matches!(qr_svg(&uri, "QR code"), Err(TotpError::QrTooLong)));
}

#[test]
fn decode_qr_svg_refuses_other_documents() {
    let check = |svg: &str| {
        assert_eq!(decode_qr_svg(svg), None, "{svg}");
    };
    check("");
    check("<svg/>");
    check("<svg viewBox=\"0 0 10 10\"><path fill=\"#000\" d=\"\"/></svg>");
    check("<svg viewBox=\"0 0 10 12\"><path fill=\"#000\" d=\"M1 1h1v1h-1z\"/></svg>");
    check("<svg viewBox=\"0 0 10 10\"><path fill=\"#000\" d=\"M9 9h2v1h-2z\"/></svg>");
    check("<svg viewBox=\"0 0 10 10\"><path fill=\"#000\" d=\"M1 1h1v2h-1z\"/></svg>");
    check("<svg viewBox=\"0 0 10 10\"><path fill=\"#000\" d=\"M1 1h-1v1h1z\"/></svg>");
}
