//! The audit trail: recording and reading.

use std::sync::Arc;

use pake_domain::audit::{AuditEvent, AuditFilter, AuditKind};
use pake_domain::{AuditEventId, Page, PageRequest, Permission, TenantId, UserId};
use pake_ports::AuditRepository;

use crate::caller::{Caller, RequestMeta};
use crate::{Access, CoreError, Environment};

/// What an audit entry says, besides who and where.
pub struct Entry<'a> {
    /// The tenant the event belongs to.
    pub tenant: TenantId,
    /// What happened.
    pub kind: AuditKind,
    /// Who did it.
    pub actor: Option<UserId>,
    /// The actor's tenant when it differs from `tenant`.
    pub actor_tenant: Option<TenantId>,
    /// What it was done to.
    pub target: Option<String>,
    /// Further facts (never secrets).
    pub details: serde_json::Value,
    /// The request.
    pub meta: &'a RequestMeta,
}

impl<'a> Entry<'a> {
    /// An entry of `kind` in `tenant` for `meta`'s request.
    pub fn new(tenant: TenantId, kind: AuditKind, meta: &'a RequestMeta) -> Self {
        Self {
            tenant,
            kind,
            actor: None,
            actor_tenant: None,
            target: None,
            details: serde_json::json!({}),
            meta,
        }
    }

    /// Done by `caller` (on its acting tenant).
    #[must_use]
    pub fn by(mut self, caller: &Caller) -> Self {
        self.actor = Some(caller.user_id);
        self.actor_tenant = (caller.home_tenant != self.tenant).then_some(caller.home_tenant);
        self
    }

    /// Done to `target`, as [`stored_target`] keeps it: a target can be text a stranger chose
    /// (the login name of a failed login).
    #[must_use]
    #[expect(
        clippy::needless_pass_by_value,
        reason = "ids are Copy, texts are given away: either reads well"
    )]
    pub fn on(mut self, target: impl ToString) -> Self {
        self.target = Some(stored_target(&target.to_string()));
        self
    }

    /// With `details`.
    #[must_use]
    pub fn with(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

/// The most characters of a target the audit trail keeps (escapes included, marker excluded).
pub const MAX_TARGET_CHARS: usize = 256;

/// A target as the audit trail stores it: control characters (C0, DEL, C1), the invisible
/// characters that reorder or hide text (bidirectional overrides and isolates, zero-width
/// characters, BOM) and the backslash are escaped (`\u{1b}`, `\n`, `\\`), so a stored target
/// can neither forge lines nor fool a terminal or a page; and it is cut after
/// [`MAX_TARGET_CHARS`] characters, never inside an escape, with `…[+N]` naming how many of the
/// original characters were dropped.
pub fn stored_target(text: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(text.len().min(MAX_TARGET_CHARS + 16));
    let mut kept = 0;
    let mut escaped = String::new();
    for (taken, c) in text.chars().enumerate() {
        escaped.clear();
        match c {
            '\\' => escaped.push_str("\\\\"),
            '\n' => escaped.push_str("\\n"),
            '\r' => escaped.push_str("\\r"),
            '\t' => escaped.push_str("\\t"),
            c if c.is_control() || is_invisible(c) => {
                let _ = write!(escaped, "\\u{{{:x}}}", u32::from(c));
            }
            c => escaped.push(c),
        }
        let len = escaped.chars().count();
        if kept + len > MAX_TARGET_CHARS {
            let dropped = text.chars().count() - taken;
            let _ = write!(out, "\u{2026}[+{dropped}]");
            return out;
        }
        kept += len;
        out.push_str(&escaped);
    }
    out
}

/// Characters that are not control characters but change how text around them shows.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}')
}

/// Records and lists audit events.
#[derive(Clone)]
pub struct AuditService {
    audit: Arc<dyn AuditRepository>,
    env: Environment,
    access: Access,
}

impl AuditService {
    pub(crate) fn new(audit: Arc<dyn AuditRepository>, env: Environment, access: Access) -> Self {
        Self { audit, env, access }
    }

    /// Appends an event. A failure to write is logged, never turned into a failure of the action
    /// being audited.
    pub async fn record(&self, entry: Entry<'_>) {
        let event = AuditEvent {
            tenant_id: entry.tenant,
            id: AuditEventId::new(),
            at: self.env.clock.now(),
            kind: entry.kind,
            actor_id: entry.actor,
            actor_tenant_id: entry.actor_tenant,
            target: entry.target,
            ip: entry.meta.ip.clone(),
            user_agent: entry.meta.user_agent.clone(),
            request_id: entry.meta.request_id.clone(),
            details: entry.details,
        };
        if let Err(e) = self.audit.append(&event).await {
            tracing::error!(error = %e, kind = event.kind.as_str(), tenant_id = %event.tenant_id, "audit event lost");
        }
    }

    /// The acting tenant's audit trail, newest first.
    ///
    /// # Errors
    /// [`CoreError::Forbidden`] without the permission; [`CoreError::FeatureNotInPlan`] without the
    /// plan's `audit_logs`.
    #[tracing::instrument(skip_all, fields(tenant_id = %caller.tenant_id))]
    pub async fn list(
        &self,
        caller: &Caller,
        filter: &AuditFilter,
        page: PageRequest,
    ) -> Result<Page<AuditEvent>, CoreError> {
        self.access.authorize(caller, Permission::ReadAuditLog)?;
        Ok(self.audit.list(caller.tenant_id, filter, page).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_escaped_and_capped() {
        assert_eq!(stored_target("alice@example.org"), "alice@example.org");
        assert_eq!(
            stored_target("a\u{1b}[31mred\r\nforged\0\u{7f}\u{85}\t"),
            r"a\u{1b}[31mred\r\nforged\u{0}\u{7f}\u{85}\t"
        );
        assert_eq!(
            stored_target(r"x\u{1b}"),
            r"x\\u{1b}",
            "a literal backslash is told apart"
        );
        assert_eq!(stored_target("evil\u{202e}txt.exe"), r"evil\u{202e}txt.exe");
        assert_eq!(
            stored_target("Zo\u{eb} \u{1f600}"),
            "Zo\u{eb} \u{1f600}",
            "text stays text"
        );
        let plain = "a".repeat(MAX_TARGET_CHARS);
        assert_eq!(stored_target(&plain), plain, "the cap itself fits");

        let long = "b".repeat(200_000);
        assert_eq!(
            stored_target(&long),
            format!("{}\u{2026}[+{}]", "b".repeat(256), 200_000 - 256)
        );

        // 240,000 characters of terminal escapes and forged lines
        let attack = "\u{1b}[2J\r\n".repeat(40_000);
        let stored = stored_target(&attack);
        let (kept, marker) = stored.split_once('\u{2026}').expect("a truncation marker");
        assert!(kept.chars().count() <= MAX_TARGET_CHARS);
        assert!(stored.chars().all(|c| !c.is_control()), "{stored:?}");
        // 13 stored characters per 6 original ones: 19 whole repetitions, then the cut falls
        // before an escape (`\r`) would cross the cap, never inside it
        assert_eq!(kept, r"\u{1b}[2J\r\n".repeat(19) + r"\u{1b}[2J");
        assert_eq!(marker, format!("[+{}]", 240_000 - (19 * 6 + 4)));
    }

    #[test]
    fn entries_store_the_cleaned_target() {
        let meta = RequestMeta::default();
        let entry = Entry::new(TenantId::new(), AuditKind::LoginFailed, &meta)
            .on(format!("{}\u{1b}\r\n", "x".repeat(300)));
        let target = entry.target.unwrap();
        assert!(target.chars().count() <= MAX_TARGET_CHARS + 12);
        assert!(target.starts_with(&"x".repeat(256)) && target.ends_with("[+47]"));
    }
}
