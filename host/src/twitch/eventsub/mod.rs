//! EventSub over WebSocket: the wire protocol and the subscriptions we ask
//! for. The connection state machine (session) builds on these.

pub mod protocol;
pub mod session;
pub mod status;
pub mod subscriptions;
