//! Everything a plugin author can get wrong in `describe` without the
//! plugin being broken: `tests/plugins.rs` checks the host warns about each
//! (log and `GET /api/plugins`) and still runs what was declared.

use stagehand_plugin_sdk::prelude::*;

pub struct SloppyPlugin;

impl Plugin for SloppyPlugin {
    fn new(_settings: Settings) -> Result<Self, String> {
        Ok(SloppyPlugin)
    }

    fn describe() -> Info {
        let mut info = Info::new()
            .kinds(["channel.folow", kinds::CHEER])
            .roles([Role::Actions]);
        info.name = "sloppy".into();
        info
    }
}

impl Formatter for SloppyPlugin {
    fn format(&mut self, _event: &Event) -> Option<Display> {
        Some(Display::new("Sloppy", "?", "#000000", "never shown"))
    }
}

impl Actions for SloppyPlugin {
    fn on_event(&mut self, event: &Event) -> Result<Vec<Action>, String> {
        let EventData::Cheer(cheer) = &event.data else {
            return Ok(Vec::new());
        };
        let alert = Alert::new("Sloppy", format!("{} bits", cheer.bits));
        Ok(vec![Action::ShowAlert(alert)])
    }
}

stagehand_plugin_sdk::export!(SloppyPlugin);
