//! Identity under attack, over HTTP: token tampering, lockout, identical failures, mass
//! assignment, plan limits, suspended and deleted tenants, impersonation and the audit trail.

mod input;
mod lockout;
mod revocation;
mod tenants;
mod tokens;

/// A problem body without its `request_id` (which differs on every answer), to compare bodies.
fn without_request_id(mut v: serde_json::Value) -> serde_json::Value {
    v.as_object_mut()
        .expect("a problem object")
        .remove("request_id");
    v
}
