// Declarations of @stagehand/plugin-sdk (the JavaScript in index.js and
// lib/). The contract's types are those of the WIT package
// stagehand:plugin@0.3.0 (wit/plugin.wit; jco's declarations of it are in
// types/) as a plugin sees them through this SDK: u64 fields are numbers
// and an absent option is null (test/types.ts checks the two agree).

// ---------------------------------------------------------------- contract

/** Where an event came from. */
export type Source =
  /** Twitch EventSub WebSocket notification. */
  | "eventsub"
  /** A change detected by polling Twitch's API. */
  | "poll"
  /** A chat message or command. */
  | "chat"
  /** Fired by the streamer (dashboard, API, `stagehand trigger`). */
  | "test"
  /** From outside Twitch: the streamer's Discord bot (through Redis) or a service's webhook (Ko-fi). */
  | "external";

/** A Twitch user. */
export interface Viewer {
  /** Twitch user id: stable across renames. Empty when the event named the viewer only by name (a test event from the dashboard). */
  id: string;
  /** Lowercase login name. */
  login: string;
  displayName: string;
}

/** `channel.follow`: the event's viewer followed. */
export interface Follow {
  /** When, as Twitch says (ms since the Unix epoch, UTC). */
  followedAtMs: number | null;
}

/** `channel.ban`: the event's viewer was banned or timed out. */
export interface Ban {
  /** False for a timeout. */
  permanent: boolean;
  /** A timeout's length. */
  durationSeconds: number | null;
  /** When a timeout ends (ms since the Unix epoch, UTC). */
  expiresAtMs: number | null;
  reason: string | null;
  moderatorName: string | null;
  moderatorId: string | null;
}

/** `channel.subscribe`: the event's viewer subscribed (or was gifted a sub). */
export interface Subscribe {
  /** 1000, 2000 or 3000 (Prime is 1000). */
  tier: number;
  isGift: boolean;
}

/** `channel.subscription.message`: a resub shared in chat. */
export interface Resub {
  tier: number;
  cumulativeMonths: number;
  message: string;
}

/** `channel.subscription.end` */
export interface SubscriptionEnd {
  tier: number;
}

/** `channel.subscription.gift`: the event's viewer (none when anonymous) gave `total` subs. */
export interface Gift {
  tier: number;
  total: number;
  anonymous: boolean;
}

/** `channel.cheer`: the event's viewer (none when anonymous) cheered. */
export interface Cheer {
  bits: number;
  message: string;
  anonymous: boolean;
}

/** `channel.raid`: the event's viewer raided with `viewers` people. */
export interface Raid {
  viewers: number;
}

/** A channel points reward. */
export interface Reward {
  id: string;
  title: string;
  cost: number;
  prompt: string;
}

/** `channel.channel_points_custom_reward_redemption.add` */
export interface Redemption {
  reward: Reward;
  /** What the viewer typed, for rewards that ask for text. */
  userInput: string;
  /** `unfulfilled`, `fulfilled` or `canceled`. */
  status: string;
}

/** A chat badge as Twitch gives it (`subscriber`, `12`, `16`). */
export interface Badge {
  setId: string;
  id: string;
  info: string;
}

/** `channel.chat.message`: the event's viewer said something. */
export interface ChatMessage {
  text: string;
  badges: Badge[];
}

/** `stream.online` */
export interface StreamOnline {
  broadcasterName: string;
  /** `live`, `playlist`, `watch_party`, `premiere` or `rerun`. */
  streamType: string;
  startedAtMs: number | null;
}

/** `stream.offline` */
export interface StreamOffline {
  broadcasterName: string;
}

/** `channel.clip.created` (seen by polling). */
export interface Clip {
  title: string;
  url: string;
  creatorName: string;
  viewCount: number;
}

/**
 * `donation`: a tip through a service outside Twitch (Ko-fi, or a webhook
 * the streamer set up). The giver is named here, not in the event's viewer:
 * they are not a Twitch user.
 */
export interface Donation {
  /** Who gave, as the service names them; empty when it names nobody. */
  username: string;
  /** A decimal number exactly as the service sent it ("5.00"): never a float, so no cent is lost. */
  amount: string;
  /** ISO 4217 code, three capital letters ("USD", "EUR"). */
  currency: string;
  /** What they wrote. The message of a private donation is for the streamer's eyes: show it publicly (alerts, chat, speech) only when `isPublic`. */
  message: string;
  /** False when the giver asked that it not be shown publicly. */
  isPublic: boolean;
  /** The service: "kofi" or the name of the webhook it came through. */
  source: string;
  /** The service's kind of payment, e.g. Ko-fi's `Donation`, `Subscription`, `Shop Order` or `Commission`. */
  donationType: string;
  /** A membership tier's name, when the payment is for one. */
  tierName: string;
}

/**
 * The `discord.*` kinds, from the streamer's Discord bot: a member joined or
 * left, a ticket was opened or closed, a giveaway was created, ended or
 * entered (the event's kind says which). Fields the message does not have
 * are empty.
 */
export interface Discord {
  guildId: string;
  /** The member the event is about (the entrant, the ticket's opener). */
  userId: string;
  username: string;
  giveawayId: string;
  prize: string;
  /** A giveaway's winner (`discord.giveaway.end`). */
  winnerId: string;
  ticketId: string;
  /** The message's whole `data` object as it came, as JSON, for fields not modelled here. */
  data: string;
}

/**
 * What an event carries, by kind (switch on `tag`). Kinds about the
 * event's viewer and nothing more carry nothing else (no `val`).
 */
export type EventData =
  | { tag: "follow"; val: Follow }
  /** `channel.unfollow` (seen by polling). */
  | { tag: "unfollow" }
  | { tag: "ban"; val: Ban }
  /** `channel.unban` */
  | { tag: "unban" }
  /** `channel.timeout.end`: a timeout ran out or was lifted. */
  | { tag: "timeout-end" }
  /** `channel.vip.add` */
  | { tag: "vip-add" }
  /** `channel.vip.remove` */
  | { tag: "vip-remove" }
  /** `channel.moderator.add` */
  | { tag: "moderator-add" }
  /** `channel.moderator.remove` */
  | { tag: "moderator-remove" }
  | { tag: "subscribe"; val: Subscribe }
  | { tag: "resub"; val: Resub }
  | { tag: "subscription-end"; val: SubscriptionEnd }
  | { tag: "gift"; val: Gift }
  | { tag: "cheer"; val: Cheer }
  | { tag: "raid"; val: Raid }
  | { tag: "redemption"; val: Redemption }
  | { tag: "chat-message"; val: ChatMessage }
  | { tag: "stream-online"; val: StreamOnline }
  | { tag: "stream-offline"; val: StreamOffline }
  | { tag: "clip"; val: Clip }
  /** `donation` */
  | { tag: "donation"; val: Donation }
  /** Every `discord.*` kind. */
  | { tag: "discord"; val: Discord }
  /** A kind Stagehand does not model: its fields as a JSON object (read them with `field`). */
  | { tag: "other"; val: string };

/** The data of one kind: `DataOf<"cheer">` is `{ tag: "cheer"; val: Cheer }`. */
export type DataOf<Tag extends EventData["tag"]> = Extract<EventData, { tag: Tag }>;

/** A channel event. */
export interface Event {
  /** Unique event id. */
  id: string;
  /** The kind's name, e.g. `channel.follow` (constants in `kinds`). */
  kind: string;
  source: Source;
  /** The broadcaster's Twitch user id. */
  channelId: string;
  /** The viewer the event is about, if any. */
  viewer: Viewer | null;
  /** When it happened (ms since the Unix epoch, UTC). */
  occurredAtMs: number;
  data: EventData;
}

/** How the dashboard shows an event (formatter role). */
export interface Display {
  /** Short name of the kind, e.g. "Follow". */
  label: string;
  /** An emoji or short symbol. */
  icon: string;
  /** CSS color, e.g. "#0066cc". */
  color: string;
  /** One line describing what happened, e.g. "JaneDoe followed". */
  text: string;
}

/** An alert for an overlay (an OBS browser source). */
export interface Alert {
  /** Overlay name; "alerts" is the default one. */
  overlay: string;
  title: string;
  message: string;
  imageUrl: string | null;
  soundUrl: string | null;
  videoUrl: string | null;
  /** Text the overlay reads aloud with the browser's speech synthesis. */
  tts: string | null;
  /** How long the alert stays on screen. */
  durationMs: number;
  /** Custom markup replacing the default layout; `{title}`, `{message}` and `{image_url}` are filled in. */
  html: string | null;
  /** Extra CSS for this alert. */
  css: string | null;
}

/** Mute a viewer's TTS for some minutes, or for good. */
export interface TtsMute {
  /** Viewer login (a leading `@` is ignored). */
  login: string;
  /** Null: until unmuted. */
  minutes: number | null;
}

/** Make a viewer wait between TTS messages for a while. */
export interface TtsCooldown {
  login: string;
  /** Minimum gap between two of their messages. */
  gapSeconds: number;
  /** How long the cooldown lasts. */
  minutes: number;
}

/** An HTTP POST to an allowed host. */
export interface WebhookRequest {
  /** https URL; its host must be granted in `plugin.toml` (`webhooks = ["host"]`). */
  url: string;
  /** JSON body. */
  body: string;
}

/**
 * Something the host should do (build them with `showAlert`, `speak`,
 * ...). Actions other than `show-alert` and `speak` need a permission the
 * streamer granted.
 */
export type Action =
  /** Queue an alert on an overlay. */
  | { tag: "show-alert"; val: Alert }
  /** Read text aloud on the speech overlay. */
  | { tag: "speak"; val: string }
  /** Say something in chat (permission `chat`). */
  | { tag: "send-chat"; val: string }
  /** TTS restrictions (permission `tts_rules`). */
  | { tag: "mute-tts"; val: TtsMute }
  | { tag: "unmute-tts"; val: string }
  | { tag: "cooldown-tts"; val: TtsCooldown }
  /** Remove every TTS rule of a viewer. */
  | { tag: "clear-tts"; val: string }
  /** POST to a webhook (permission `webhooks` listing the URL's host). */
  | { tag: "webhook"; val: WebhookRequest };

/** What a plugin does. */
export type Role =
  /** `format` gives the dashboard's display of events. */
  | "formatter"
  /** `onEvent` turns events into actions. */
  | "actions"
  /** `render` restyles every alert before it is shown. */
  | "renderer";

/** A plugin's self-description (`describe`). Name and version come from `plugin.toml`. */
export interface Info {
  name: string;
  version: string;
  /** Event kinds it wants; "*" for all. */
  kinds: string[];
  /** The roles the host calls it for. */
  roles: Role[];
  /** The roles it has code for. */
  implements: Role[];
}

/** Log levels. */
export type Level = "trace" | "debug" | "info" | "warn" | "error";

// ---------------------------------------------------------------- plugins

/**
 * A plugin instance: the roles it plays are the methods it has. Each may
 * throw: `onEvent`'s error is shown to the streamer as the plugin's last
 * error; a `format` or `render` error is logged and the call answers
 * "nothing".
 */
export interface Plugin {
  /** Formatter role: the dashboard display of `event`, or null to leave it to other formatters. */
  format?(event: Event): Display | null | undefined;
  /** Actions role: what to do about `event` (an empty list: nothing). */
  onEvent?(event: Event): Action[] | null | undefined;
  /** Renderer role: the restyled alert, or null to leave it as it is. */
  render?(alert: Alert): Alert | Partial<Alert> | null | undefined;
}

/**
 * A plugin class: built once per instance with the plugin's settings
 * (throw to refuse them; the streamer sees the message).
 */
export type PluginClass<P extends Plugin = Plugin> = new (settings: Settings) => P;

/** What `exportPlugin` wants to know besides the class. */
export interface ExportOptions {
  /** Event kinds wanted (constants in `kinds`); default: every kind ("*"). */
  kinds?: readonly string[];
  /** Roles the host should call, when not every implemented one (rarely useful). */
  roles?: readonly Role[];
}

/** The component's `handler` export (interface `handler` of the contract). */
export interface Handler {
  describe(): Info;
  configure(settings: string): void;
  format(event: Event): Display | null;
  onEvent(event: Event): Action[];
  render(alert: Alert): Alert | null;
}

/**
 * The component's `handler` export for a plugin class:
 * `export const handler = exportPlugin(MyPlugin, { kinds: [kinds.FOLLOW] });`
 * Roles are the methods the class's prototype has (`format`, `onEvent`,
 * `render`); name and version come from plugin.toml.
 */
export function exportPlugin<P extends Plugin>(plugin: PluginClass<P>, options?: ExportOptions): Handler;

/** An error as the message the streamer sees (an Error's message, a string as is). */
export function errorText(error: unknown): string;

/** What `onEvent` throws before a successful `configure`. */
export const NOT_CONFIGURED: string;

/**
 * A plugin's settings: its plugin.toml `[settings]` (or what the streamer
 * saved) with getters that answer null for a missing or mistyped value.
 */
export class Settings {
  /** From JSON text (empty: no settings) or an object; anything but a JSON object throws. */
  constructor(json?: string | Record<string, unknown> | null);
  /** From JSON text, as the constructor. */
  static parse(json: string): Settings;
  /** The settings as the host has them now. */
  static fromHost(): Settings;
  /** The raw value of `key`. */
  get(key: string): unknown;
  /** Whether `key` is set at all. */
  has(key: string): boolean;
  /** A text setting. */
  str(key: string): string | null;
  /** A text setting, or `fallback`. */
  strOr(key: string, fallback: string): string;
  /** A whole number ≥ 0 (a number, or a string holding one). */
  uint(key: string): number | null;
  /** A number (or a string holding one). */
  number(key: string): number | null;
  /** A boolean setting. */
  bool(key: string): boolean | null;
  /** A copy of the whole object. */
  toJSON(): Record<string, unknown>;
}

// ---------------------------------------------------------------- host

/** The plugin's key-value storage: persisted across reloads and restarts. */
export const kv: {
  /** The stored value of `key`, or null. */
  get(key: string): string | null;
  /** Stores `value` (sent to the host when the call returns). */
  set(key: string, value: string): void;
  /** Removes `key`. */
  delete(key: string): void;
  /** A number stored with `set`; 0 when absent or not a number. */
  getNumber(key: string): number;
};

/** Lines in the host's log, tagged with the plugin's name. */
export const log: {
  trace(message: string): void;
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
};

/** Milliseconds since the Unix epoch (UTC), from the host's clock. */
export function now(): number;

// ---------------------------------------------------------------- events

/** Whom to name: "An anonymous gifter", "Anonymous", the clip's creator, the broadcaster, a donation's giver or a Discord member, the viewer, else "Someone". */
export function who(event: Event): string;
/** As `who`, but null instead of "Someone". */
export function named(event: Event): string | null;
/** A field by its JSON name (`bits`, `reward.title`, `tier_name`, `viewer.login`, ...) as text, or null. */
export function field(event: Event, name: string): string | null;
/** A field of a JSON value by dotted path, as text (strings, numbers, booleans), or null. */
export function lookup(value: unknown, path: string): string | null;
/** The message a viewer attached (resub, cheer, chat, redemption input, a public donation's), or null when blank or private. */
export function message(event: Event): string | null;

// ---------------------------------------------------------------- text

/** Fills each `{name}` with `lookup(name)` (unknown: empty); `{{` and `}}` are literal braces. */
export function render(template: string, lookup: (name: string) => string | number | boolean | null | undefined): string;
/** Tier codes as people say them: "1000" → "Tier 1", "prime" → "Prime". */
export function tierName(tier: string | number): string;
/** Whether `name` is a template variable name (`bits`, `reward.title`). */
export function isName(name: string): boolean;

// ---------------------------------------------------------------- builders

/** An alert for the default overlay, 5 seconds, empty options; `extras` sets other fields. */
export function alert(title: string, message: string, extras?: Partial<Alert>): Alert;
/** A formatter's display. */
export function display(label: string, icon: string, color: string, text: string): Display;
/** Queue an alert (partial alerts are completed as by `alert`). */
export function showAlert(alert: Partial<Alert> & Pick<Alert, "title">): Action & { tag: "show-alert" };
/** Queue `alert(title, message, extras)`. */
export function showAlert(title: string, message: string, extras?: Partial<Alert>): Action & { tag: "show-alert" };
/** Read text aloud on the speech overlay. */
export function speak(text: string): Action & { tag: "speak" };
/** Say something in chat (permission `chat`). */
export function sendChat(text: string): Action & { tag: "send-chat" };
/** Mute a viewer's TTS for `minutes`, or until unmuted (permission `tts_rules`). */
export function muteTts(login: string, minutes?: number | null): Action & { tag: "mute-tts" };
/** Lift a viewer's TTS mute (permission `tts_rules`). */
export function unmuteTts(login: string): Action & { tag: "unmute-tts" };
/** A TTS cooldown: `gapSeconds` between messages for `minutes` (permission `tts_rules`). */
export function cooldownTts(login: string, gapSeconds: number, minutes: number): Action & { tag: "cooldown-tts" };
/** Remove every TTS rule of a viewer (permission `tts_rules`). */
export function clearTts(login: string): Action & { tag: "clear-tts" };
/** POST `body` (JSON text, or a value sent as JSON) to `url` (permission `webhooks`). */
export function webhook(url: string, body: unknown): Action & { tag: "webhook" };

// ---------------------------------------------------------------- constants

/** The kinds Stagehand models, by name. */
export namespace kinds {
  const FOLLOW: "channel.follow";
  /** Seen by polling only. */
  const UNFOLLOW: "channel.unfollow";
  const BAN: "channel.ban";
  const UNBAN: "channel.unban";
  /** Seen by polling only. */
  const TIMEOUT_END: "channel.timeout.end";
  const VIP_ADD: "channel.vip.add";
  const VIP_REMOVE: "channel.vip.remove";
  const MODERATOR_ADD: "channel.moderator.add";
  const MODERATOR_REMOVE: "channel.moderator.remove";
  const SUBSCRIBE: "channel.subscribe";
  /** A resub shared in chat. */
  const RESUB: "channel.subscription.message";
  const SUBSCRIPTION_END: "channel.subscription.end";
  const GIFT: "channel.subscription.gift";
  const CHEER: "channel.cheer";
  const RAID: "channel.raid";
  const REDEMPTION: "channel.channel_points_custom_reward_redemption.add";
  const CHAT_MESSAGE: "channel.chat.message";
  const STREAM_ONLINE: "stream.online";
  const STREAM_OFFLINE: "stream.offline";
  /** Seen by polling only. */
  const CLIP_CREATED: "channel.clip.created";
  /** A tip through a service outside Twitch; source "external". */
  const DONATION: "donation";
  /** From the streamer's Discord bot (source "external"). */
  const DISCORD_MEMBER_JOIN: "discord.member.join";
  const DISCORD_MEMBER_LEAVE: "discord.member.leave";
  const DISCORD_TICKET_CREATE: "discord.ticket.create";
  const DISCORD_TICKET_CLOSE: "discord.ticket.close";
  const DISCORD_GIVEAWAY_CREATE: "discord.giveaway.create";
  const DISCORD_GIVEAWAY_END: "discord.giveaway.end";
  const DISCORD_GIVEAWAY_ENTRY: "discord.giveaway.entry";
  /** Every kind. */
  const ALL: "*";
  /** Every modelled kind. */
  const KNOWN: readonly string[];
}

/** What the host accepts from a plugin (bytes unless named otherwise). */
export namespace limits {
  /** Actions one `onEvent` call may return; more is refused whole. */
  const MAX_ACTIONS_PER_EVENT: number;
  const MAX_DISPLAY_LABEL: number;
  const MAX_DISPLAY_ICON: number;
  const MAX_DISPLAY_COLOR: number;
  const MAX_DISPLAY_TEXT: number;
  const MAX_ALERT_TITLE: number;
  const MAX_ALERT_MESSAGE: number;
  const MAX_ALERT_TTS: number;
  /** An alert's custom HTML and CSS, each. */
  const MAX_ALERT_MARKUP: number;
  /** A media URL (a `data:` URL is the longest kind). */
  const MAX_MEDIA_URL: number;
  /** The longest alert, in milliseconds. */
  const MAX_ALERT_DURATION_MS: number;
  /** Overlay names are 1 to this many of `a-z`, `0-9` and `-`. */
  const MAX_OVERLAY_NAME: number;
  /** A chat message, in characters. */
  const MAX_CHAT_MESSAGE: number;
  /** The longest TTS mute or cooldown, in minutes. */
  const MAX_TTS_RULE_MINUTES: number;
  /** The longest gap a TTS cooldown imposes, in seconds. */
  const MAX_TTS_COOLDOWN_GAP_SECONDS: number;
  /** All of a plugin's keys and values together. */
  const MAX_KV_BYTES: number;
  /** Number of keys. */
  const MAX_KV_KEYS: number;
  const MAX_KV_KEY_BYTES: number;
  const MAX_KV_VALUE_BYTES: number;
  /** What one call may write. */
  const MAX_KV_WRITE_PER_CALL: number;
  /** A log line (longer ones are cut). */
  const MAX_LOG_LINE: number;
  /** An error string (longer ones are cut). */
  const MAX_ERROR: number;
  /** The call deadline a plugin gets without asking, in ms. */
  const DEFAULT_DEADLINE_MS: number;
  /** The memory budget a plugin gets without asking, in MiB. */
  const DEFAULT_MEMORY_MIB: number;
  /** The most a plugin may ask for (the streamer must grant it). */
  const MAX_DEADLINE_MS: number;
  const MAX_MEMORY_MIB: number;
}
