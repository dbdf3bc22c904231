//! Role-based access control for Portcullis.
//!
//! This crate will compile roles into Cedar policy sets and answer access decisions with
//! explanations. Until the RBAC issue lands it is empty; the server only lets the bootstrap
//! admin identity call mutating RPCs.
