//! The etcd backend: the store on an etcd v3 cluster, shared by several auth servers.
//!
//! - Keys live under `PREFIX/` (one etcd cluster can hold several Portcullis clusters).
//! - The store revision is etcd's revision (minus one, see [`record`]): an item's revision
//!   is its `mod_revision`, so conditional writes are etcd transactions comparing
//!   `mod_revision`, all or nothing, and every server sees the same revisions.
//! - Expiry is stored with the value, not as an etcd lease: leases have a granularity of
//!   seconds and expire keys on etcd's schedule, while the store promises that an item is
//!   absent from the moment it expires. Every read drops expired items, every conditional
//!   write checks liveness in the same transaction (see [`record::live_marker`]), and
//!   [`Backend::sweep_expired`] deletes expired items each with its own compare-and-delete,
//!   so two servers sweeping at once delete each item once.
//! - The event feed comes from one etcd watch on the prefix (see [`watch`]), resumed from the
//!   last revision seen after a reconnect.
//! - `create_all` is one transaction, and an etcd transaction is one revision: the items of
//!   a batch share that revision (the embedded backends give them consecutive ones).

pub(crate) mod record;
mod watch;

#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use etcd_client::{
    Certificate, Client, Compare, CompareOp, ConnectOptions, GetOptions, Identity, KeyValue,
    KvClient, TlsOptions, Txn, TxnOp, TxnOpResponse, TxnResponse,
};

use crate::feed::Feed;
use crate::ops::{prefix_end, range_start, PageBuilder};
use crate::{
    Backend, Error, Item, NewItem, Page, Result, Subscription, Swap, DEFAULT_FEED_CAPACITY,
};
use record::{encode, etcd_revision, live_marker, store_revision, Record};

/// How often a conditional write that lost a race with an expiring item is retried.
const MAX_ATTEMPTS: usize = 16;

/// Swaps per transaction of `compare_and_swap_each`: each compares two things (revision and
/// liveness), and etcd refuses a transaction of more than 128 compares by default
/// (`--max-txn-ops`).
const SWAPS_PER_TXN: usize = 64;

/// Keys fetched per etcd request while ranging or sweeping.
const CHUNK: i64 = 500;

/// Client certificate and trust for TLS to etcd (PEM contents).
#[derive(Clone)]
pub struct EtcdTls {
    /// CA certificates that sign etcd's server certificates.
    pub ca_pem: Vec<u8>,
    /// The client certificate (chain) presented to etcd.
    pub cert_pem: Vec<u8>,
    /// Its private key.
    pub key_pem: Vec<u8>,
}

impl std::fmt::Debug for EtcdTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdTls").finish_non_exhaustive()
    }
}

/// Where and how to reach etcd.
#[derive(Debug, Clone)]
pub struct EtcdOptions {
    /// Client URLs of the members, e.g. `https://127.0.0.1:2379`.
    pub endpoints: Vec<String>,
    /// Every key is stored under this prefix and a slash: the store key `/roles/admin`
    /// under prefix `/portcullis` is etcd's `/portcullis//roles/admin`, so that the
    /// prefixes `/a` and `/a-b` never share a key.
    pub prefix: Vec<u8>,
    /// TLS to etcd; `None` for plain HTTP.
    pub tls: Option<EtcdTls>,
    /// How long to wait for a connection to a member.
    pub dial_timeout: Duration,
    /// How long one etcd request may take before it fails.
    pub request_timeout: Duration,
    /// Events buffered per subscriber before it lags.
    pub feed_capacity: usize,
}

impl EtcdOptions {
    /// Options for `endpoints` with the defaults: prefix `/portcullis`, no TLS, 5 s dial
    /// timeout, 5 s request timeout.
    pub fn new(endpoints: Vec<String>) -> Self {
        EtcdOptions {
            endpoints,
            prefix: b"/portcullis".to_vec(),
            tls: None,
            dial_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(5),
            feed_capacity: DEFAULT_FEED_CAPACITY,
        }
    }
}

/// What the backend and its watch task share.
#[derive(Debug, Default)]
struct Shared {
    /// The latest store revision this backend has seen (writes, reads and watch events).
    revision: AtomicU64,
    /// The latest revision this backend wrote: the feed delivers up to it before it closes.
    written: AtomicU64,
}

impl Shared {
    fn saw(&self, header_revision: Option<i64>) {
        if let Some(revision) = header_revision {
            self.revision
                .fetch_max(store_revision(revision), Ordering::AcqRel);
        }
    }
}

/// A [`Backend`] on etcd v3.
pub struct EtcdBackend {
    client: Client,
    prefix: Vec<u8>,
    /// How long a request etcd cannot serve now is tried again.
    retry_for: Duration,
    shared: Arc<Shared>,
    feed: Arc<Feed>,
    /// Dropped with the backend: tells the watch task to finish.
    _stop: tokio::sync::watch::Sender<()>,
}

impl std::fmt::Debug for EtcdBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdBackend")
            .field("prefix", &self.prefix.escape_ascii().to_string())
            .finish_non_exhaustive()
    }
}

fn connect_options(options: &EtcdOptions) -> ConnectOptions {
    let mut connect = ConnectOptions::new()
        .with_connect_timeout(options.dial_timeout)
        .with_timeout(options.request_timeout)
        .with_keep_alive(Duration::from_secs(2), Duration::from_secs(2))
        .with_keep_alive_while_idle(true);
    if let Some(tls) = &options.tls {
        connect = connect.with_tls(
            TlsOptions::new()
                .ca_certificate(Certificate::from_pem(&tls.ca_pem))
                .identity(Identity::from_pem(&tls.cert_pem, &tls.key_pem)),
        );
    }
    connect
}

impl EtcdBackend {
    /// Connects to etcd and starts following its events. Fails if no member answers
    /// within the dial timeout.
    pub async fn connect(options: EtcdOptions) -> Result<Self> {
        let endpoints = options.endpoints.join(",");
        let connect_error = |source: etcd_client::Error| Error::Connect {
            endpoints: endpoints.clone(),
            source: Box::new(source),
        };
        if options.endpoints.is_empty() {
            return Err(Error::Connect {
                endpoints: "(none)".to_owned(),
                source: "no etcd endpoints configured".into(),
            });
        }
        let mut client = Client::connect(&options.endpoints, Some(connect_options(&options)))
            .await
            .map_err(connect_error)?;
        let mut namespace = options.prefix.clone();
        namespace.push(b'/');
        // The revision the feed starts after: a read answers with etcd's current one.
        let response = client
            .get(namespace.clone(), Some(GetOptions::new().with_count_only()))
            .await
            .map_err(connect_error)?;
        let start = response.header().map_or(1, |h| h.revision());
        let shared = Arc::new(Shared::default());
        shared.saw(Some(start));
        let feed = Arc::new(Feed::new(options.feed_capacity));
        let (stop, stopped) = tokio::sync::watch::channel(());
        tokio::spawn(
            watch::Follower {
                client: client.clone(),
                prefix: namespace.clone(),
                shared: shared.clone(),
                feed: feed.clone(),
            }
            .run(start, stopped),
        );
        Ok(EtcdBackend {
            client,
            prefix: namespace,
            retry_for: options.request_timeout,
            shared,
            feed,
            _stop: stop,
        })
    }

    fn full_key(&self, key: &[u8]) -> Vec<u8> {
        let mut full = Vec::with_capacity(self.prefix.len() + key.len());
        full.extend_from_slice(&self.prefix);
        full.extend_from_slice(key);
        full
    }

    /// The live item of `kv` at `now`, if it is live.
    fn live(&self, kv: &KeyValue, now: SystemTime) -> Result<Option<Item>> {
        let key = kv
            .key()
            .get(self.prefix.len()..)
            .unwrap_or_default()
            .to_vec();
        let record = Record::decode(&key, kv.value())?;
        if record.is_expired(now) {
            return Ok(None);
        }
        Ok(Some(record.into_item(key, kv.mod_revision())))
    }

    /// Runs `op` on a KV client, again while etcd answers that it cannot serve it now (no
    /// leader, the leader changed, a member is down) and the retry budget lasts. Returns
    /// the answer and whether an earlier attempt went unanswered: for a write, that attempt
    /// may have been applied (see [`Landed`]).
    async fn again<T, F, Fut>(&self, mut op: F) -> Result<(T, bool)>
    where
        F: FnMut(KvClient) -> Fut,
        Fut: std::future::Future<Output = std::result::Result<T, etcd_client::Error>>,
    {
        let deadline = tokio::time::Instant::now() + self.retry_for;
        let mut pause = Duration::from_millis(50);
        let mut retried = false;
        loop {
            match op(self.client.kv_client()).await {
                Ok(value) => return Ok((value, retried)),
                Err(e) if transient(&e) && tokio::time::Instant::now() + pause < deadline => {
                    tracing::debug!(error = %e, "etcd could not serve a request; trying again");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(500));
                    retried = true;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    async fn txn(&self, txn: Txn) -> Result<(TxnResponse, bool)> {
        let (response, retried) = self
            .again(|mut kv| {
                let txn = txn.clone();
                async move { kv.txn(txn).await }
            })
            .await?;
        self.shared.saw(response.header().map(|h| h.revision()));
        Ok((response, retried))
    }

    /// Records a write at etcd revision `revision` (from a response header).
    fn wrote(&self, header: Option<&etcd_client::ResponseHeader>) -> Result<u64> {
        let revision = header
            .map(|h| h.revision())
            .ok_or_else(|| Error::Storage("etcd answered a write without a header".into()))?;
        self.shared.saw(Some(revision));
        let revision = store_revision(revision);
        self.shared.written.fetch_max(revision, Ordering::AcqRel);
        Ok(revision)
    }

    /// A conditional put of `key`: when `when` holds, stores the value; otherwise returns
    /// what is there now (`Err` carries the current key-value, if any).
    async fn put_when(
        &self,
        full: &[u8],
        when: Vec<Compare>,
        value: &[u8],
        expires: Option<SystemTime>,
    ) -> Result<std::result::Result<u64, Option<KeyValue>>> {
        let encoded = encode(value, expires);
        let txn = Txn::new()
            .when(when)
            .and_then([TxnOp::put(full, encoded.clone(), None)])
            .or_else([TxnOp::get(full, None)]);
        self.finish_conditional(full, txn, Landed::Holds(&encoded))
            .await
    }

    async fn delete_when(
        &self,
        full: &[u8],
        when: Vec<Compare>,
    ) -> Result<std::result::Result<u64, Option<KeyValue>>> {
        let txn = Txn::new()
            .when(when)
            .and_then([TxnOp::delete(full, None)])
            .or_else([TxnOp::get(full, None)]);
        self.finish_conditional(full, txn, Landed::Absent).await
    }

    async fn finish_conditional(
        &self,
        full: &[u8],
        txn: Txn,
        landed: Landed<'_>,
    ) -> Result<std::result::Result<u64, Option<KeyValue>>> {
        let (response, retried) = self.txn(txn).await?;
        if response.succeeded() {
            return Ok(Ok(self.wrote(response.header())?));
        }
        let current = response
            .op_responses()
            .into_iter()
            .find_map(|op| match op {
                TxnOpResponse::Get(get) => {
                    Some(get.kvs().iter().find(|kv| kv.key() == full).cloned())
                }
                _ => None,
            })
            .flatten();
        if retried {
            // An unanswered attempt may have been the one that wrote: the key is in the
            // state this write leaves it in.
            match (landed, &current) {
                (Landed::Holds(value), Some(kv)) if kv.value() == value => {
                    return Ok(Ok(store_revision(kv.mod_revision())));
                }
                (Landed::Absent, None) => return Ok(Ok(self.wrote(response.header())?)),
                _ => {}
            }
        }
        Ok(Err(current))
    }

    /// Explains a failed compare-and-swap or delete_if from what is stored now.
    fn mismatch(
        &self,
        key: &[u8],
        expected: u64,
        current: Option<KeyValue>,
        now: SystemTime,
    ) -> Result<Error> {
        let live = match current {
            Some(kv) => self.live(&kv, now)?,
            None => None,
        };
        Ok(match live {
            Some(item) if item.revision != expected => Error::RevisionMismatch {
                key: key.to_vec(),
                expected,
                actual: item.revision,
            },
            _ => Error::NotFound { key: key.to_vec() },
        })
    }

    /// The conditions of a compare-and-swap or `delete_if` of `full` (an etcd key) at `now`:
    /// the item has the store revision `expected` and is live.
    fn live_at(full: &[u8], expected: u64, now: SystemTime) -> [Compare; 2] {
        [
            Compare::mod_revision(full.to_vec(), CompareOp::Equal, etcd_revision(expected)),
            Compare::value(full.to_vec(), CompareOp::Greater, live_marker(now)),
        ]
    }

    /// Swaps `indices` (into `swaps`, distinct keys, at most [`SWAPS_PER_TXN`]) in one
    /// transaction, and sets their results. When one of them fails, the transaction writes
    /// nothing and reads them all instead: those that fail get their error, and the others
    /// are tried again together.
    async fn swap_together(
        &self,
        swaps: &[Swap],
        indices: &[usize],
        results: &mut [Option<Result<Item>>],
    ) -> Result<()> {
        // Per swap still to do: its index, etcd key and stored bytes.
        let mut todo: Vec<(usize, Vec<u8>, Vec<u8>)> = indices
            .iter()
            .map(|&i| {
                let swap = &swaps[i];
                (
                    i,
                    self.full_key(&swap.key),
                    encode(&swap.value, swap.expires),
                )
            })
            .collect();
        let written = |swap: &Swap, revision: u64| {
            Some(Ok(Item {
                key: swap.key.clone(),
                value: swap.value.clone(),
                revision,
                expires: swap.expires,
            }))
        };
        // Whether an attempt went unanswered (it may have been applied).
        let mut unanswered = false;
        for _ in 0..MAX_ATTEMPTS {
            if todo.is_empty() {
                return Ok(());
            }
            let now = portcullis_clock::now();
            let mut when = Vec::with_capacity(2 * todo.len());
            let (mut puts, mut reads) = (Vec::new(), Vec::new());
            for (i, full, encoded) in &todo {
                when.extend(Self::live_at(full, swaps[*i].expected_revision, now));
                puts.push(TxnOp::put(full.clone(), encoded.clone(), None));
                reads.push(TxnOp::get(full.clone(), None));
            }
            let txn = Txn::new().when(when).and_then(puts).or_else(reads);
            let (response, retried) = self.txn(txn).await?;
            unanswered |= retried;
            if response.succeeded() {
                let revision = self.wrote(response.header())?;
                for (i, _, _) in todo {
                    results[i] = written(&swaps[i], revision);
                }
                return Ok(());
            }
            let responses = response.op_responses();
            if responses.len() != todo.len() {
                return Err(Error::Storage("etcd answered reads out of order".into()));
            }
            let mut again = Vec::with_capacity(todo.len());
            for ((i, full, encoded), op) in todo.into_iter().zip(responses) {
                let TxnOpResponse::Get(get) = op else {
                    return Err(Error::Storage("etcd answered reads out of order".into()));
                };
                let current = get.kvs().iter().find(|kv| kv.key() == full).cloned();
                let swap = &swaps[i];
                match &current {
                    // An unanswered attempt was the one that wrote it.
                    Some(kv) if unanswered && kv.value() == encoded => {
                        results[i] = written(swap, store_revision(kv.mod_revision()));
                        continue;
                    }
                    Some(kv) => {
                        let live = self.live(kv, now)?;
                        if live.is_some_and(|item| item.revision == swap.expected_revision) {
                            // It holds: another swap of the transaction failed.
                            again.push((i, full, encoded));
                            continue;
                        }
                    }
                    None => {}
                }
                let error = self.mismatch(&swap.key, swap.expected_revision, current, now)?;
                results[i] = Some(Err(error));
            }
            todo = again;
        }
        for (i, _, _) in todo {
            results[i] = Some(Err(contended(&swaps[i].key)));
        }
        Ok(())
    }

    /// Lists raw key-values in `[start, end)` at one etcd revision, chunk by chunk, until
    /// `visit` returns `false`.
    async fn scan(
        &self,
        mut start: Vec<u8>,
        end: Vec<u8>,
        chunk: i64,
        mut visit: impl FnMut(&KeyValue) -> Result<bool>,
    ) -> Result<()> {
        let mut at = 0;
        loop {
            let mut options = GetOptions::new().with_range(end.clone()).with_limit(chunk);
            if at > 0 {
                options = options.with_revision(at);
            }
            let (response, _) = self
                .again(|mut kv| {
                    let (start, options) = (start.clone(), options.clone());
                    async move { kv.get(start, Some(options)).await }
                })
                .await?;
            let revision = response.header().map(|h| h.revision());
            self.shared.saw(revision);
            if at == 0 {
                at = revision.unwrap_or(0);
            }
            for item in response.kvs() {
                if !visit(item)? {
                    return Ok(());
                }
            }
            match response.kvs().last() {
                Some(last) if response.more() => {
                    start = last.key().to_vec();
                    start.push(0);
                }
                _ => return Ok(()),
            }
        }
    }

    /// The end of the etcd range of keys starting with `full_prefix`.
    fn range_end(full_prefix: &[u8]) -> Vec<u8> {
        // Only a prefix of nothing but 0xff bytes has no end: then every key from it on.
        prefix_end(full_prefix).unwrap_or_else(|| vec![0])
    }
}

#[async_trait::async_trait]
impl Backend for EtcdBackend {
    async fn get(&self, key: &[u8]) -> Result<Option<Item>> {
        let full = self.full_key(key);
        let (response, _) = self
            .again(|mut kv| {
                let full = full.clone();
                async move { kv.get(full, None).await }
            })
            .await?;
        self.shared.saw(response.header().map(|h| h.revision()));
        match response.kvs().first() {
            Some(kv) => self.live(kv, portcullis_clock::now()),
            None => Ok(None),
        }
    }

    async fn put(&self, key: &[u8], value: Vec<u8>, expires: Option<SystemTime>) -> Result<Item> {
        let full = self.full_key(key);
        let encoded = encode(&value, expires);
        // Writing the same value twice is harmless: an unanswered attempt is repeated.
        let (response, _) = self
            .again(|mut kv| {
                let (full, encoded) = (full.clone(), encoded.clone());
                async move { kv.put(full, encoded, None).await }
            })
            .await?;
        let revision = self.wrote(response.header())?;
        Ok(Item {
            key: key.to_vec(),
            value,
            revision,
            expires,
        })
    }

    async fn create(
        &self,
        key: &[u8],
        value: Vec<u8>,
        expires: Option<SystemTime>,
    ) -> Result<Item> {
        let full = self.full_key(key);
        // Absent (mod_revision 0), or an expired item at a known revision.
        let mut expect = 0;
        for _ in 0..MAX_ATTEMPTS {
            let when = vec![Compare::mod_revision(
                full.clone(),
                CompareOp::Equal,
                expect,
            )];
            match self.put_when(&full, when, &value, expires).await? {
                Ok(revision) => {
                    return Ok(Item {
                        key: key.to_vec(),
                        value,
                        revision,
                        expires,
                    })
                }
                Err(None) => expect = 0,
                Err(Some(kv)) => match self.live(&kv, portcullis_clock::now())? {
                    Some(_) => return Err(Error::AlreadyExists { key: key.to_vec() }),
                    None => expect = kv.mod_revision(),
                },
            }
        }
        Err(contended(key))
    }

    async fn create_all(&self, items: Vec<NewItem>) -> Result<Vec<Item>> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let mut seen = HashSet::new();
        if let Some(twice) = items.iter().find(|item| !seen.insert(&item.key)) {
            return Err(Error::AlreadyExists {
                key: twice.key.clone(),
            });
        }
        let fulls: Vec<Vec<u8>> = items.iter().map(|item| self.full_key(&item.key)).collect();
        let encoded: Vec<Vec<u8>> = items
            .iter()
            .map(|item| encode(&item.value, item.expires))
            .collect();
        // Whether a batch write went unanswered (it may have been applied).
        let mut unanswered = false;
        for _ in 0..MAX_ATTEMPTS {
            // What each key holds now: absent, or an expired item that may be replaced.
            let reads = Txn::new().and_then(
                fulls
                    .iter()
                    .map(|full| TxnOp::get(full.clone(), None))
                    .collect::<Vec<_>>(),
            );
            let (read, _) = self.txn(reads).await?;
            if unanswered {
                if let Some(revision) = batch_revision(&read, &encoded) {
                    return Ok(stamped(items, revision));
                }
            }
            let now = portcullis_clock::now();
            let mut when = Vec::with_capacity(items.len());
            for (n, op) in read.op_responses().into_iter().enumerate() {
                let (TxnOpResponse::Get(get), Some(full)) = (op, fulls.get(n)) else {
                    return Err(Error::Storage("etcd answered reads out of order".into()));
                };
                let revision = match get.kvs().first() {
                    Some(kv) if self.live(kv, now)?.is_some() => {
                        return Err(Error::AlreadyExists {
                            key: items[n].key.clone(),
                        })
                    }
                    Some(kv) => kv.mod_revision(),
                    None => 0,
                };
                when.push(Compare::mod_revision(
                    full.clone(),
                    CompareOp::Equal,
                    revision,
                ));
            }
            let puts: Vec<TxnOp> = encoded
                .iter()
                .zip(&fulls)
                .map(|(value, full)| TxnOp::put(full.clone(), value.clone(), None))
                .collect();
            let (response, retried) = self.txn(Txn::new().when(when).and_then(puts)).await?;
            unanswered |= retried;
            if response.succeeded() {
                let revision = self.wrote(response.header())?;
                return Ok(stamped(items, revision));
            }
        }
        Err(contended(&items[0].key))
    }

    async fn compare_and_swap(
        &self,
        key: &[u8],
        expected_revision: u64,
        value: Vec<u8>,
        expires: Option<SystemTime>,
    ) -> Result<Item> {
        let full = self.full_key(key);
        let now = portcullis_clock::now();
        let when = Self::live_at(&full, expected_revision, now).to_vec();
        match self.put_when(&full, when, &value, expires).await? {
            Ok(revision) => Ok(Item {
                key: key.to_vec(),
                value,
                revision,
                expires,
            }),
            Err(current) => Err(self.mismatch(key, expected_revision, current, now)?),
        }
    }

    async fn compare_and_swap_each(&self, swaps: Vec<Swap>) -> Result<Vec<Result<Item>>> {
        let mut results: Vec<Option<Result<Item>>> = swaps.iter().map(|_| None).collect();
        let mut seen = HashSet::new();
        let mut todo = Vec::with_capacity(swaps.len());
        for (i, swap) in swaps.iter().enumerate() {
            if seen.insert(swap.key.as_slice()) {
                todo.push(i);
            } else {
                results[i] = Some(Err(Error::AlreadyExists {
                    key: swap.key.clone(),
                }));
            }
        }
        for chunk in todo.chunks(SWAPS_PER_TXN) {
            self.swap_together(&swaps, chunk, &mut results).await?;
        }
        Ok(results
            .into_iter()
            .map(|result| {
                result.unwrap_or_else(|| Err(Error::Storage("a swap got no result".into())))
            })
            .collect())
    }

    async fn delete(&self, key: &[u8]) -> Result<u64> {
        let full = self.full_key(key);
        let when = vec![Compare::value(
            full.clone(),
            CompareOp::Greater,
            live_marker(portcullis_clock::now()),
        )];
        match self.delete_when(&full, when).await? {
            Ok(revision) => Ok(revision),
            Err(_) => Err(Error::NotFound { key: key.to_vec() }),
        }
    }

    async fn delete_if(&self, key: &[u8], expected_revision: u64) -> Result<u64> {
        let full = self.full_key(key);
        let now = portcullis_clock::now();
        let when = Self::live_at(&full, expected_revision, now).to_vec();
        match self.delete_when(&full, when).await? {
            Ok(revision) => Ok(revision),
            Err(current) => Err(self.mismatch(key, expected_revision, current, now)?),
        }
    }

    async fn range(&self, prefix: &[u8], start_after: Option<&[u8]>, limit: usize) -> Result<Page> {
        let full_prefix = self.full_key(prefix);
        let end = Self::range_end(&full_prefix);
        let (start, skip) = range_start(prefix, start_after);
        let mut start = self.full_key(start);
        if skip {
            // The smallest key after `start_after`.
            start.push(0);
        }
        // One more than the page holds tells whether another page follows; 0 = no limit.
        let chunk = if limit == 0 {
            0
        } else {
            i64::try_from(limit).unwrap_or(CHUNK).saturating_add(1)
        };
        let now = portcullis_clock::now();
        let mut page = PageBuilder::new(limit);
        self.scan(start, end, chunk, |kv| {
            Ok(match self.live(kv, now)? {
                Some(item) => page.push(item),
                None => true,
            })
        })
        .await?;
        Ok(page.finish())
    }

    fn subscribe(&self) -> Subscription {
        self.feed.subscribe(|| self.current_revision())
    }

    fn current_revision(&self) -> u64 {
        self.shared.revision.load(Ordering::Acquire)
    }

    async fn sweep_expired(&self) -> Result<usize> {
        let now = portcullis_clock::now();
        let mut expired = Vec::new();
        let end = Self::range_end(&self.prefix);
        self.scan(self.prefix.clone(), end, CHUNK, |kv| {
            if self.live(kv, now)?.is_none() {
                expired.push((kv.key().to_vec(), kv.mod_revision()));
            }
            Ok(true)
        })
        .await?;
        let mut deleted = 0;
        for (full, revision) in expired {
            // Only the expired version: a server that renewed the item in the meantime, or
            // another server's sweep that deleted it first, wins.
            let when = vec![Compare::mod_revision(
                full.clone(),
                CompareOp::Equal,
                revision,
            )];
            if self.delete_when(&full, when).await?.is_ok() {
                deleted += 1;
            }
        }
        Ok(deleted)
    }
}

/// The items of a batch written at `revision`.
fn stamped(items: Vec<NewItem>, revision: u64) -> Vec<Item> {
    items
        .into_iter()
        .map(|item| Item {
            key: item.key,
            value: item.value,
            revision,
            expires: item.expires,
        })
        .collect()
}

/// The store revision of a batch found written by `read` (one get per item, in order):
/// every key holds its item's value, all written by one transaction.
fn batch_revision(read: &TxnResponse, encoded: &[Vec<u8>]) -> Option<u64> {
    let mut revision = None;
    let responses = read.op_responses();
    if responses.len() != encoded.len() {
        return None;
    }
    for (op, value) in responses.iter().zip(encoded) {
        let TxnOpResponse::Get(get) = op else {
            return None;
        };
        let kv = get
            .kvs()
            .first()
            .filter(|kv| kv.value() == value.as_slice())?;
        if *revision.get_or_insert(kv.mod_revision()) != kv.mod_revision() {
            return None;
        }
    }
    revision.map(store_revision)
}

/// What a conditional write leaves its key as: holding this etcd value, or absent.
#[derive(Clone, Copy)]
enum Landed<'a> {
    Holds(&'a [u8]),
    Absent,
}

/// Whether etcd could not serve a request for now (no leader, a leader change, a member
/// or the connection down): worth trying again.
fn transient(error: &etcd_client::Error) -> bool {
    match error {
        etcd_client::Error::GRpcStatus(status) => status.code() == tonic::Code::Unavailable,
        etcd_client::Error::TransportError(_) => true,
        _ => false,
    }
}

fn contended(key: &[u8]) -> Error {
    Error::Storage(
        format!(
            "key `{}` changed under {MAX_ATTEMPTS} attempts in a row to write it",
            key.escape_ascii()
        )
        .into(),
    )
}
