//! Cluster mode: many channels on many machines. One binary runs one of
//! three roles (`stagehand cluster ingest|worker|edge`): ingest nodes take
//! EventSub for every channel through a Twitch conduit and publish events to
//! NATS JetStream; workers consume them per partition, store them in
//! PostgreSQL and run each channel's plugins; edges serve dashboards, the API
//! and overlay sockets. This module holds the shared parts (the bus, the
//! subjects, leases, operations plumbing) beside one module per role.

pub mod balance;
pub mod bus;
pub mod cli;
pub mod drain;
pub mod edge;
pub mod envelope;
pub mod ingest;
pub mod metrics;
pub mod ops;
pub mod subjects;
pub mod worker;
