//! Write a Stagehand plugin as a struct and the methods it needs.
//!
//! ```
//! use stagehand_plugin_sdk::prelude::*;
//!
//! struct FollowAlert;
//!
//! impl Plugin for FollowAlert {
//!     fn describe() -> Info {
//!         Info::new("follow-alert", "0.1.0").kinds(["channel.follow"])
//!     }
//!     fn on_event(event: Event) -> Result<Vec<Action>, String> {
//!         let name = event.username().unwrap_or_else(|| "Someone".into());
//!         Ok(vec![Action::ShowAlert(Alert::new("New follower!", format!("{name} followed")))])
//!     }
//! }
//!
//! stagehand_plugin_sdk::export!(FollowAlert);
//! ```
//!
//! The contract is the WIT package `stagehand:plugin@0.1.0` in `wit/`; this
//! crate hides the generated bindings. On a native target the [`host`]
//! functions talk to a fake host ([`testing`]) so a plugin is unit-tested
//! with plain `cargo test`.

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "plugin",
        path: "wit",
        pub_export_macro: true,
        export_macro_name: "__export_plugin_world",
        default_bindings_module: "stagehand_plugin_sdk::bindings",
        // So plugin tests can compare actions and alerts with assert_eq!.
        additional_derives: [PartialEq],
    });
}

pub mod host;
pub mod testing;
pub mod text;
mod types;

pub use bindings::stagehand::plugin::types::{
    Action, Alert, Display, Event, Info, Level, Role, Source, TtsCooldown, TtsMute, Viewer,
    WebhookRequest,
};
pub use serde_json;

/// What a plugin implements. Every method but `describe` has a default that
/// does nothing, so a plugin writes only the roles it plays.
pub trait Plugin {
    /// Name, version, the event kinds wanted ("*" for all) and roles.
    fn describe() -> Info;

    /// Called once per instance before any event, with the `[settings]` of
    /// `plugin.toml` as JSON. An error stops the plugin from loading.
    fn init(_settings: String) -> Result<(), String> {
        Ok(())
    }

    /// Formatter role: how the dashboard shows `event`.
    fn format(_event: Event) -> Option<Display> {
        None
    }

    /// Actions role: what to do about `event`.
    fn on_event(_event: Event) -> Result<Vec<Action>, String> {
        Ok(Vec::new())
    }

    /// Renderer role: restyle an alert about to be shown (`None` leaves it).
    fn render(_alert: Alert) -> Option<Alert> {
        None
    }
}

/// Everything a plugin usually needs.
pub mod prelude {
    pub use crate::host;
    pub use crate::{
        Action, Alert, Display, Event, Info, Level, Plugin, Role, Source, TtsCooldown, TtsMute,
        Viewer, WebhookRequest,
    };
}

/// Exports a [`Plugin`] implementation as the component's entry points.
#[macro_export]
macro_rules! export {
    ($plugin:ty) => {
        const _: () = {
            struct StagehandPluginExport;

            impl $crate::bindings::Guest for StagehandPluginExport {
                fn describe() -> $crate::Info {
                    let out = <$plugin as $crate::Plugin>::describe();
                    $crate::host::__flush();
                    out
                }
                fn init(settings: ::std::string::String) -> ::std::result::Result<(), ::std::string::String> {
                    {
                        let out = <$plugin as $crate::Plugin>::init(settings);
                        $crate::host::__flush();
                        out
                    }
                }
                fn format(e: $crate::Event) -> ::std::option::Option<$crate::Display> {
                    {
                        let out = <$plugin as $crate::Plugin>::format(e);
                        $crate::host::__flush();
                        out
                    }
                }
                fn on_event(
                    e: $crate::Event,
                ) -> ::std::result::Result<::std::vec::Vec<$crate::Action>, ::std::string::String> {
                    {
                        let out = <$plugin as $crate::Plugin>::on_event(e);
                        $crate::host::__flush();
                        out
                    }
                }
                fn render(a: $crate::Alert) -> ::std::option::Option<$crate::Alert> {
                    {
                        let out = <$plugin as $crate::Plugin>::render(a);
                        $crate::host::__flush();
                        out
                    }
                }
            }

            $crate::bindings::__export_plugin_world!(StagehandPluginExport with_types_in $crate::bindings);
        };
    };
}
