//! Checking the audit log's hash chains (`VerifyAuditLog`, `pctl audit verify`).
//!
//! The events are read in key (time) order and grouped by chain. Each event must be stored
//! under its own id and match its digest (else it was **altered**, or moved); each must
//! link to the one before it in its chain: the next seq, with the previous digest (a seq
//! that jumps ahead follows **removed** events, one that goes back is **reordered**, and a
//! link that names another digest means the event before was altered and its digest
//! recomputed). Then each chain's head record must not be ahead of the chain's last
//! stored event (else its newest events were **removed**) and must match it. Only the
//! first problem of each chain is reported; records that do not decode are reported by key.
//!
//! Where a chain's events begin: old events leave the log after [`RETENTION`], and with
//! them the start of their chain, so the first event of each chain in the checked range is
//! taken as its anchor and checked from there on. A chain that began less than
//! [`RETENTION`] ago has lost nothing to retention, so over the whole log (no `since`) its
//! first event must be its seq 0. The head records are read before the events, so events
//! written while the check runs are never mistaken for removed ones.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{SystemTime, UNIX_EPOCH};

use super::chain::{ChainHead, HEADS};
use super::record::{self, Stored};
use super::{key, AuditError, AuditLog, PREFIX, RETENTION};
use crate::resources::ResourceError;

/// One problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The event (its id as stored) that is altered, follows removed events, or is out of
    /// order.
    pub event_id: String,
    /// Its chain (empty when unknown).
    pub chain: String,
    /// What is wrong, in words.
    pub problem: String,
}

/// What a check found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Events checked.
    pub checked: u64,
    /// Chains seen.
    pub chains: u64,
    /// The first problem of each broken chain, in the order found; empty when intact.
    pub problems: Vec<Problem>,
}

/// Parses `since` as VerifyAuditLog gets it: an RFC 3339 time, or empty for the whole log.
pub fn parse_since(since: &str) -> Result<Option<SystemTime>, AuditError> {
    if since.is_empty() {
        return Ok(None);
    }
    humantime::parse_rfc3339_weak(since)
        .map(Some)
        .map_err(|e| AuditError::Invalid(format!("since `{since}` is not an RFC 3339 time: {e}")))
}

/// Where a chain stands in the walk.
#[derive(Debug)]
struct Link {
    seq: u64,
    digest: String,
    id: String,
}

#[derive(Debug, Default)]
struct Walk {
    report: Report,
    /// The last good event of each chain seen.
    chains: HashMap<String, Link>,
    /// Every chain an event named.
    seen: HashSet<String>,
    /// Chains with a problem reported: not checked further.
    broken: HashSet<String>,
}

impl Walk {
    fn problem(&mut self, chain: &str, event_id: &str, problem: String) {
        if self.broken.insert(chain.to_owned()) {
            self.report.problems.push(Problem {
                event_id: event_id.to_owned(),
                chain: chain.to_owned(),
                problem,
            });
        }
    }
}

impl AuditLog {
    /// Checks the chains of the events at or after `since` (all when `None`) at `now`.
    pub async fn verify(
        &self,
        since: Option<SystemTime>,
        now: SystemTime,
    ) -> Result<Report, AuditError> {
        let mut walk = Walk::default();
        let heads = self.heads(&mut walk).await?;
        let since_key = since.map(|t| {
            let nanos = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos();
            key(&format!("{nanos:020}"))
        });
        let mut cursor = since_key.clone();
        loop {
            let page = self
                .backend
                .range(PREFIX.as_bytes(), cursor.as_deref(), super::MAX_LIMIT)
                .await
                .map_err(ResourceError::Store)?;
            for item in &page.items {
                walk.report.checked += 1;
                let id = String::from_utf8_lossy(&item.key[PREFIX.len()..]).into_owned();
                check_event(&mut walk, &heads, &id, &item.value, since.is_none(), now);
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        walk.report.chains = walk.seen.len() as u64;
        check_heads(&mut walk, &heads, since_key.as_deref());
        Ok(walk.report)
    }

    /// The chains' head records, by chain; unreadable ones are reported.
    async fn heads(&self, walk: &mut Walk) -> Result<BTreeMap<String, ChainHead>, AuditError> {
        let mut heads = BTreeMap::new();
        let mut cursor: Option<Vec<u8>> = None;
        loop {
            let page = self
                .backend
                .range(HEADS.as_bytes(), cursor.as_deref(), super::MAX_LIMIT)
                .await
                .map_err(ResourceError::Store)?;
            for item in page.items {
                let chain = String::from_utf8_lossy(&item.key[HEADS.len()..]).into_owned();
                match serde_json::from_slice::<ChainHead>(&item.value) {
                    Ok(head) if head.chain == chain => {
                        heads.insert(chain, head);
                    }
                    Ok(head) => walk.problem(
                        &chain,
                        &format!("{HEADS}{chain}"),
                        format!(
                            "the chain's head record names another chain, `{}`",
                            head.chain
                        ),
                    ),
                    Err(e) => walk.problem(
                        &chain,
                        &format!("{HEADS}{chain}"),
                        format!("the chain's head record is unreadable: {e}"),
                    ),
                }
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(heads),
            }
        }
    }
}

/// The chain an event id names (`NANOS-CHAIN-SEQ`), if it has that form.
fn chain_of(id: &str) -> Option<&str> {
    let mut parts = id.split('-');
    let (_, chain, _) = (parts.next()?, parts.next()?, parts.next()?);
    parts.next().is_none().then_some(chain)
}

/// Checks the event stored under `id` against its digest and its chain.
fn check_event(
    walk: &mut Walk,
    heads: &BTreeMap<String, ChainHead>,
    id: &str,
    value: &[u8],
    whole_log: bool,
    now: SystemTime,
) {
    let (body, text, digest) = match record::decode(value) {
        Ok(Stored::Chained { body, text, digest }) => (body, text, digest),
        Ok(Stored::Unchained(_)) => {
            // Reported once, as the chain "": written before chaining, or forged.
            walk.problem(
                "",
                id,
                "not chained: it has no digest (written before the audit log was chained, or inserted)"
                    .into(),
            );
            return;
        }
        Err(reason) => {
            let chain = chain_of(id).unwrap_or_default();
            if !chain.is_empty() {
                walk.seen.insert(chain.to_owned());
            }
            walk.problem(chain, id, format!("unreadable: {reason}"));
            return;
        }
    };
    let chain = body.chain.as_str();
    walk.seen.insert(chain.to_owned());
    if walk.broken.contains(chain) {
        return;
    }
    if body.id != id {
        walk.problem(
            chain,
            id,
            format!("moved: stored under `{id}` but its id is `{}`", body.id),
        );
        return;
    }
    if record::digest(&body.prev, text.as_bytes()) != digest {
        walk.problem(
            chain,
            id,
            "altered: its content does not match its digest".into(),
        );
        return;
    }
    let problem = match walk.chains.get(chain) {
        None => anchor_problem(&body, heads.get(chain), whole_log, now),
        Some(last) if body.seq == last.seq + 1 && body.prev == last.digest => None,
        Some(last) if body.seq == last.seq + 1 => {
            let (event, last_id) = (body.id.clone(), last.id.clone());
            walk.problem(
                chain,
                &last_id,
                format!("altered: the next event `{event}` recorded another digest for it (its digest was recomputed)"),
            );
            return;
        }
        Some(last) if body.seq > last.seq => Some(format!(
            "removed: events {} to {} of its chain are missing before it (after `{}`)",
            last.seq + 1,
            body.seq - 1,
            last.id
        )),
        Some(last) => Some(format!(
            "reordered: it is seq {} of its chain but comes after seq {} (`{}`)",
            body.seq, last.seq, last.id
        )),
    };
    if let Some(problem) = problem {
        walk.problem(chain, id, problem);
        return;
    }
    walk.chains.insert(
        chain.to_owned(),
        Link {
            seq: body.seq,
            digest,
            id: body.id,
        },
    );
}

/// What is wrong with `body` as the first event of its chain in the range, if anything.
fn anchor_problem(
    body: &record::Body,
    head: Option<&ChainHead>,
    whole_log: bool,
    now: SystemTime,
) -> Option<String> {
    if body.seq == 0 {
        return (!body.prev.is_empty())
            .then(|| "altered: the first event of its chain links to a previous one".into());
    }
    let started = head.and_then(|h| humantime::parse_rfc3339_weak(&h.started).ok())?;
    let retained = started + RETENTION > now;
    (whole_log && retained).then(|| {
        format!(
            "removed: it is seq {} of its chain, but the chain started at {}, less than the retention ago, so events 0 to {} should still be there",
            body.seq,
            humantime::format_rfc3339_nanos(started),
            body.seq - 1
        )
    })
}

/// Compares each chain's last event with its head record.
fn check_heads(walk: &mut Walk, heads: &BTreeMap<String, ChainHead>, since_key: Option<&[u8]>) {
    let seen: Vec<String> = walk.chains.keys().cloned().collect();
    for chain in seen {
        if walk.broken.contains(&chain) {
            continue;
        }
        let Some(last) = walk.chains.get(&chain) else {
            continue;
        };
        let (last_id, last_seq, last_digest) = (last.id.clone(), last.seq, last.digest.clone());
        let problem = match heads.get(&chain) {
            None => Some(format!(
                "removed: the chain's head record `{HEADS}{chain}` is missing"
            )),
            Some(head) if head.seq > last_seq => {
                walk.problem(
                    &chain,
                    &head.last_id,
                    format!(
                        "removed: the chain's head record names seq {} as its newest event, the last one stored is seq {last_seq} (`{last_id}`)",
                        head.seq
                    ),
                );
                continue;
            }
            Some(head) if head.seq == last_seq && head.digest != last_digest => Some(
                "altered: its digest differs from the one the chain's head record holds".into(),
            ),
            Some(_) => None,
        };
        if let Some(problem) = problem {
            walk.problem(&chain, &last_id, problem);
        }
    }
    for (chain, head) in heads {
        let in_range = since_key.is_none_or(|since| key(&head.last_id).as_slice() >= since);
        if in_range && !walk.seen.contains(chain) && !walk.broken.contains(chain) {
            walk.problem(
                chain,
                &head.last_id,
                format!(
                    "removed: every event of the chain is missing (its head record names seq {} as its newest)",
                    head.seq
                ),
            );
        }
    }
}
