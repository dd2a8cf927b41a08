//! The dispatch benchmark's plugin: per event it reads and writes two kv
//! entries (a per-kind counter and the running event count), the work of
//! Extism's comparable benchmark, and returns no action. The same code runs
//! natively against the SDK's fake host as the baseline.

use stagehand_plugin_sdk::prelude::*;

pub struct BenchPlugin;

impl Plugin for BenchPlugin {
    fn describe() -> Info {
        Info::new("bench-plugin", env!("CARGO_PKG_VERSION")).kinds(["*"])
    }

    fn on_event(event: Event) -> Result<Vec<Action>, String> {
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
    use stagehand_plugin_sdk::serde_json::json;
    use stagehand_plugin_sdk::testing;

    #[test]
    fn it_counts_events_per_kind_and_in_all() {
        testing::reset();
        for _ in 0..3 {
            BenchPlugin::on_event(testing::event("channel.cheer", json!({"bits": 100}))).unwrap();
        }
        assert_eq!(testing::kv()["count:channel.cheer"], "3");
        assert_eq!(testing::kv()["events"], "3");
    }
}
