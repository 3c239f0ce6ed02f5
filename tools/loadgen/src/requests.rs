//! Pre-signed requests, all built before the clock starts, so signing and
//! formatting cost nothing during the run.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// What one request is meant to test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A new event id: `202` expected.
    Unique,
    /// The exact bytes of an earlier unique request: `200` expected
    /// (or `202` when it overtakes the original on another connection).
    Duplicate,
    /// A new event id with a wrong signature: `401` expected.
    BadSignature,
}

/// Percentages of each kind; the rest of 100 is unique.
#[derive(Debug, Clone, Copy)]
pub struct Mix {
    pub duplicate: u32,
    pub bad_signature: u32,
}

impl Mix {
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let mut mix = Self {
            duplicate: 0,
            bad_signature: 0,
        };
        let mut unique = None;
        for part in text.split(',').filter(|p| !p.is_empty()) {
            let (name, value) = part
                .split_once('=')
                .ok_or_else(|| anyhow::anyhow!("mix part {part:?} is not name=percent"))?;
            let value: u32 = value.trim().parse()?;
            match name.trim() {
                "unique" => unique = Some(value),
                "duplicate" => mix.duplicate = value,
                "bad" | "bad-signature" => mix.bad_signature = value,
                other => anyhow::bail!("unknown mix kind {other:?} (unique, duplicate, bad)"),
            }
        }
        let total = unique.unwrap_or(100 - (mix.duplicate + mix.bad_signature).min(100))
            + mix.duplicate
            + mix.bad_signature;
        anyhow::ensure!(total == 100, "the mix adds up to {total}%, not 100%");
        Ok(mix)
    }

    fn kind(&self, roll: u32) -> Kind {
        if roll < self.duplicate {
            Kind::Duplicate
        } else if roll < self.duplicate + self.bad_signature {
            Kind::BadSignature
        } else {
            Kind::Unique
        }
    }
}

/// One request, ready to write to a socket.
#[derive(Debug)]
pub struct Prepared {
    pub bytes: Vec<u8>,
    pub kind: Kind,
    /// Index into [`Plan::event_ids`].
    pub event: u32,
}

/// Every request of a run, and the event ids they carry.
#[derive(Debug)]
pub struct Plan {
    pub requests: Vec<Prepared>,
    pub event_ids: Vec<String>,
}

/// How requests look.
#[derive(Debug, Clone)]
pub struct Shape {
    pub host: String,
    pub path: String,
    pub secret: Vec<u8>,
    pub signature_header: String,
    /// Prefix of every event id of this run, so the database check finds them.
    pub run_id: String,
    pub body_bytes: usize,
}

/// A small deterministic generator (xorshift64*): the same seed gives the same mix.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

pub fn build(shape: &Shape, mix: Mix, count: usize, seed: u64) -> Plan {
    let mut rng = Rng(seed | 1);
    let mut requests = Vec::with_capacity(count);
    let mut event_ids = Vec::new();
    let mut unique_requests: Vec<usize> = Vec::new();
    for _ in 0..count {
        let mut kind = mix.kind((rng.next() % 100) as u32);
        if kind == Kind::Duplicate && unique_requests.is_empty() {
            kind = Kind::Unique;
        }
        let prepared = match kind {
            Kind::Duplicate => {
                let original = &requests
                    [unique_requests[(rng.next() % unique_requests.len() as u64) as usize]];
                let Prepared { bytes, event, .. }: &Prepared = original;
                Prepared {
                    bytes: bytes.clone(),
                    kind,
                    event: *event,
                }
            }
            Kind::Unique | Kind::BadSignature => {
                let event = event_ids.len();
                let event_id = format!("evt_{}_{event}", shape.run_id);
                let body = stripe_like_body(&event_id, shape.body_bytes);
                let mut signature = sign(&shape.secret, body.as_bytes());
                if kind == Kind::BadSignature {
                    // Same length and alphabet, wrong MAC.
                    let flipped = if signature.starts_with('0') { "1" } else { "0" };
                    signature.replace_range(0..1, flipped);
                } else {
                    unique_requests.push(requests.len());
                }
                event_ids.push(event_id);
                Prepared {
                    bytes: http_request(shape, &signature, &body),
                    kind,
                    event: event as u32,
                }
            }
        };
        requests.push(prepared);
    }
    Plan {
        requests,
        event_ids,
    }
}

fn sign(secret: &[u8], body: &[u8]) -> String {
    // HMAC accepts keys of any length: this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

fn http_request(shape: &Shape, signature: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {} HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\n{}: {signature}\r\ncontent-length: {}\r\n\r\n{body}",
        shape.path,
        shape.host,
        shape.signature_header,
        body.len()
    )
    .into_bytes()
}

/// A Stripe `invoice.paid`-like event of about `size` bytes; hookd's
/// default source reads `event_id`.
fn stripe_like_body(event_id: &str, size: usize) -> String {
    let head = format!(
        r#"{{"event_id":"{event_id}","object":"event","api_version":"2024-06-20","created":1764460800,"type":"invoice.paid","livemode":false,"pending_webhooks":1,"request":{{"id":"req_8Jd2kLm3Pq","idempotency_key":"b9c1e7f0-3d5a-4e2b-9f61-7a2c8d4e5f60"}},"data":{{"object":{{"id":"in_1QxYzAbCdEfGhIjK","object":"invoice","account_country":"DE","account_name":"Example GmbH","amount_due":2000,"amount_paid":2000,"amount_remaining":0,"attempt_count":1,"attempted":true,"billing_reason":"subscription_cycle","collection_method":"charge_automatically","currency":"eur","customer":"cus_QwErTyUiOp","customer_email":"jane@example.com","hosted_invoice_url":"https://invoice.example.com/i/acct_1/test_YWNjdF8x","lines":{{"object":"list","data":[{{"id":"il_1QxYz","amount":2000,"currency":"eur","description":"1 × Pro plan (at €20.00 / month)","period":{{"end":1767139200,"start":1764460800}},"quantity":1}}],"has_more":false,"total_count":1}},"paid":true,"status":"paid","subtotal":2000,"tax":0,"total":2000,"notes":""#
    );
    let tail = r#""}}}"#;
    let pad = size.saturating_sub(head.len() + tail.len());
    let mut body = head;
    body.extend(std::iter::repeat_n('x', pad));
    body.push_str(tail);
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape() -> Shape {
        Shape {
            host: "h".into(),
            path: "/webhook".into(),
            secret: b"supersecret".to_vec(),
            signature_header: "x-signature".into(),
            run_id: "r".into(),
            body_bytes: 1024,
        }
    }

    #[test]
    fn bodies_are_json_of_the_asked_size() {
        let body = stripe_like_body("evt_1", 1024);
        assert_eq!(body.len(), 1024);
        let value: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(value["event_id"], "evt_1");
    }

    #[test]
    fn the_mix_is_honoured_and_duplicates_repeat_earlier_bytes() {
        let mix = Mix::parse("unique=70,duplicate=20,bad=10").unwrap();
        let plan = build(&shape(), mix, 10_000, 7);
        let count = |kind| plan.requests.iter().filter(|r| r.kind == kind).count();
        assert!((1_800..2_200).contains(&count(Kind::Duplicate)));
        assert!((800..1_200).contains(&count(Kind::BadSignature)));
        let dup = plan
            .requests
            .iter()
            .find(|r| r.kind == Kind::Duplicate)
            .unwrap();
        let original = plan
            .requests
            .iter()
            .find(|r| r.kind == Kind::Unique && r.event == dup.event)
            .unwrap();
        assert_eq!(original.bytes, dup.bytes);
    }

    #[test]
    fn a_mix_must_add_up() {
        assert!(Mix::parse("unique=50,duplicate=10").is_err());
        assert!(Mix::parse("duplicate=10").is_ok());
        assert!(Mix::parse("dupe=10").is_err());
    }

    #[test]
    fn signatures_are_hmac_sha256_hex() {
        // `printf abc | openssl dgst -sha256 -hmac supersecret`
        assert_eq!(
            sign(b"supersecret", b"abc"),
            "e459224bb7bdb9dc3239422a2693a7ec3995f9b7f9eb608b10b3e048840483d1"
        );
    }
}
