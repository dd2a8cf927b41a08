//! Work to the plugins that asked for it, without ever waiting on one:
//! events are offered to action plugins' queues (a full queue misses the
//! event, counts it and faults the plugin), displays are awaited for at
//! most the formatter's deadline (a late one is filled in afterwards), and
//! an alert waits for a renderer only as long as its own call may take. A
//! plugin busy with another call is not waited for at all.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::oneshot;

use super::runtime::wit;
use super::worker::{self, Control, Dispatched, Offer, WorkerHandle};
use super::{PluginHost, convert};
use crate::event::Event;
use crate::live::LiveMessage;
use crate::settle::SettleGuard;
use crate::store::events::StoredEvent;

/// Added to a plugin's deadline when waiting for its answer: the hand-over
/// to its thread and back.
const MARGIN: Duration = Duration::from_millis(25);
/// How long a late display may still take to be filled in.
const LATE_DISPLAY: Duration = Duration::from_secs(10);

/// Which plugins get what, rebuilt whenever a plugin starts or stops.
#[derive(Default)]
pub struct Routes {
    formatters: Vec<Route>,
    actions: Vec<Route>,
    renderers: Vec<Route>,
}

struct Route {
    plugin: Arc<str>,
    kinds: Kinds,
    worker: WorkerHandle,
}

#[derive(Clone)]
enum Kinds {
    All,
    Some(BTreeSet<String>),
}

impl Kinds {
    fn of(info: &wit::Info) -> Kinds {
        if info.kinds.iter().any(|k| k == "*") {
            Kinds::All
        } else {
            Kinds::Some(info.kinds.iter().cloned().collect())
        }
    }
    fn wants(&self, kind: &str) -> bool {
        match self {
            Kinds::All => true,
            Kinds::Some(kinds) => kinds.contains(kind),
        }
    }
}

impl PluginHost {
    /// Rebuilds the routing table from the plugins running now.
    pub(super) fn rebuild_routes(&self) {
        let mut routes = Routes::default();
        for (name, entry) in self.entries().iter() {
            let (Some(worker), Some(version)) = (&entry.worker, &entry.version) else {
                continue;
            };
            let kinds = Kinds::of(&version.info);
            let plugin: Arc<str> = Arc::from(name.as_str());
            for role in &version.info.roles {
                let route = Route {
                    plugin: plugin.clone(),
                    kinds: kinds.clone(),
                    worker: worker.clone(),
                };
                match role {
                    wit::Role::Formatter => routes.formatters.push(route),
                    wit::Role::Actions => routes.actions.push(route),
                    wit::Role::Renderer => routes.renderers.push(route),
                }
            }
        }
        *self.inner.routes.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(routes);
    }

    fn routes(&self) -> Arc<Routes> {
        self.inner
            .routes
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Displays for `events` from the formatter plugins: all are asked at
    /// once and the first formatter by name that answers wins. Waits at
    /// most each formatter's deadline, and not at all for one in another
    /// call (see [`worker::PICKUP`]); an answer that comes later is stored
    /// afterwards and announced on the live feed.
    pub async fn format(&self, events: &[Event]) -> Vec<Option<Value>> {
        let mut out = vec![None; events.len()];
        let routes = self.routes();
        let mut asked = Vec::new();
        for route in &routes.formatters {
            let wanted: Vec<usize> = (0..events.len())
                .filter(|&i| route.kinds.wants(events[i].kind.as_str()))
                .collect();
            if wanted.is_empty() {
                continue;
            }
            let batch = Arc::new(wanted.iter().map(|&i| events[i].clone()).collect());
            // The event's commit never waits behind another call: the
            // display is filled in when the plugin gets to it.
            let stuck = route.worker.busy.in_call();
            let budget = route.worker.busy.deadline();
            let (picked_up, picked) = oneshot::channel();
            let (reply, rx) = oneshot::channel();
            let job = Control::Format {
                events: batch,
                budget,
                picked_up,
                reply,
            };
            if route.worker.control(job).is_err() {
                tracing::debug!(
                    plugin = &*route.plugin,
                    "formatter busy; events stored without its display"
                );
                continue;
            }
            if stuck {
                let ids = wanted.iter().map(|&i| events[i].id.clone()).collect();
                self.fill_in_later(route.plugin.clone(), ids, rx);
                continue;
            }
            asked.push((route, wanted, budget, picked, rx));
        }
        let waits = asked
            .into_iter()
            .map(|(route, wanted, budget, picked, mut rx)| async move {
                let answer = match tokio::time::timeout(worker::PICKUP, picked).await {
                    Ok(Ok(())) => tokio::time::timeout(budget + MARGIN, &mut rx).await.ok(),
                    // Busy with another call, or stopped: no waiting.
                    _ => None,
                };
                (route, wanted, answer.ok_or(rx))
            });
        for (route, wanted, answer) in futures_util::future::join_all(waits).await {
            match answer {
                Ok(Ok(displays)) => {
                    for (&i, display) in wanted.iter().zip(displays) {
                        if out[i].is_none() {
                            out[i] = display.as_ref().map(convert::display_to_json);
                        }
                    }
                }
                Ok(Err(_)) => {}
                Err(rx) => {
                    let ids = wanted.iter().map(|&i| events[i].id.clone()).collect();
                    self.fill_in_later(route.plugin.clone(), ids, rx);
                }
            }
        }
        out
    }

    /// Stores a formatter's late displays on the events stored without one.
    fn fill_in_later(
        &self,
        plugin: Arc<str>,
        ids: Vec<String>,
        rx: oneshot::Receiver<Vec<Option<wit::Display>>>,
    ) {
        tracing::debug!(
            plugin = &*plugin,
            events = ids.len(),
            "formatter late; its displays are filled in when they come"
        );
        let store = self.inner.store.clone();
        let feed = self.inner.feed.clone();
        tokio::spawn(async move {
            let Ok(Ok(displays)) = tokio::time::timeout(LATE_DISPLAY, rx).await else {
                return;
            };
            for (id, display) in ids.into_iter().zip(displays) {
                let Some(display) = display.as_ref().map(convert::display_to_json) else {
                    continue;
                };
                let (event_id, stored) = (id.clone(), display.clone());
                let filled = store
                    .write(move |c| crate::store::events::fill_display(c, &event_id, &stored))
                    .await;
                if let Ok(true) = filled {
                    feed.publish(LiveMessage::EventDisplay { id, display });
                }
            }
        });
    }

    /// Offers a stored event to every action plugin that wants its kind,
    /// never waiting; returns how many took it (the dashboard's replay
    /// reports it). A plugin whose queue is full misses the event, which
    /// is counted, and is faulted when its queue first fills.
    ///
    /// `settle`, if given, goes along with the event and is let go once the
    /// plugin's actions for it are carried out (see [`crate::settle`]).
    pub fn dispatch(&self, event: &Arc<StoredEvent>, settle: Option<&Arc<SettleGuard>>) -> usize {
        let routes = self.routes();
        let mut queued = 0;
        for route in routes
            .actions
            .iter()
            .filter(|r| r.kinds.wants(event.event.kind.as_str()))
        {
            let dispatched = Dispatched {
                event: event.clone(),
                settle: settle.cloned(),
            };
            match route.worker.offer(dispatched) {
                Offer::Queued => queued += 1,
                Offer::Full { first } => self.missed(&route.plugin, first),
                Offer::Stopped => {}
            }
        }
        // A plugin still compiling for the first time has no instance yet
        // (nor known kinds): the event passes it by, counted so the
        // streamer can see it, without faulting it.
        for entry in self.entries().values() {
            let mut s = entry.status.lock().unwrap_or_else(|p| p.into_inner());
            if s.state == worker::State::Compiling {
                s.missed_while_compiling += 1;
            }
        }
        queued
    }

    fn renderer_broke(&self, plugin: &str, why: &str) {
        if let Some(status) = self.entries().get(plugin).map(|e| e.status.clone()) {
            let message =
                format!("render: its restyled alert was refused ({why}); shown as it was");
            worker::record_fault(&status, &self.status_publisher(), plugin, &message);
        }
    }

    /// Counts an event a plugin missed; the first of a run also faults it.
    fn missed(&self, plugin: &str, first: bool) {
        let Some(status) = self.entries().get(plugin).map(|e| e.status.clone()) else {
            return;
        };
        let missed = {
            let mut s = status.lock().unwrap_or_else(|p| p.into_inner());
            s.missed += 1;
            s.missed
        };
        if first {
            let message = format!(
                "its queue of {} events is full: it is slower than events arrive, so events are missed ({missed} so far)",
                worker::EVENT_QUEUE
            );
            worker::record_fault(&status, &self.status_publisher(), plugin, &message);
        }
    }

    /// Lets every renderer plugin restyle `alert`, in name order. Each gets
    /// its own call's deadline, once it is free to start (see
    /// [`worker::PICKUP`] and [`worker::IDLE_PICKUP`]); a renderer still in
    /// another call by then, or
    /// that does not answer in time, is skipped for this alert.
    /// A restyled alert that fails `check` (an alert rule, or media from a
    /// host nobody granted) is discarded and faults that renderer: a
    /// renderer cannot break or suppress other plugins' alerts.
    pub async fn render(
        &self,
        mut alert: wit::Alert,
        check: impl Fn(&wit::Alert) -> Result<(), String>,
    ) -> wit::Alert {
        let routes = self.routes();
        for route in &routes.renderers {
            if route.worker.busy.stuck() {
                tracing::debug!(
                    plugin = &*route.plugin,
                    "a renderer plugin is in a long call; alert shown without it"
                );
                continue;
            }
            let (picked_up, picked) = oneshot::channel();
            let (reply, rx) = oneshot::channel();
            let job = Control::Render {
                alert: Box::new(alert.clone()),
                picked_up,
                reply,
            };
            let wait = route.worker.busy.deadline() + MARGIN;
            let pickup = if route.worker.busy.in_call() {
                worker::PICKUP
            } else {
                worker::IDLE_PICKUP
            };
            if route.worker.control(job).is_err() {
                tracing::warn!(
                    plugin = &*route.plugin,
                    "a renderer plugin is busy; alert shown without it"
                );
                continue;
            }
            if !matches!(tokio::time::timeout(pickup, picked).await, Ok(Ok(()))) {
                // Dropping `rx` tells the worker not to render it at all.
                tracing::debug!(
                    plugin = &*route.plugin,
                    "a renderer plugin is in another call; alert shown without it"
                );
                continue;
            }
            match tokio::time::timeout(wait, rx).await {
                Ok(Ok(Some(restyled))) => match check(&restyled) {
                    Ok(()) => alert = restyled,
                    Err(why) => self.renderer_broke(&route.plugin, &why),
                },
                Ok(_) => {}
                Err(_) => {
                    tracing::warn!(
                        plugin = &*route.plugin,
                        "a renderer plugin did not answer in {wait:?}; alert shown without it"
                    );
                }
            }
        }
        alert
    }
}
