//! The background job that finishes a new tenant: default settings, a check of its admin, its
//! directory entry, then `active`. Each step is idempotent and recorded on the tenant as it
//! completes, so a job cut short (a crash, a restart) resumes where it stopped; failures are
//! recorded with the attempt count and retried with backoff.

use std::sync::Arc;
use std::time::Duration;

use pake_domain::{PageRequest, Role, TenantId, TenantStatus};
use pake_ports::{Repositories, TenantFilter, TenantRepository, UserRepository};

use crate::{CoreError, Environment, Identity};

/// The steps, in order.
pub(crate) const STEPS: [&str; 3] = ["default_settings", "admin_ready", "directory_entry"];

/// How many attempts before the job gives up (the error stays visible on the tenant).
const MAX_ATTEMPTS: u32 = 5;

/// Runs provisioning jobs.
#[derive(Clone)]
pub struct ProvisioningService {
    tenants: Arc<dyn TenantRepository>,
    users: Arc<dyn UserRepository>,
    env: Environment,
    identity: Identity,
}

impl ProvisioningService {
    pub(crate) fn new(repos: &Repositories, env: Environment, identity: Identity) -> Self {
        Self {
            tenants: Arc::clone(&repos.tenants),
            users: Arc::clone(&repos.users),
            env,
            identity,
        }
    }

    /// Starts the job for `tenant` in the background.
    pub fn start(&self, tenant: TenantId) {
        let this = self.clone();
        tokio::spawn(async move { this.run(tenant).await });
    }

    /// Resumes every tenant still in `provisioning` (at start-up).
    ///
    /// # Errors
    /// Store errors while listing.
    pub async fn resume_all(&self) -> Result<usize, CoreError> {
        let filter = TenantFilter {
            status: Some(TenantStatus::Provisioning),
            plan: None,
        };
        let mut ids = Vec::new();
        let mut offset = 0;
        loop {
            let page = PageRequest::new(Some(PageRequest::MAX_LIMIT), Some(offset))?;
            let batch = self.tenants.list(filter, page).await?;
            offset += batch.items.len() as u64;
            ids.extend(batch.items.iter().map(|t| t.id));
            if batch.items.is_empty() || offset >= batch.total {
                break;
            }
        }
        for id in &ids {
            self.start(*id);
        }
        Ok(ids.len())
    }

    /// Runs the job to completion (or to its last attempt).
    pub async fn run(&self, tenant: TenantId) {
        for attempt in 0..MAX_ATTEMPTS {
            match self.attempt(tenant).await {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(tenant_id = %tenant, attempt, error = %e, "provisioning attempt failed");
                    if let Ok(Some(mut t)) = self.tenants.find(tenant).await {
                        t.provisioning.last_error = Some(e.to_string());
                        t.updated_at = self.env.clock.now();
                        let _ = self.tenants.update(&t).await;
                    }
                    tokio::time::sleep(Duration::from_millis(250 * 2u64.pow(attempt))).await;
                }
            }
        }
    }

    async fn attempt(&self, id: TenantId) -> Result<(), CoreError> {
        let Some(mut tenant) = self.tenants.find(id).await? else {
            return Ok(()); // deleted meanwhile
        };
        if tenant.status != TenantStatus::Provisioning {
            return Ok(());
        }
        tenant.provisioning.attempts += 1;
        for step in STEPS {
            if tenant
                .provisioning
                .completed_steps
                .iter()
                .any(|s| s == step)
            {
                continue;
            }
            match step {
                "default_settings" => {
                    let defaults = [
                        (
                            "default_sources",
                            serde_json::json!(["arxiv", "pubmed", "web"]),
                        ),
                        ("default_max_results", serde_json::json!(10)),
                        ("enable_summarization", serde_json::json!(true)),
                    ];
                    for (k, v) in defaults {
                        tenant.settings.entry(k).or_insert(v);
                    }
                }
                "admin_ready" => {
                    let users = self.users.list(id, PageRequest::first()).await?;
                    if !users.items.iter().any(|u| u.role == Role::Admin) {
                        return Err(CoreError::InvalidState("the tenant has no admin"));
                    }
                }
                _ => self.identity.directory.upsert(&tenant),
            }
            tenant.provisioning.completed_steps.push(step.to_owned());
            tenant.updated_at = self.env.clock.now();
            self.tenants.update(&tenant).await?;
        }
        let now = self.env.clock.now();
        tenant.status = TenantStatus::Active;
        tenant.provisioning.last_error = None;
        tenant.provisioning.finished_at = Some(now);
        tenant.updated_at = now;
        self.tenants.update(&tenant).await?;
        self.identity.directory.upsert(&tenant);
        self.identity
            .publish(pake_ports::IdentityEvent::TenantChanged(id))
            .await;
        tracing::info!(tenant_id = %id, "tenant provisioned");
        Ok(())
    }
}
