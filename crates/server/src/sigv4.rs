//! AWS Signature Version 4, checked as AWS checks it, for a server given credentials: the
//! `Authorization` header names the key, the signed headers and the signature; the server
//! computes the signature over the same canonical request with the secret key and compares.

use axum::http::{HeaderMap, Method, StatusCode};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::WireError;

/// The one key pair the server accepts when it checks signatures.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
}

/// How far a request's time may be from the server's, as on AWS.
const MAX_SKEW_SECONDS: i64 = 15 * 60;

/// Checks the request's signature; the error is the one AWS gives for what is wrong.
pub fn verify(
    credentials: &Credentials,
    method: &Method,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
    now_seconds: i64,
) -> Result<(), WireError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let Some(authorization) = header("authorization") else {
        return Err(WireError {
            status: StatusCode::FORBIDDEN,
            kind: "MissingAuthenticationTokenException".into(),
            message: "Missing Authentication Token".into(),
        });
    };
    let parsed = Authorization::parse(authorization).ok_or_else(|| {
        WireError::client(
            "IncompleteSignatureException",
            format!("the Authorization header is not AWS4-HMAC-SHA256 with Credential, SignedHeaders and Signature: {authorization}"),
        )
    })?;
    if parsed.access_key_id != credentials.access_key_id {
        return Err(WireError::client(
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        ));
    }
    let amz_date = header("x-amz-date").ok_or_else(|| {
        WireError::client(
            "IncompleteSignatureException",
            "the request has no X-Amz-Date header",
        )
    })?;
    if !amz_date.starts_with(parsed.date) {
        return Err(WireError::client(
            "InvalidSignatureException",
            format!(
                "the credential scope's date {} is not the date of X-Amz-Date {amz_date}",
                parsed.date
            ),
        ));
    }
    if !parsed.signed_headers.split(';').any(|h| h == "host") {
        return Err(WireError::client(
            "InvalidSignatureException",
            "the Host header must be signed",
        ));
    }
    let Some(request_seconds) = parse_amz_date(amz_date) else {
        return Err(WireError::client(
            "IncompleteSignatureException",
            format!("X-Amz-Date {amz_date} is not a date like 20261127T120000Z"),
        ));
    };
    if (request_seconds - now_seconds).abs() > MAX_SKEW_SECONDS {
        return Err(WireError::client(
            "InvalidSignatureException",
            format!("Signature expired: {amz_date} is more than 15 minutes from the server's time"),
        ));
    }
    let mut canonical_headers = String::new();
    for name in parsed.signed_headers.split(';') {
        let values: Vec<String> = headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        canonical_headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    let payload_hash = hex(&Sha256::digest(body));
    let canonical_request = format!(
        "{method}\n{}\n{}\n{canonical_headers}\n{}\n{payload_hash}",
        if path.is_empty() { "/" } else { path },
        canonical_query(query),
        parsed.signed_headers,
    );
    let scope = format!(
        "{}/{}/{}/aws4_request",
        parsed.date, parsed.region, parsed.service
    );
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex(&Sha256::digest(canonical_request.as_bytes()))
    );
    let mut key = hmac(
        format!("AWS4{}", credentials.secret_access_key).as_bytes(),
        parsed.date.as_bytes(),
    );
    for part in [parsed.region, parsed.service, "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    let expected = hex(&hmac(&key, string_to_sign.as_bytes()));
    if !constant_time_eq(expected.as_bytes(), parsed.signature.as_bytes()) {
        return Err(WireError::client(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.",
        ));
    }
    Ok(())
}

struct Authorization<'a> {
    access_key_id: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: &'a str,
    signature: &'a str,
}

impl<'a> Authorization<'a> {
    fn parse(header: &'a str) -> Option<Authorization<'a>> {
        let rest = header.strip_prefix("AWS4-HMAC-SHA256 ")?;
        let mut credential = None;
        let mut signed_headers = None;
        let mut signature = None;
        for part in rest.split(',') {
            let (key, value) = part.trim().split_once('=')?;
            match key {
                "Credential" => credential = Some(value),
                "SignedHeaders" => signed_headers = Some(value),
                "Signature" => signature = Some(value),
                _ => {}
            }
        }
        let mut scope = credential?.split('/');
        let (access_key_id, date, region, service, terminator) = (
            scope.next()?,
            scope.next()?,
            scope.next()?,
            scope.next()?,
            scope.next()?,
        );
        (terminator == "aws4_request").then_some(Authorization {
            access_key_id,
            date,
            region,
            service,
            signed_headers: signed_headers?,
            signature: signature?,
        })
    }
}

/// `20261127T120000Z` as seconds since the epoch.
fn parse_amz_date(text: &str) -> Option<i64> {
    if text.len() != 16 || !text.ends_with('Z') || text.as_bytes()[8] != b'T' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| text.get(range)?.parse::<i64>().ok();
    let (year, month, day) = (number(0..4)?, number(4..6)?, number(6..8)?);
    let (hour, minute, second) = (number(9..11)?, number(11..13)?, number(13..15)?);
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    Some(days * 86_400 + hour * 3_600 + minute * 60 + second)
}

/// The query string with its parameters sorted, as SigV4 signs it (CodePipeline's are empty).
fn canonical_query(query: &str) -> String {
    let mut parts: Vec<&str> = query.split('&').filter(|p| !p.is_empty()).collect();
    parts.sort_unstable();
    parts.join("&")
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_read_as_aws_writes_them() {
        assert_eq!(parse_amz_date("19700101T000000Z"), Some(0));
        assert_eq!(parse_amz_date("20150830T123600Z"), Some(1_440_938_160));
        assert_eq!(parse_amz_date("2015-08-30"), None);
    }

    /// The example of AWS's SigV4 documentation ("get-vanilla" of the test suite): a GET of `/`
    /// to example.amazonaws.com with the documented example key.
    #[test]
    fn the_documented_example_verifies_and_a_changed_secret_does_not() {
        let mut headers = HeaderMap::new();
        headers.insert("host", "example.amazonaws.com".parse().expect("header"));
        headers.insert("x-amz-date", "20150830T123600Z".parse().expect("header"));
        headers.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
                .parse()
                .expect("header"),
        );
        let good = Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
        };
        let now = 1_440_938_160;
        verify(&good, &Method::GET, "/", "", &headers, b"", now).expect("the documented signature");
        let wrong = Credentials {
            secret_access_key: "not the secret".into(),
            ..good.clone()
        };
        let error =
            verify(&wrong, &Method::GET, "/", "", &headers, b"", now).expect_err("wrong secret");
        assert_eq!(error.kind, "InvalidSignatureException");
        let late = verify(&good, &Method::GET, "/", "", &headers, b"", now + 3_600)
            .expect_err("an hour late");
        assert!(
            late.message.starts_with("Signature expired"),
            "{}",
            late.message
        );
    }
}
