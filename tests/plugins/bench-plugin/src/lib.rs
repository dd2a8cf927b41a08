//! The dispatch benchmark's plugin: per event it reads and writes two kv
//! entries (a per-kind counter and the running event count), the work of
//! Extism's comparable benchmark, and returns no action. The same code runs
//! natively against the SDK's fake host as the baseline.

use stagehand_plugin_sdk::prelude::*;

pub struct BenchPlugin;

impl Plugin for BenchPlugin {
    fn new(_settings: Settings) -> Result<Self, String> {
        Ok(BenchPlugin)
    }
}

impl Actions for BenchPlugin {
    fn on_event(&mut self, event: &Event) -> Result<Vec<Action>, String> {
        let count_key = format!("count:{}", event.kind);
        let count = host::kv_get_u64(&count_key) + 1;
        host::kv_set(&count_key, &count.to_string());
        let total = host::kv_get_u64("events") + 1;
        host::kv_set("events", &total.to_string());
        Ok(Vec::new())
    }
}

stagehand_plugin_sdk::export!(BenchPlugin);

#[cfg(test)]
mod tests {
    use super::*;
    use stagehand_plugin_sdk::testing;

    #[test]
    fn it_counts_events_per_kind_and_in_all() {
        testing::reset();
        let mut p = BenchPlugin::new(Settings::default()).unwrap();
        for _ in 0..3 {
            p.on_event(&testing::cheer("a", 100, "")).unwrap();
        }
        assert_eq!(testing::kv()["count:channel.cheer"], "3");
        assert_eq!(testing::kv()["events"], "3");
    }
}
