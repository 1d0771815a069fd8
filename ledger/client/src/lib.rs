//! zkcustoms ledger client: the typed blocking client of a ledger node's `/v1` API, used by the
//! CLI (`zkcustoms submit`, `query`, `document`), the prover service (submitting a finished proof)
//! and the audit (reading a node's blocks). Bodies are the shared [`zkcustoms_ledger_types::wire`]
//! structs, so the client and the server cannot drift apart.
//!
//! Every request carries the client's bearer token; a client given a party's key
//! ([`Client::with_party`]) also signs every request as that party with an HTTP message signature
//! ([`zkcustoms_ledger_types::http_signature`]).

use serde_json::Value;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use zkcustoms_ledger_types::crypto::PrivateKey;
use zkcustoms_ledger_types::http_signature::{self, HttpSignatureError, SignedHeaders};
use zkcustoms_ledger_types::party::Reader;
use zkcustoms_ledger_types::tx::DocumentKey;
use zkcustoms_ledger_types::tx::{Hash, Transaction};
use zkcustoms_ledger_types::wire::{parse_hash, Submitted, TxState, TxStatusKind, MAX_WAIT_MS};
pub use zkcustoms_ledger_types::{crypto, json, tx, wire};

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The node answered with an error (its code and message shown with control characters
    /// escaped: [`printable`]).
    #[error("{status} {}: {}", printable(code), printable(message))]
    Api {
        /// HTTP status.
        status: u16,
        /// The error code (for 422: the rule that failed).
        code: String,
        /// The node's explanation.
        message: String,
    },
    /// The node could not be reached or answered something else than JSON.
    #[error("cannot reach the node: {0}")]
    Transport(String),
    /// The node answered JSON that is not the API's answer.
    #[error("unexpected answer from the node: {}", printable(.0))]
    BadAnswer(String),
    /// A transaction was not decided in time.
    #[error("transaction {0} is still pending after the wait")]
    StillPending(String),
    /// A request could not be signed as the client's party.
    #[error("cannot sign the request: {0}")]
    Signing(#[from] HttpSignatureError),
}

/// `text` from a node, fit to print on a terminal: every control character (C0, DEL, C1) is
/// escaped (`\u{1b}`), so that a hostile node's message cannot move the cursor, rewrite lines
/// already printed or send the terminal commands.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return text.into();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

/// Shortest time between two questions of [`Client::wait`]: a node that answers "pending" at
/// once (instead of waiting as asked) is not asked again in a tight loop.
pub const MIN_POLL: Duration = Duration::from_millis(250);

/// Most bytes of a JSON answer the client reads: a block of the most transactions the ledger's
/// encoding allows, each of the largest size, in its JSON form, fits with room to spare. A node
/// that answers more (a hostile one streaming without end, say) gets `BadAnswer`, not the
/// client's memory.
pub const MAX_ANSWER: u64 = 64 << 20;

/// Most JSON values in an answer the client reads (every number, string, array and object
/// counts one): a block of the most transactions the ledger allows holds a few hundred thousand.
/// Read into memory, a value takes tens of bytes however short its text, so a node's answer of
/// [`MAX_ANSWER`] bytes of `[0,0,...]` would take gigabytes: it is refused as it is read.
pub const MAX_ANSWER_VALUES: usize = 1 << 20;

/// Most bytes of an error answer the client reads (`{"error", "message"}`).
const MAX_ERROR_ANSWER: u64 = 64 << 10;

/// Reads a JSON answer of at most `max` bytes.
fn read_json(resp: ureq::Response, max: u64) -> Result<Value, String> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    resp.into_reader()
        .take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("reading the answer: {e}"))?;
    if bytes.len() as u64 > max {
        return Err(format!("the answer is longer than {max} bytes"));
    }
    json::strict_json(&bytes, MAX_ANSWER_VALUES).map_err(|e| e.to_string())
}

/// The party a client signs its requests as.
#[derive(Clone)]
struct Party {
    id: String,
    key: PrivateKey,
}

/// A client of one node, with one role token and optionally a party's signing key.
#[derive(Clone)]
pub struct Client {
    base: String,
    token: String,
    agent: ureq::Agent,
    party: Option<Party>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Neither the token nor the key: only what identifies the client.
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("party", &self.party.as_ref().map(|p| &p.id))
            .finish()
    }
}

impl Client {
    /// A client of the node at `base` (`http://127.0.0.1:8080`): 60 s per request.
    pub fn new(base: &str, token: &str) -> Self {
        Self::with_timeouts(
            base,
            token,
            Duration::from_secs(60),
            Duration::from_secs(60),
        )
    }

    /// A client of the node at `base` that gives up connecting after `connect` and on a request
    /// after `request`. It never follows a redirect: a node answers itself.
    pub fn with_timeouts(base: &str, token: &str, connect: Duration, request: Duration) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            token: token.trim().to_owned(),
            agent: ureq::AgentBuilder::new()
                .timeout_connect(connect)
                .timeout(request)
                .redirects(0)
                .build(),
            party: None,
        }
    }

    /// The same client, signing every request as `party_id` with `key` (RFC 9421, see
    /// [`http_signature`]): each request carries `Signature-Input`, `Signature` and, with a body,
    /// `Content-Digest`, with a fresh random nonce and the current time. The bearer token is still
    /// sent. Refuses a party id that cannot be a key id (1 to 64 printable ASCII characters
    /// without spaces).
    pub fn with_party(self, party_id: &str, key: PrivateKey) -> Result<Self, ClientError> {
        zkcustoms_ledger_types::tx::check_party_id("party", party_id)
            .map_err(|e| ClientError::Signing(HttpSignatureError::InvalidRequest(e.to_string())))?;
        Ok(Self {
            party: Some(Party {
                id: party_id.to_owned(),
                key,
            }),
            ..self
        })
    }

    /// The party this client signs as, if any.
    pub fn party(&self) -> Option<&str> {
        self.party.as_ref().map(|p| p.id.as_str())
    }

    /// The signature headers of a request as it will be sent (its method, and its path and query
    /// after the URL is parsed and encoded), or `None` without a party. The request is signed
    /// for the node it is sent to (`@authority`: the URL's host and `:port` unless the scheme's
    /// default, as the `Host` header carries them), so no other node accepts it.
    fn signature(
        &self,
        req: &ureq::Request,
        body: Option<&[u8]>,
    ) -> Result<Option<SignedHeaders>, ClientError> {
        let Some(party) = &self.party else {
            return Ok(None);
        };
        let url = req
            .request_url()
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        // The request line ureq writes: the path, then `?query` when the query is not empty.
        let target = match url.as_url().query() {
            Some(q) if !q.is_empty() => format!("{}?{q}", url.path()),
            _ => url.path().to_owned(),
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        // A URL without a host yields an empty authority, which signing refuses.
        let authority = match (url.as_url().host_str(), url.as_url().port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => String::new(),
        };
        let params = http_signature::SignatureParams {
            party_id: party.id.clone(),
            created: now,
            expires: None,
            nonce: http_signature::fresh_nonce(),
        };
        let signed = http_signature::sign_request_to(
            &party.key,
            &params,
            Some(&authority),
            req.method(),
            &target,
            body,
        )?;
        Ok(Some(signed))
    }

    /// Adds the credentials to a request: the bearer token, and with a party its signature,
    /// bound to the node called (no other node accepts it).
    fn authorise(
        &self,
        req: ureq::Request,
        body: Option<&[u8]>,
    ) -> Result<ureq::Request, ClientError> {
        let mut req = req;
        // A party-only client (no token) sends no Authorization header.
        if !self.token.is_empty() {
            req = req.set("Authorization", &format!("Bearer {}", self.token));
        }
        if let Some(signed) = self.signature(&req, body)? {
            req = req
                .set("Signature-Input", &signed.signature_input)
                .set("Signature", &signed.signature);
            if let Some(digest) = &signed.content_digest {
                req = req.set("Content-Digest", digest);
            }
        }
        Ok(req)
    }

    fn answer(r: Result<ureq::Response, ureq::Error>) -> Result<Value, ClientError> {
        match r {
            Ok(resp) => read_json(resp, MAX_ANSWER).map_err(ClientError::BadAnswer),
            Err(ureq::Error::Status(status, resp)) => {
                let body: Value = read_json(resp, MAX_ERROR_ANSWER).unwrap_or(Value::Null);
                Err(ClientError::Api {
                    status,
                    code: body["error"].as_str().unwrap_or("unknown").to_owned(),
                    message: body["message"].as_str().unwrap_or("").to_owned(),
                })
            }
            Err(e) => Err(ClientError::Transport(e.to_string())),
        }
    }

    /// GET a path (with query) and parse the JSON answer. A signed read is bound to the node
    /// called (it answers that node's view for this party, so no other node may replay it).
    pub fn get(&self, path: &str) -> Result<Value, ClientError> {
        let req = self.agent.get(&format!("{}{path}", self.base));
        Self::answer(self.authorise(req, None)?.call())
    }

    /// POST JSON to a path and parse the JSON answer.
    pub fn post(&self, path: &str, body: &Value) -> Result<Value, ClientError> {
        // Serialised once: the bytes sent are the bytes whose digest is signed.
        let bytes = serde_json::to_vec(body).expect("a JSON value always serialises");
        let req = self
            .agent
            .post(&format!("{}{path}", self.base))
            .set("Content-Type", "application/json");
        Self::answer(self.authorise(req, Some(&bytes))?.send_bytes(&bytes))
    }

    /// Submits a transaction; answers its hash.
    pub fn submit(&self, tx: &Transaction) -> Result<Hash, ClientError> {
        let v = self.post("/v1/transactions", &tx.to_json())?;
        let submitted: Submitted = serde_json::from_value(v)
            .map_err(|e| ClientError::BadAnswer(format!("to a submission: {e}")))?;
        // The hash is the transaction's own: a node answering another one's (a transaction
        // included long ago, say) would have its status followed in place of this one's.
        if submitted.hash != tx.hash() {
            return Err(ClientError::BadAnswer(format!(
                "the node answered the hash {} for a transaction whose hash is {}",
                hex::encode(submitted.hash),
                hex::encode(tx.hash())
            )));
        }
        Ok(submitted.hash)
    }

    /// Where a transaction stands, waiting up to `wait` (at most [`MAX_WAIT_MS`]) while it is
    /// pending.
    pub fn tx_status(&self, hash: &Hash, wait: Duration) -> Result<TxState, ClientError> {
        let wait_ms = wait.as_millis().min(u128::from(MAX_WAIT_MS)) as u64;
        let v = self.get(&format!(
            "/v1/transactions/{}?wait_ms={wait_ms}",
            hex::encode(hash)
        ))?;
        let state: TxState = serde_json::from_value(v)
            .map_err(|e| ClientError::BadAnswer(format!("transaction status: {e}")))?;
        if state.hash != *hash {
            return Err(ClientError::BadAnswer(format!(
                "the node answered the status of transaction {} when asked for {}",
                hex::encode(state.hash),
                hex::encode(hash)
            )));
        }
        Ok(state)
    }

    /// [`Client::tx_status`], asked as the transaction's signer (`signer`: its party id and
    /// key) when this client signs as no party: a node tells a refusal's reason to the
    /// transaction's signer by its own signature (customs and auditors aside), and a role token
    /// its code only. Should the node refuse the signed request (no authority it answers to is
    /// the URL's, or the signer's key changed meanwhile), asks again with the token alone.
    pub fn tx_status_as(
        &self,
        hash: &Hash,
        wait: Duration,
        signer: (&str, &PrivateKey),
    ) -> Result<TxState, ClientError> {
        if self.party.is_some() {
            return self.tx_status(hash, wait);
        }
        let Ok(signed) = self.clone().with_party(signer.0, signer.1.clone()) else {
            return self.tx_status(hash, wait);
        };
        match signed.tx_status(hash, wait) {
            Err(ClientError::Api {
                status: 401 | 421, ..
            }) => self.tx_status(hash, wait),
            answer => answer,
        }
    }

    /// Waits until a transaction is included or rejected, up to `timeout`.
    pub fn wait(&self, hash: &Hash, timeout: Duration) -> Result<TxState, ClientError> {
        self.wait_with(hash, timeout, |left| self.tx_status(hash, left))
    }

    /// [`Client::wait`], asking as the transaction's signer ([`Client::tx_status_as`]).
    pub fn wait_as(
        &self,
        hash: &Hash,
        timeout: Duration,
        signer: (&str, &PrivateKey),
    ) -> Result<TxState, ClientError> {
        self.wait_with(hash, timeout, |left| self.tx_status_as(hash, left, signer))
    }

    fn wait_with(
        &self,
        hash: &Hash,
        timeout: Duration,
        status: impl Fn(Duration) -> Result<TxState, ClientError>,
    ) -> Result<TxState, ClientError> {
        let start = Instant::now();
        loop {
            let left = timeout.saturating_sub(start.elapsed());
            let asked = Instant::now();
            let state = status(left)?;
            if state.status != TxStatusKind::Pending {
                return Ok(state);
            }
            if start.elapsed() >= timeout {
                return Err(ClientError::StillPending(hex::encode(hash)));
            }
            let pause = MIN_POLL
                .saturating_sub(asked.elapsed())
                .min(timeout.saturating_sub(start.elapsed()));
            std::thread::sleep(pause);
        }
    }

    fn document_path(id: &DocumentKey) -> String {
        format!("/v1/documents/{}/{}/{}", id.ucr, id.doc_type, id.version)
    }

    /// Uploads the bytes of an anchored document with its access list (roles that may read it
    /// besides the trader); answers the node's record of it.
    pub fn put_document(
        &self,
        id: &DocumentKey,
        bytes: &[u8],
        readers: &[Reader],
    ) -> Result<Value, ClientError> {
        let readers: Vec<String> = readers.iter().map(ToString::to_string).collect();
        let req = self
            .agent
            .post(&format!("{}{}", self.base, Self::document_path(id)))
            .query("readers", &readers.join(","))
            .set("Content-Type", "application/octet-stream");
        Self::answer(self.authorise(req, Some(bytes))?.send_bytes(bytes))
    }

    /// Reads a document's bytes (at most `max_bytes`).
    pub fn get_document(&self, id: &DocumentKey, max_bytes: usize) -> Result<Vec<u8>, ClientError> {
        let req = self
            .agent
            .get(&format!("{}{}", self.base, Self::document_path(id)));
        let r = self.authorise(req, None)?.call();
        match r {
            Ok(resp) => {
                let mut bytes = Vec::new();
                std::io::Read::read_to_end(
                    &mut std::io::Read::take(resp.into_reader(), max_bytes as u64 + 1),
                    &mut bytes,
                )
                .map_err(|e| ClientError::Transport(e.to_string()))?;
                if bytes.len() > max_bytes {
                    return Err(ClientError::Transport(format!(
                        "the document is larger than {max_bytes} bytes"
                    )));
                }
                Ok(bytes)
            }
            Err(e) => Self::answer(Err(e)).map(|_| Vec::new()),
        }
    }

    /// Forgets a document (its key is destroyed on the node); answers the node's record of it.
    pub fn forget_document(&self, id: &DocumentKey) -> Result<Value, ClientError> {
        let req = self
            .agent
            .delete(&format!("{}{}", self.base, Self::document_path(id)));
        Self::answer(self.authorise(req, None)?.call())
    }

    /// The node's status.
    pub fn status(&self) -> Result<Value, ClientError> {
        self.get("/v1/status")
    }

    /// The chain id (genesis hash) the node runs.
    pub fn chain_id(&self) -> Result<Hash, ClientError> {
        let v = self.status()?;
        v["chain_id"]
            .as_str()
            .and_then(parse_hash)
            .ok_or_else(|| ClientError::BadAnswer("the node answered no chain id".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use zkcustoms_ledger_types::crypto::{self, PublicKey};
    use zkcustoms_ledger_types::http_signature::{
        verify_request_at, SignatureHeaders, VerifiedRequest, DEFAULT_WINDOW_SECS,
    };
    use zkcustoms_ledger_types::tx::Ucr;

    const PARTY: &str = "DE123456789012345";

    fn now() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    /// One request as it arrived on the socket.
    struct Received {
        method: String,
        target: String,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    }

    impl Received {
        fn all(&self, name: &str) -> Vec<&str> {
            self.headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
                .collect()
        }

        fn verify(&self, key: &PublicKey) -> Result<VerifiedRequest, HttpSignatureError> {
            let headers = SignatureHeaders {
                signature_input: self.all("Signature-Input"),
                signature: self.all("Signature"),
                content_digest: self.all("Content-Digest"),
            };
            let resolve = |id: &str| (id == PARTY).then(|| key.clone());
            // Verified as a node does: over the `Host` the request arrived with.
            verify_request_at(
                &headers,
                self.all("Host").first().copied(),
                &self.method,
                &self.target,
                &self.body,
                resolve,
                now(),
                DEFAULT_WINDOW_SECS,
            )
        }
    }

    #[test]
    fn a_node_s_text_is_printed_with_its_control_characters_escaped() {
        let e = ClientError::Api {
            status: 422,
            code: "bad\u{1b}[2K".into(),
            message: "\u{1b}]0;owned\u{7}\r\nincluded \u{9b}31m".into(),
        };
        let shown = e.to_string();
        assert!(!shown.chars().any(char::is_control), "{shown:?}");
        assert!(shown.contains("\\u{1b}]0;owned"), "{shown}");
        let e = ClientError::BadAnswer("\u{1b}[1A".into());
        assert!(!e.to_string().chars().any(char::is_control));
        // Text without control characters is shown as it is.
        assert_eq!(
            printable("Zollamt Hamburg: prüfen"),
            "Zollamt Hamburg: prüfen"
        );
    }

    #[test]
    fn a_node_answering_pending_at_once_is_not_asked_in_a_tight_loop() {
        let client = Client::new("http://127.0.0.1:9", "token");
        let hash = [7u8; 32];
        let asked = std::cell::Cell::new(0u32);
        let pending = |_left: Duration| {
            asked.set(asked.get() + 1);
            Ok(TxState {
                hash,
                status: TxStatusKind::Pending,
                height: None,
                index: None,
                block: None,
                reason: None,
            })
        };
        let e = client
            .wait_with(&hash, Duration::from_secs(1), pending)
            .unwrap_err();
        assert!(matches!(e, ClientError::StillPending(_)), "{e}");
        // At most one question per MIN_POLL (and one at the deadline).
        assert!((2..=5).contains(&asked.get()), "{}", asked.get());
    }

    /// Opens a socket that reads one request and answers `answer` (JSON) with 200: its base URL,
    /// and the thread that gives back what arrived.
    fn serve_once(answer: String) -> (String, std::thread::JoinHandle<Received>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let reader = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut r = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            let mut parts = line.split_whitespace();
            let method = parts.next().unwrap().to_owned();
            let target = parts.next().unwrap().to_owned();
            let mut headers = Vec::new();
            loop {
                line.clear();
                r.read_line(&mut line).unwrap();
                let l = line.trim_end_matches(['\r', '\n']);
                if l.is_empty() {
                    break;
                }
                let (n, v) = l.split_once(':').unwrap();
                headers.push((n.to_owned(), v.trim().to_owned()));
            }
            let len = headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                .map_or(0, |(_, v)| v.parse().unwrap());
            let mut body = vec![0u8; len];
            r.read_exact(&mut body).unwrap();
            let mut w = stream;
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n",
                answer.len()
            );
            w.write_all(head.as_bytes()).unwrap();
            w.write_all(answer.as_bytes()).unwrap();
            Received {
                method,
                target,
                headers,
                body,
            }
        });
        (base, reader)
    }

    /// Runs `send` with the client that `client` makes for a socket that answers `{}`, and gives
    /// back what arrived.
    fn capture<T>(
        client: impl FnOnce(&str) -> Client,
        send: impl FnOnce(&Client) -> Result<T, ClientError>,
    ) -> Received {
        let (base, reader) = serve_once("{}".into());
        send(&client(&base)).unwrap();
        reader.join().unwrap()
    }

    /// A socket that answers one request `answer` (JSON): its base URL.
    fn answering(answer: String) -> String {
        serve_once(answer).0
    }

    /// A node answering a submission with another transaction's hash, or the status of another
    /// transaction than the one asked for, gets a `BadAnswer`: its answer is not taken for this
    /// transaction's.
    #[test]
    fn answers_about_another_transaction_are_refused() {
        let chain = [3; 32];
        let key = crypto::generate();
        let tx = Transaction::MarkExamination(zkcustoms_ledger_types::tx::MarkExamination::sign(
            &chain,
            &key,
            Ucr::parse("9DE123-X").unwrap(),
            "DE-HAMBURG",
        ));
        let own = hex::encode(tx.hash());
        let other = hex::encode([9u8; 32]);
        let submitted = |hash: &str| {
            let base = answering(json!({"hash": hash, "status": "pending"}).to_string());
            Client::new(&base, "tok").submit(&tx)
        };
        assert_eq!(submitted(&own).unwrap(), tx.hash());
        match submitted(&other) {
            Err(ClientError::BadAnswer(m)) => assert!(m.contains(&other), "{m}"),
            answer => panic!("another transaction's hash: {answer:?}"),
        }
        let status = |hash: &str| {
            let state = json!({"hash": hash, "status": "included", "height": 4, "index": 0,
                "block": hex::encode([1u8; 32])});
            Client::new(&answering(state.to_string()), "tok").tx_status(&tx.hash(), Duration::ZERO)
        };
        assert_eq!(status(&own).unwrap().height, Some(4));
        match status(&other) {
            Err(ClientError::BadAnswer(m)) => assert!(m.contains(&other), "{m}"),
            answer => panic!("another transaction's status: {answer:?}"),
        }
    }

    /// A node that answers without end (here, a JSON array streamed as fast as it goes) gets a
    /// `BadAnswer` once the answer passes [`MAX_ANSWER`], not the client's memory.
    #[test]
    fn an_endless_answer_is_cut_off() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut r = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while r.read_line(&mut line).unwrap() > 2 {
                line.clear();
            }
            let mut w = stream;
            w.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n[")
                .unwrap();
            let chunk = "0,".repeat(32 << 10);
            let mut sent = 0u64;
            // Until the client hangs up (or far past the bound, should it never).
            while sent <= 2 * MAX_ANSWER && w.write_all(chunk.as_bytes()).is_ok() {
                sent += chunk.len() as u64;
            }
            sent
        });
        match Client::new(&base, "token").get("/v1/blocks/1") {
            Err(ClientError::BadAnswer(m)) => assert!(m.contains("longer than"), "{m}"),
            other => panic!("an endless answer: {other:?}"),
        }
        let sent = server.join().unwrap();
        assert!(sent <= 2 * MAX_ANSWER, "the client read on after the bound");
    }

    #[test]
    fn signed_requests_verify_as_they_arrive() {
        let key = crypto::generate();
        let public = crypto::public_of(&key);
        let client = |base: &str| {
            Client::new(base, "tok")
                .with_party(PARTY, key.clone())
                .unwrap()
        };

        let post = capture(client, |c| {
            c.post("/v1/transactions?wait_ms=0", &json!({"hello": "world"}))
        });
        assert_eq!(post.method, "POST");
        assert_eq!(post.target, "/v1/transactions?wait_ms=0");
        assert_eq!(post.body, br#"{"hello":"world"}"#);
        assert_eq!(post.all("Authorization"), ["Bearer tok"]);
        assert_eq!(post.all("Content-Type"), ["application/json"]);
        assert_eq!(post.all("Content-Digest").len(), 1);
        let v = post.verify(&public).unwrap();
        assert_eq!(v.party_id, PARTY);
        let host = post.all("Host")[0].to_owned();
        assert_eq!(
            v.authority.as_deref(),
            Some(host.as_str()),
            "a submission is bound to the node called"
        );
        assert!(v.created.abs_diff(now()) <= 5);

        let get = capture(client, |c| c.get("/v1/transactions/ab?wait_ms=5"));
        assert_eq!(get.method, "GET");
        assert!(get.all("Content-Digest").is_empty());
        let v2 = get.verify(&public).unwrap();
        assert_ne!(v.nonce, v2.nonce, "every request has a fresh nonce");
        let host = get.all("Host")[0].to_owned();
        assert_eq!(
            v2.authority.as_deref(),
            Some(host.as_str()),
            "a read is bound to the node called"
        );

        // A query added by ureq and encoded on the way out is signed as sent.
        let id = DocumentKey {
            ucr: Ucr::parse("9DE123-X").unwrap(),
            doc_type: "invoice".into(),
            version: 1,
        };
        let put = capture(client, |c| {
            let readers = [
                Reader::Customs("DE".into()),
                Reader::Party("AUDIT-EU-1".into()),
            ];
            c.put_document(&id, b"%PDF", &readers)
        });
        assert_eq!(
            put.target,
            "/v1/documents/9DE123-X/invoice/1?readers=customs%3ADE%2CAUDIT-EU-1"
        );
        // Document requests are bound to the node called, by the `Host` ureq sends.
        let host = put.all("Host")[0].to_owned();
        assert!(host.starts_with("127.0.0.1:"), "{host}");
        let v = put.verify(&public).unwrap();
        assert_eq!(v.authority.as_deref(), Some(host.as_str()));
        let forget = capture(client, |c| c.forget_document(&id));
        assert_eq!(forget.method, "DELETE");
        assert!(forget.verify(&public).unwrap().authority.is_some());
        let read = capture(client, |c| c.get_document(&id, 16));
        assert!(read.verify(&public).unwrap().authority.is_some());

        // What arrived does not verify under another key or with another body.
        let other = crypto::public_of(&crypto::generate());
        assert_eq!(post.verify(&other).unwrap_err().code(), "bad-signature");
        let tampered = Received {
            body: br#"{"hello":"mars"}"#.to_vec(),
            ..post
        };
        assert_eq!(
            tampered.verify(&public).unwrap_err().code(),
            "content-digest-mismatch"
        );
    }

    #[test]
    fn without_a_party_only_the_token_is_sent() {
        let r = capture(|base| Client::new(base, "tok"), |c| c.status());
        assert_eq!(r.all("Authorization"), ["Bearer tok"]);
        for name in ["Signature-Input", "Signature", "Content-Digest"] {
            assert!(r.all(name).is_empty(), "{name} was sent");
        }
        assert_eq!(
            r.verify(&crypto::public_of(&crypto::generate()))
                .unwrap_err()
                .code(),
            "missing-signature"
        );
    }

    #[test]
    fn signing_needs_no_server() {
        let key = crypto::generate();
        let client = Client::new("http://node.invalid:8080/", "tok")
            .with_party(PARTY, key.clone())
            .unwrap();
        let req = client
            .agent
            .post("http://node.invalid:8080/v1/documents/U/x/1")
            .query("readers", "customs,auditor");
        let signed = client.signature(&req, Some(b"bytes")).unwrap().unwrap();
        let resolve = |id: &str| (id == PARTY).then(|| crypto::public_of(&key));
        let v = verify_request_at(
            &signed.as_received(),
            Some("node.invalid:8080"),
            "POST",
            "/v1/documents/U/x/1?readers=customs%2Cauditor",
            b"bytes",
            resolve,
            now(),
            DEFAULT_WINDOW_SECS,
        )
        .unwrap();
        assert_eq!(v.party_id, PARTY);
        assert_eq!(v.authority.as_deref(), Some("node.invalid:8080"));
        let plain = Client::new("http://node.invalid:8080", "tok");
        assert!(plain.signature(&req, None).unwrap().is_none());
    }

    #[test]
    fn debug_shows_neither_key_nor_token_and_bad_party_ids_are_refused() {
        let client = Client::new("http://node:8080", "secret-token")
            .with_party(PARTY, crypto::generate())
            .unwrap();
        assert_eq!(
            format!("{client:?}"),
            r#"Client { base: "http://node:8080", party: Some("DE123456789012345") }"#
        );
        assert_eq!(client.party(), Some(PARTY));
        for bad in ["", "DE 123", &"A".repeat(65)] {
            let err = Client::new("http://node:8080", "t")
                .with_party(bad, crypto::generate())
                .unwrap_err();
            assert!(matches!(err, ClientError::Signing(_)), "{bad:?}");
        }
    }
}
