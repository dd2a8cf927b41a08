//! `stagehand demo`'s audience: a task that makes the mock channel look
//! alive, with follows mostly, chat, subs and resubs, a gift now and then,
//! cheers, channel-point redemptions and the occasional raid, at random
//! intervals. With a seed, the sequence of triggers is reproducible.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::control::MockControl;
use super::names;
use super::triggers::Trigger;

/// How the demo behaves.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Mean time between two events (they arrive at random, exponentially
    /// distributed intervals).
    pub mean_interval: Duration,
    /// A seed makes the sequence of triggers reproducible.
    pub seed: Option<u64>,
    /// Start with `stream.online` (and end with `stream.offline`).
    pub go_live: bool,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            mean_interval: Duration::from_secs(4),
            seed: None,
            go_live: true,
        }
    }
}

/// The pure part of the demo: which trigger comes next and after how long.
#[derive(Debug)]
pub struct DemoScript {
    rng: StdRng,
    mean: Duration,
    regulars: Vec<String>,
}

impl DemoScript {
    /// A script with this mean interval, seeded (or random).
    pub fn new(mean_interval: Duration, seed: Option<u64>) -> Self {
        let mut rng = match seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => rand::make_rng(),
        };
        let regulars = (0..20).map(|_| names::login(&mut rng)).collect();
        DemoScript {
            rng,
            mean: mean_interval,
            regulars,
        }
    }

    /// A regular viewer (chatters and subscribers come back).
    fn regular(&mut self) -> String {
        let index = self.rng.random_range(0..self.regulars.len());
        self.regulars[index].clone()
    }

    /// The wait before the next event: exponential around the mean, kept
    /// between a tenth and five times the mean.
    pub fn next_delay(&mut self) -> Duration {
        let u: f64 = self.rng.random();
        let factor = -(1.0 - u).ln();
        self.mean.mul_f64(factor.clamp(0.1, 5.0))
    }

    /// The next trigger.
    pub fn next_trigger(&mut self) -> Trigger {
        let roll = self.rng.random_range(0..100u32);
        match roll {
            0..30 => {
                let login = names::login(&mut self.rng);
                // Some followers become regulars.
                if self.rng.random_bool(0.2) {
                    let slot = self.rng.random_range(0..self.regulars.len());
                    self.regulars[slot] = login.clone();
                }
                Trigger::new("channel.follow").user(login)
            }
            30..60 => {
                let login = self.regular();
                let text = names::chat_line(&mut self.rng);
                Trigger::new("channel.chat.message").user(login).text(text)
            }
            60..68 => Trigger {
                tier: Some(self.tier()),
                ..Trigger::new("channel.subscribe").user(self.regular())
            },
            68..74 => Trigger {
                months: Some(self.rng.random_range(2..40)),
                message: Some(names::chat_line(&mut self.rng).to_owned()),
                ..Trigger::new("channel.subscription.message").user(self.regular())
            },
            74..77 => Trigger {
                total: Some([1, 1, 5, 10][self.rng.random_range(0..4usize)]),
                is_anonymous: Some(self.rng.random_bool(0.2)),
                ..Trigger::new("channel.subscription.gift").user(self.regular())
            },
            77..87 => {
                let bits = [1, 50, 100, 100, 500, 1000][self.rng.random_range(0..6usize)];
                Trigger {
                    bits: Some(bits),
                    message: Some(format!("Cheer{bits} {}", names::chat_line(&mut self.rng))),
                    ..Trigger::new("channel.cheer").user(self.regular())
                }
            }
            87..89 => Trigger {
                viewers: Some(self.rng.random_range(3..400)),
                ..Trigger::new("channel.raid").user(names::login(&mut self.rng))
            },
            _ => Trigger {
                reward_title: Some(names::reward_title(&mut self.rng).to_owned()),
                ..Trigger::new("channel.channel_points_custom_reward_redemption.add")
                    .user(self.regular())
            },
        }
    }

    fn tier(&mut self) -> String {
        match self.rng.random_range(0..10u32) {
            0 => "3000",
            1 | 2 => "2000",
            _ => "1000",
        }
        .to_owned()
    }
}

/// The demo task: triggers events on a mock until cancelled.
#[derive(Debug)]
pub struct DemoStream {
    control: MockControl,
    options: DemoOptions,
}

impl DemoStream {
    /// A demo driving the mock behind `control`, one event every
    /// `mean_interval` on average, reproducible with a `seed`; it starts
    /// with `stream.online`.
    pub fn new(control: MockControl, mean_interval: Duration, seed: Option<u64>) -> Self {
        let options = DemoOptions {
            mean_interval,
            seed,
            ..DemoOptions::default()
        };
        DemoStream::with_options(control, options)
    }

    /// A demo driving the mock behind `control` with every option.
    pub fn with_options(control: MockControl, options: DemoOptions) -> Self {
        DemoStream { control, options }
    }

    /// Runs the demo on a new task until `cancel` fires.
    pub fn spawn(self, cancel: CancellationToken) -> JoinHandle<()> {
        tokio::spawn(self.run(cancel))
    }

    /// Runs the demo until `cancel` fires.
    pub async fn run(self, cancel: CancellationToken) {
        let mut script = DemoScript::new(self.options.mean_interval, self.options.seed);
        if self.options.go_live {
            self.send(Trigger::new("stream.online")).await;
        }
        loop {
            let delay = script.next_delay();
            tokio::select! {
                () = cancel.cancelled() => break,
                () = tokio::time::sleep(delay) => {
                    let trigger = script.next_trigger();
                    self.send(trigger).await;
                }
            }
        }
        if self.options.go_live {
            self.send(Trigger::new("stream.offline")).await;
        }
    }

    async fn send(&self, trigger: Trigger) {
        match self.control.trigger(trigger.clone()).await {
            Ok(sent) => tracing::debug!(
                kind = %trigger.kind,
                user = ?trigger.user,
                notifications = sent.delivered(),
                "demo event"
            ),
            Err(error) => tracing::warn!(%error, kind = %trigger.kind, "demo trigger failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::triggers::TriggerKind;

    #[test]
    fn a_seed_makes_the_script_reproducible() {
        let mut a = DemoScript::new(Duration::from_secs(4), Some(42));
        let mut b = DemoScript::new(Duration::from_secs(4), Some(42));
        for _ in 0..50 {
            assert_eq!(a.next_trigger(), b.next_trigger());
            assert_eq!(a.next_delay(), b.next_delay());
        }
    }

    #[test]
    fn the_mix_is_mostly_follows_and_chat_and_every_trigger_is_valid() {
        let mut script = DemoScript::new(Duration::from_secs(4), Some(7));
        let mut follows = 0;
        let mut kinds = std::collections::HashSet::new();
        for _ in 0..1000 {
            let trigger = script.next_trigger();
            assert!(
                TriggerKind::parse(&trigger.kind).is_some(),
                "{}",
                trigger.kind
            );
            if trigger.kind == "channel.follow" {
                follows += 1;
            }
            kinds.insert(trigger.kind);
        }
        assert!((200..400).contains(&follows), "{follows}");
        assert!(kinds.len() >= 7, "{kinds:?}");
    }

    #[test]
    fn delays_stay_around_the_mean() {
        let mut script = DemoScript::new(Duration::from_secs(4), Some(1));
        let delays: Vec<Duration> = (0..2000).map(|_| script.next_delay()).collect();
        assert!(delays.iter().all(|d| *d >= Duration::from_millis(400)));
        assert!(delays.iter().all(|d| *d <= Duration::from_secs(20)));
        let mean = delays.iter().sum::<Duration>() / 2000;
        assert!(
            (Duration::from_secs(3)..Duration::from_secs(5)).contains(&mean),
            "{mean:?}"
        );
    }
}
