//! Identity events over Redis pub/sub.

use std::time::Duration;

use async_trait::async_trait;
use deadpool_redis::redis::{self, cmd};
use futures_util::StreamExt;
use pake_domain::{SessionId, TenantId};
use pake_ports::{CacheError, IdentityEvent, IdentityEvents};
use tokio::sync::mpsc;

/// The channel (a platform-wide key of the allow-listed `identity` namespace).
pub(crate) const CHANNEL: &str = "g:identity:events";

/// Publishes identity events on Redis and delivers the other replicas' events.
#[derive(Clone)]
pub struct RedisEvents {
    url: String,
    pool: deadpool_redis::Pool,
}

fn encode(event: &IdentityEvent) -> String {
    match event {
        IdentityEvent::SessionsRevoked(ids) => {
            format!(
                "sessions:{}",
                ids.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            )
        }
        IdentityEvent::TenantChanged(id) => format!("tenant:{id}"),
    }
}

fn decode(text: &str) -> Option<IdentityEvent> {
    let (kind, rest) = text.split_once(':')?;
    match kind {
        "sessions" => {
            let ids = rest
                .split(',')
                .filter(|s| !s.is_empty())
                .map(SessionId::parse)
                .collect::<Result<_, _>>()
                .ok()?;
            Some(IdentityEvent::SessionsRevoked(ids))
        }
        "tenant" => TenantId::parse(rest).ok().map(IdentityEvent::TenantChanged),
        _ => None,
    }
}

impl RedisEvents {
    /// A bus on the Redis at `url`, publishing through `pool`.
    pub fn new(url: &str, pool: deadpool_redis::Pool) -> Self {
        Self {
            url: url.to_owned(),
            pool,
        }
    }

    /// Listens for events in the background, reconnecting by itself after failures; events
    /// arrive on the returned channel. The watch turns `true` once the first subscription is in
    /// place (a server waits for it before serving, so it misses no event of its first moments).
    pub fn subscribe(
        &self,
    ) -> (
        mpsc::UnboundedReceiver<IdentityEvent>,
        tokio::sync::watch::Receiver<bool>,
    ) {
        let (tx, rx) = mpsc::unbounded_channel();
        let (subscribed, watch) = tokio::sync::watch::channel(false);
        let url = self.url.clone();
        tokio::spawn(async move {
            let mut failing = false;
            loop {
                match listen(&url, &tx, &subscribed).await {
                    Ok(()) => return, // the receiver is gone: the server is stopping
                    Err(e) => {
                        if !failing {
                            tracing::warn!(error = %e, "identity event subscription lost; retrying");
                        }
                        failing = true;
                    }
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
        (rx, watch)
    }
}

/// One subscription session; returns `Ok` when the receiver is dropped.
async fn listen(
    url: &str,
    tx: &mpsc::UnboundedSender<IdentityEvent>,
    subscribed: &tokio::sync::watch::Sender<bool>,
) -> redis::RedisResult<()> {
    let client = redis::Client::open(url)?;
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(CHANNEL).await?;
    subscribed.send_replace(true);
    tracing::info!("identity events: subscribed");
    let mut messages = pubsub.into_on_message();
    while let Some(msg) = messages.next().await {
        let Ok(text) = msg.get_payload::<String>() else {
            continue;
        };
        if let Some(event) = decode(&text)
            && tx.send(event).is_err()
        {
            return Ok(());
        }
    }
    Err(redis::RedisError::from((
        redis::ErrorKind::Io,
        "subscription closed",
    )))
}

#[async_trait]
impl IdentityEvents for RedisEvents {
    async fn publish(&self, event: &IdentityEvent) -> Result<(), CacheError> {
        let mut conn = self
            .pool
            .get()
            .await
            .map_err(|e| CacheError::Unavailable(Box::new(e)))?;
        cmd("PUBLISH")
            .arg(CHANNEL)
            .arg(encode(event))
            .query_async::<i64>(&mut conn)
            .await
            .map(drop)
            .map_err(|e| CacheError::Unavailable(Box::new(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip() {
        let a = IdentityEvent::SessionsRevoked(vec![SessionId::new(), SessionId::new()]);
        let b = IdentityEvent::TenantChanged(TenantId::new());
        for e in [a, b] {
            assert_eq!(decode(&encode(&e)), Some(e));
        }
        assert_eq!(decode("nonsense"), None);
        assert_eq!(decode("sessions:not-a-uuid"), None);
    }
}
