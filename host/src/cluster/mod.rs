//! Cluster mode's shared parts: the NATS event bus, the subjects it uses,
//! and the operations plumbing every role runs (metrics, health and
//! readiness endpoints, draining on shutdown).

pub mod bus;
pub mod drain;
pub mod metrics;
pub mod ops;
pub mod subjects;
