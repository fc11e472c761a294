//! Extractors: the authenticated caller and the request's audit facts.

use std::future::{Future, Ready, ready};
use std::net::IpAddr;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::{AUTHORIZATION, USER_AGENT};
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use pake_core::{Caller, CoreError, RequestMeta};

use crate::AppState;
use crate::error::ApiError;
use crate::request_id::RequestId;

/// The request's audit facts: client address, user agent, request id.
pub struct Meta(pub RequestMeta);

/// A trusted proxy network: an address and its prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyNet {
    addr: IpAddr,
    prefix: u8,
}

impl ProxyNet {
    /// Parses `10.0.0.0/8`, `fd00::/8` or a single address.
    ///
    /// # Errors
    /// A message naming the bad entry.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || format!("not an address or network: {text}");
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let addr: IpAddr = addr.trim().parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(bad)?,
            None => max,
        };
        Ok(Self { addr, prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        let ip = match (self.addr, ip) {
            (IpAddr::V4(_), IpAddr::V6(v6)) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            _ => ip,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// One hop of `Forwarded: for=…` or `X-Forwarded-For`, without quotes, brackets or port.
fn hop(text: &str) -> Option<IpAddr> {
    let t = text.trim().trim_matches('"');
    if let Some(rest) = t.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    t.parse()
        .ok()
        .or_else(|| t.rsplit_once(':').and_then(|(h, _)| h.parse().ok()))
}

/// The client's address: the peer, unless the peer is a trusted proxy; then the nearest hop of
/// `Forwarded` (or `X-Forwarded-For`) that is not a trusted proxy itself. Headers from untrusted
/// peers are ignored, so a client cannot choose the address its limits and audit lines see.
pub fn client_ip(req: &HttpRequest, trusted: &[ProxyNet]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    let is_trusted = |ip: IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(peer) {
        return Some(peer);
    }
    let headers = req.headers();
    let hops: Vec<IpAddr> =
        if let Some(fwd) = headers.get("forwarded").and_then(|v| v.to_str().ok()) {
            fwd.split(',')
                .filter_map(|element| {
                    element.split(';').find_map(|pair| {
                        let (k, v) = pair.split_once('=')?;
                        k.trim().eq_ignore_ascii_case("for").then(|| hop(v))?
                    })
                })
                .collect()
        } else if let Some(xff) = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
            xff.split(',').filter_map(hop).collect()
        } else {
            Vec::new()
        };
    Some(
        hops.iter()
            .rev()
            .copied()
            .find(|ip| !is_trusted(*ip))
            .or_else(|| hops.first().copied())
            .unwrap_or(peer),
    )
}

fn trusted_of(req: &HttpRequest) -> std::sync::Arc<Vec<ProxyNet>> {
    req.app_data::<web::Data<AppState>>()
        .map(|s| std::sync::Arc::clone(&s.trusted_proxies))
        .unwrap_or_default()
}

fn meta_of(req: &HttpRequest) -> RequestMeta {
    RequestMeta {
        ip: client_ip(req, &trusted_of(req)).map(|ip| ip.to_string()),
        user_agent: req
            .headers()
            .get(USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(256).collect()),
        request_id: req
            .extensions()
            .get::<RequestId>()
            .map(|id| id.0.to_string()),
    }
}

impl FromRequest for Meta {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Self(meta_of(req))))
    }
}

fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|t| !t.is_empty())
}

async fn authenticate(
    req: HttpRequest,
    allow_password_change: bool,
) -> Result<(Caller, RequestMeta), ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or(CoreError::Unauthorized)?
        .clone();
    let token = bearer(&req).ok_or(CoreError::Unauthorized)?;
    let x_tenant = req
        .headers()
        .get("x-tenant-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let meta = meta_of(&req);
    let caller = state
        .services
        .auth
        .authenticate(&token, x_tenant.as_deref(), &meta)
        .await?;
    if caller.password_change_required && !allow_password_change {
        return Err(CoreError::PasswordChangeRequired.into());
    }
    // Limits come before any database or upstream work of the handler.
    let decision = state.services.limits.admit(&caller).await?;
    req.extensions_mut().insert(decision);
    // for the access log line and the request's span
    let span = tracing::Span::current();
    span.record("tenant_id", tracing::field::display(caller.tenant_id));
    span.record("user_id", tracing::field::display(caller.user_id));
    req.extensions_mut().insert(caller.clone());
    Ok((caller, meta))
}

/// An authenticated caller whose password is in order. A token issued for a one-time password
/// gets 403 `password_change_required` here.
pub struct Auth(pub Caller);

impl FromRequest for Auth {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { authenticate(req, false).await.map(|(c, _)| Self(c)) })
    }
}

/// An authenticated caller, also with a one-time password still to change (for `/auth/me` and
/// `/auth/password` only).
pub struct AuthAllowingPasswordChange(pub Caller);

impl FromRequest for AuthAllowingPasswordChange {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { authenticate(req, true).await.map(|(c, _)| Self(c)) })
    }
}

/// Counts a login or refresh attempt against the client address's limit (in front of the account
/// lockout); the decision goes on the response's `RateLimit-*` headers.
pub async fn admit_address(state: &AppState, req: &HttpRequest) -> Result<(), ApiError> {
    let address = client_ip(req, &state.trusted_proxies)
        .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
    let decision = state.services.limits.admit_address(&address).await?;
    req.extensions_mut().insert(decision);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn networks_match_their_addresses() {
        let net = ProxyNet::parse("10.0.0.0/8").unwrap();
        assert!(net.contains(ip("10.1.2.3")));
        assert!(!net.contains(ip("11.0.0.1")));
        assert!(net.contains(ip("::ffff:10.0.0.9")), "v4-mapped");
        assert!(ProxyNet::parse("fd00::/8").unwrap().contains(ip("fd12::1")));
        assert!(
            ProxyNet::parse("127.0.0.1")
                .unwrap()
                .contains(ip("127.0.0.1"))
        );
        assert!(ProxyNet::parse("10.0.0.0/33").is_err());
        assert!(ProxyNet::parse("proxy").is_err());
    }

    #[test]
    fn the_client_is_the_nearest_untrusted_hop_and_only_behind_a_trusted_peer() {
        let trusted = [ProxyNet::parse("10.0.0.0/8").unwrap()];
        let from = |peer: &str, header: (&str, &str)| {
            let req = TestRequest::default()
                .peer_addr(format!("{peer}:4000").parse().unwrap())
                .insert_header(header)
                .to_http_request();
            client_ip(&req, &trusted).unwrap().to_string()
        };
        // a client that is not behind our proxy cannot choose its address
        assert_eq!(
            from("198.51.100.7", ("x-forwarded-for", "1.2.3.4")),
            "198.51.100.7"
        );
        // behind the proxy: the nearest hop that is not one of ours (a client may prepend lies)
        assert_eq!(
            from(
                "10.0.0.2",
                ("x-forwarded-for", "6.6.6.6, 203.0.113.9, 10.0.0.5")
            ),
            "203.0.113.9"
        );
        assert_eq!(
            from(
                "10.0.0.2",
                (
                    "forwarded",
                    "for=\"[2001:db8::1]:8080\";proto=https, for=10.0.0.5"
                )
            ),
            "2001:db8::1"
        );
        assert_eq!(
            from("10.0.0.2", ("x-forwarded-for", "203.0.113.9:5555")),
            "203.0.113.9"
        );
        assert_eq!(from("10.0.0.2", ("x-nothing", "x")), "10.0.0.2");
    }
}
