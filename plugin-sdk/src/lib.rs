//! Write a Stagehand plugin as a struct: build it from its settings, then
//! implement the roles it plays.
//!
//! ```
//! use stagehand_plugin_sdk::prelude::*;
//!
//! struct FollowAlert {
//!     followers: u64,
//! }
//!
//! impl Plugin for FollowAlert {
//!     fn new(_settings: Settings) -> Result<Self, String> {
//!         Ok(FollowAlert { followers: 0 })
//!     }
//!     fn describe() -> Info {
//!         Info::new().kinds([kinds::FOLLOW])
//!     }
//! }
//!
//! impl Actions for FollowAlert {
//!     fn on_event(&mut self, event: &Event) -> Result<Vec<Action>, String> {
//!         let EventData::Follow(_) = &event.data else {
//!             return Ok(Vec::new());
//!         };
//!         self.followers += 1;
//!         let name = event.who();
//!         let message = format!("{name} is follower #{} this stream", self.followers);
//!         Ok(vec![Action::ShowAlert(Alert::new("New follower!", message))])
//!     }
//! }
//!
//! stagehand_plugin_sdk::export!(FollowAlert);
//! ```
//!
//! The contract is the WIT package `stagehand:plugin@0.3.0` in
//! `wit/since_v0.3.0/`; this crate hides the generated bindings. Released
//! versions of the contract stay frozen beside it (`wit/since_v0.1.0/`,
//! `wit/since_v0.2.0/`) and the host keeps loading components built
//! against them.
//!
//! On a native target the [`host`] functions talk to a fake host
//! ([`testing`]), so a plugin is unit-tested with plain `cargo test`.

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "plugin",
        path: "wit/since_v0.3.0",
        pub_export_macro: true,
        export_macro_name: "__export_plugin_world",
        default_bindings_module: "stagehand_plugin_sdk::bindings",
        // So plugin tests can compare actions and alerts with assert_eq!.
        additional_derives: [PartialEq],
    });
}

pub mod fields;
pub mod host;
pub mod kinds;
pub mod limits;
mod settings;
pub mod testing;
pub mod text;
mod types;

pub use bindings::stagehand::plugin::types::{
    Action, Alert, Badge, Ban, ChatMessage, Cheer, Clip, Discord, Display, Donation, Event,
    EventData, Follow, Gift, Info, Level, Raid, Redemption, Resub, Reward, Role, Source,
    StreamOffline, StreamOnline, Subscribe, SubscriptionEnd, TtsCooldown, TtsMute, Viewer,
    WebhookRequest,
};
pub use serde_json;
pub use settings::Settings;

/// A plugin: how it is built from its settings, and what it asks for.
/// The roles it plays are the traits [`Formatter`], [`Actions`] and
/// [`Renderer`]; implement the ones you need and [`export!`] finds them.
///
/// One value of the plugin type lives as long as the plugin version is
/// loaded: fields keep state between events. State is lost on reload, on a
/// settings change and after a fault that stops a call (a trap, a deadline
/// or memory overrun); keep what must last in
/// [`host::kv_set`].
pub trait Plugin: Sized + 'static {
    /// Builds the plugin from its settings (`plugin.toml`'s `[settings]`,
    /// or what the streamer saved). An error keeps it from starting, and
    /// the streamer sees the message.
    fn new(settings: Settings) -> Result<Self, String>;

    /// The event kinds wanted (default: all) and, rarely, the roles played
    /// (default: the roles implemented). Name and version come from the
    /// plugin's `plugin.toml`; the crate's are sent along so the host can
    /// warn when they differ.
    fn describe() -> Info {
        Info::new()
    }
}

/// Formatter role: how the dashboard shows an event.
pub trait Formatter: Plugin {
    /// The display of `event`, or `None` to leave it to other formatters.
    fn format(&mut self, event: &Event) -> Option<Display>;
}

/// Actions role: what to do about an event.
pub trait Actions: Plugin {
    /// The actions for `event`; an error is logged and shown to the
    /// streamer (the event itself is kept).
    fn on_event(&mut self, event: &Event) -> Result<Vec<Action>, String>;
}

/// Renderer role: restyle every alert before it is shown.
pub trait Renderer: Plugin {
    /// The restyled alert, or `None` to leave it as it is.
    fn render(&mut self, alert: Alert) -> Option<Alert>;
}

/// Everything a plugin usually needs.
pub mod prelude {
    pub use crate::host;
    pub use crate::kinds;
    pub use crate::{
        Action, Actions, Alert, Badge, Ban, ChatMessage, Cheer, Clip, Discord, Display, Donation,
        Event, EventData, Follow, Formatter, Gift, Info, Level, Plugin, Raid, Redemption, Renderer,
        Resub, Reward, Role, Settings, Source, StreamOffline, StreamOnline, Subscribe,
        SubscriptionEnd, TtsCooldown, TtsMute, Viewer, WebhookRequest,
    };
}

/// What [`export!`] expands to uses these: each role's trait when the
/// plugin implements it, a do-nothing stand-in when not (autoref
/// specialisation: the by-value impl wins when it applies).
#[doc(hidden)]
pub mod __export {
    use super::*;

    pub struct Probe<T>(pub core::marker::PhantomData<T>);

    pub trait ViaFormatter<T> {
        fn formats(&self) -> bool;
        fn format(&self, plugin: &mut T, event: &Event) -> Option<Display>;
    }
    impl<T: Formatter> ViaFormatter<T> for Probe<T> {
        fn formats(&self) -> bool {
            true
        }
        fn format(&self, plugin: &mut T, event: &Event) -> Option<Display> {
            Formatter::format(plugin, event)
        }
    }
    pub trait NoFormatter<T> {
        fn formats(&self) -> bool {
            false
        }
        fn format(&self, _: &mut T, _: &Event) -> Option<Display> {
            None
        }
    }
    impl<T> NoFormatter<T> for &Probe<T> {}

    pub trait ViaActions<T> {
        fn acts(&self) -> bool;
        fn on_event(&self, plugin: &mut T, event: &Event) -> Result<Vec<Action>, String>;
    }
    impl<T: Actions> ViaActions<T> for Probe<T> {
        fn acts(&self) -> bool {
            true
        }
        fn on_event(&self, plugin: &mut T, event: &Event) -> Result<Vec<Action>, String> {
            Actions::on_event(plugin, event)
        }
    }
    pub trait NoActions<T> {
        fn acts(&self) -> bool {
            false
        }
        fn on_event(&self, _: &mut T, _: &Event) -> Result<Vec<Action>, String> {
            Ok(Vec::new())
        }
    }
    impl<T> NoActions<T> for &Probe<T> {}

    pub trait ViaRenderer<T> {
        fn renders(&self) -> bool;
        fn render(&self, plugin: &mut T, alert: Alert) -> Option<Alert>;
    }
    impl<T: Renderer> ViaRenderer<T> for Probe<T> {
        fn renders(&self) -> bool {
            true
        }
        fn render(&self, plugin: &mut T, alert: Alert) -> Option<Alert> {
            Renderer::render(plugin, alert)
        }
    }
    pub trait NoRenderer<T> {
        fn renders(&self) -> bool {
            false
        }
        fn render(&self, _: &mut T, _: Alert) -> Option<Alert> {
            None
        }
    }
    impl<T> NoRenderer<T> for &Probe<T> {}

    /// The roles implemented, in role order.
    pub fn implemented(formats: bool, acts: bool, renders: bool) -> Vec<Role> {
        [
            (formats, Role::Formatter),
            (acts, Role::Actions),
            (renders, Role::Renderer),
        ]
        .into_iter()
        .filter_map(|(yes, role)| yes.then_some(role))
        .collect()
    }

    /// `describe`'s answer: the plugin's, completed with what the SDK knows.
    pub fn info(mut info: Info, name: &str, version: &str, implements: Vec<Role>) -> Info {
        if info.name.is_empty() {
            info.name = name.to_owned();
        }
        if info.version.is_empty() {
            info.version = version.to_owned();
        }
        if info.kinds.is_empty() {
            info.kinds = vec!["*".to_owned()];
        }
        if info.roles.is_empty() {
            info.roles = implements.clone();
        }
        info.implements = implements;
        info
    }

    /// What `describe` answers for a plugin type, completed; the
    /// [`export!`] macro implements it so tests can see it
    /// ([`crate::testing::describe`]).
    pub trait Described {
        fn completed_info() -> Info;
    }

    /// "not configured" for a call before `configure` succeeded.
    pub const NOT_CONFIGURED: &str =
        "the plugin was not configured (its `new` failed or was never called)";
}

/// Exports a [`Plugin`] (and the role traits it implements) as the
/// component's entry points. One line, after the `impl` blocks:
/// `stagehand_plugin_sdk::export!(MyPlugin);`
#[macro_export]
macro_rules! export {
    ($plugin:ty) => {
        const _: () = {
            #[allow(unused_imports)]
            use $crate::__export::{
                NoActions as _, NoFormatter as _, NoRenderer as _, ViaActions as _,
                ViaFormatter as _, ViaRenderer as _,
            };

            ::std::thread_local! {
                static PLUGIN: ::core::cell::RefCell<::core::option::Option<$plugin>> =
                    const { ::core::cell::RefCell::new(::core::option::Option::None) };
            }

            const PROBE: &$crate::__export::Probe<$plugin> =
                &$crate::__export::Probe(::core::marker::PhantomData);

            /// Runs `f` on the configured plugin, or answers `otherwise`.
            fn with_plugin<R>(otherwise: R, f: impl FnOnce(&mut $plugin) -> R) -> R {
                let out = PLUGIN.with(|cell| match cell.borrow_mut().as_mut() {
                    ::core::option::Option::Some(plugin) => f(plugin),
                    ::core::option::Option::None => otherwise,
                });
                $crate::host::__flush();
                out
            }

            impl $crate::__export::Described for $plugin {
                fn completed_info() -> $crate::Info {
                    let implements = $crate::__export::implemented(
                        PROBE.formats(),
                        PROBE.acts(),
                        PROBE.renders(),
                    );
                    $crate::__export::info(
                        <$plugin as $crate::Plugin>::describe(),
                        ::core::env!("CARGO_PKG_NAME"),
                        ::core::env!("CARGO_PKG_VERSION"),
                        implements,
                    )
                }
            }

            struct StagehandPluginExport;

            impl $crate::bindings::exports::stagehand::plugin::handler::Guest
                for StagehandPluginExport
            {
                fn describe() -> $crate::Info {
                    let info = <$plugin as $crate::__export::Described>::completed_info();
                    $crate::host::__flush();
                    info
                }

                fn configure(
                    settings: ::std::string::String,
                ) -> ::core::result::Result<(), ::std::string::String> {
                    let settings = $crate::Settings::parse(&settings)?;
                    let built = <$plugin as $crate::Plugin>::new(settings);
                    $crate::host::__flush();
                    let plugin = built?;
                    PLUGIN.with(|cell| *cell.borrow_mut() = ::core::option::Option::Some(plugin));
                    ::core::result::Result::Ok(())
                }

                fn format(e: $crate::Event) -> ::core::option::Option<$crate::Display> {
                    with_plugin(::core::option::Option::None, |p| PROBE.format(p, &e))
                }

                fn on_event(
                    e: $crate::Event,
                ) -> ::core::result::Result<::std::vec::Vec<$crate::Action>, ::std::string::String>
                {
                    with_plugin(
                        ::core::result::Result::Err($crate::__export::NOT_CONFIGURED.into()),
                        |p| PROBE.on_event(p, &e),
                    )
                }

                fn render(a: $crate::Alert) -> ::core::option::Option<$crate::Alert> {
                    with_plugin(::core::option::Option::None, |p| PROBE.render(p, a))
                }
            }

            // Only a WebAssembly build exports: the entry points' names
            // (`stagehand:plugin/handler@0.3.0#on-event`) are not valid
            // symbols for a native library.
            #[cfg(target_arch = "wasm32")]
            $crate::bindings::__export_plugin_world!(StagehandPluginExport with_types_in $crate::bindings);
        };
    };
}
