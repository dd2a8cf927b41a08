declare module 'stagehand:plugin/types@0.3.0' {
  /**
   * Where an event came from.
   * # Variants
   * 
   * ## `"eventsub"`
   * 
   * Twitch EventSub WebSocket notification.
   * ## `"poll"`
   * 
   * A change detected by polling Twitch's API.
   * ## `"chat"`
   * 
   * A chat message or command.
   * ## `"test"`
   * 
   * Fired by the streamer (dashboard, API, `stagehand trigger`).
   * ## `"external"`
   * 
   * From outside Twitch: a program of the streamer's community (a
   * Discord bot through Redis) or a service's webhook (Ko-fi).
   */
  export type Source = 'eventsub' | 'poll' | 'chat' | 'test' | 'external';
  /**
   * A Twitch user.
   */
  export interface Viewer {
    /**
     * Twitch user id: stable across renames. Empty when the event
     * named the viewer only by name (a test event from the dashboard).
     */
    id: string,
    /**
     * Lowercase login name.
     */
    login: string,
    displayName: string,
  }
  /**
   * `channel.follow`: the event's viewer followed.
   */
  export interface Follow {
    /**
     * When, as Twitch says (ms since the Unix epoch, UTC).
     */
    followedAtMs?: bigint,
  }
  /**
   * `channel.ban`: the event's viewer was banned or timed out.
   */
  export interface Ban {
    /**
     * False for a timeout.
     */
    permanent: boolean,
    /**
     * A timeout's length.
     */
    durationSeconds?: bigint,
    /**
     * When a timeout ends (ms since the Unix epoch, UTC).
     */
    expiresAtMs?: bigint,
    reason?: string,
    moderatorName?: string,
    moderatorId?: string,
  }
  /**
   * `channel.subscribe`: the event's viewer subscribed (or was gifted a sub).
   */
  export interface Subscribe {
    /**
     * 1000, 2000 or 3000 (Prime is 1000).
     */
    tier: number,
    isGift: boolean,
  }
  /**
   * `channel.subscription.message`: a resub shared in chat.
   */
  export interface Resub {
    tier: number,
    cumulativeMonths: number,
    message: string,
  }
  /**
   * `channel.subscription.end`
   */
  export interface SubscriptionEnd {
    tier: number,
  }
  /**
   * `channel.subscription.gift`: the event's viewer (none when
   * anonymous) gave `total` subs.
   */
  export interface Gift {
    tier: number,
    total: number,
    anonymous: boolean,
  }
  /**
   * `channel.cheer`: the event's viewer (none when anonymous) cheered.
   */
  export interface Cheer {
    bits: number,
    message: string,
    anonymous: boolean,
  }
  /**
   * `channel.raid`: the event's viewer raided with `viewers` people.
   */
  export interface Raid {
    viewers: number,
  }
  /**
   * A channel points reward.
   */
  export interface Reward {
    id: string,
    title: string,
    cost: number,
    prompt: string,
  }
  /**
   * `channel.channel_points_custom_reward_redemption.add`
   */
  export interface Redemption {
    reward: Reward,
    /**
     * What the viewer typed, for rewards that ask for text.
     */
    userInput: string,
    /**
     * `unfulfilled`, `fulfilled` or `canceled`.
     */
    status: string,
  }
  /**
   * A chat badge as Twitch gives it (`subscriber`, `12`, `16`).
   */
  export interface Badge {
    setId: string,
    id: string,
    info: string,
  }
  /**
   * `channel.chat.message`: the event's viewer said something.
   */
  export interface ChatMessage {
    text: string,
    badges: Array<Badge>,
  }
  /**
   * `stream.online`
   */
  export interface StreamOnline {
    broadcasterName: string,
    /**
     * `live`, `playlist`, `watch_party`, `premiere` or `rerun`.
     */
    streamType: string,
    startedAtMs?: bigint,
  }
  /**
   * `stream.offline`
   */
  export interface StreamOffline {
    broadcasterName: string,
  }
  /**
   * `channel.clip.created` (seen by polling).
   */
  export interface Clip {
    title: string,
    url: string,
    creatorName: string,
    viewCount: bigint,
  }
  /**
   * `donation`: a tip through a service outside Twitch (Ko-fi, or a
   * webhook the streamer set up). The giver is named here, not in the
   * event's viewer: they are not a Twitch user.
   */
  export interface Donation {
    /**
     * Who gave, as the service names them; empty when it names nobody.
     */
    username: string,
    /**
     * A decimal number exactly as the service sent it ("5.00"):
     * never a float, so no cent is lost.
     */
    amount: string,
    /**
     * ISO 4217 code, three capital letters ("USD", "EUR").
     */
    currency: string,
    /**
     * What they wrote. The message of a private donation is for the
     * streamer's eyes: show it publicly (alerts, chat, speech) only
     * when `is-public`.
     */
    message: string,
    /**
     * False when the giver asked that it not be shown publicly.
     */
    isPublic: boolean,
    /**
     * The service: "kofi" or the name of the webhook it came through.
     */
    source: string,
    /**
     * The service's kind of payment, e.g. Ko-fi's `Donation`,
     * `Subscription`, `Shop Order` or `Commission`.
     */
    donationType: string,
    /**
     * A membership tier's name, when the payment is for one.
     */
    tierName: string,
  }
  /**
   * The `discord.*` kinds, from the streamer's Discord bot: a member
   * joined or left, a ticket was opened or closed, a giveaway was
   * created, ended or entered (the event's kind says which). Fields the
   * message does not have are empty.
   */
  export interface Discord {
    guildId: string,
    /**
     * The member the event is about (the entrant, the ticket's opener).
     */
    userId: string,
    username: string,
    giveawayId: string,
    prize: string,
    /**
     * A giveaway's winner (`discord.giveaway.end`).
     */
    winnerId: string,
    ticketId: string,
    /**
     * The message's whole `data` object as it came, as JSON, for
     * fields not modelled here.
     */
    data: string,
  }
  /**
   * What an event carries, by kind. Kinds about the event's viewer and
   * nothing more carry nothing else.
   */
  export type EventData = EventDataFollow | EventDataUnfollow | EventDataBan | EventDataUnban | EventDataTimeoutEnd | EventDataVipAdd | EventDataVipRemove | EventDataModeratorAdd | EventDataModeratorRemove | EventDataSubscribe | EventDataResub | EventDataSubscriptionEnd | EventDataGift | EventDataCheer | EventDataRaid | EventDataRedemption | EventDataChatMessage | EventDataStreamOnline | EventDataStreamOffline | EventDataClip | EventDataDonation | EventDataDiscord | EventDataOther;
  export interface EventDataFollow {
    tag: 'follow',
    val: Follow,
  }
  /**
   * `channel.unfollow` (seen by polling).
   */
  export interface EventDataUnfollow {
    tag: 'unfollow',
  }
  export interface EventDataBan {
    tag: 'ban',
    val: Ban,
  }
  /**
   * `channel.unban`
   */
  export interface EventDataUnban {
    tag: 'unban',
  }
  /**
   * `channel.timeout.end`: a timeout ran out or was lifted.
   */
  export interface EventDataTimeoutEnd {
    tag: 'timeout-end',
  }
  /**
   * `channel.vip.add`
   */
  export interface EventDataVipAdd {
    tag: 'vip-add',
  }
  /**
   * `channel.vip.remove`
   */
  export interface EventDataVipRemove {
    tag: 'vip-remove',
  }
  /**
   * `channel.moderator.add`
   */
  export interface EventDataModeratorAdd {
    tag: 'moderator-add',
  }
  /**
   * `channel.moderator.remove`
   */
  export interface EventDataModeratorRemove {
    tag: 'moderator-remove',
  }
  export interface EventDataSubscribe {
    tag: 'subscribe',
    val: Subscribe,
  }
  export interface EventDataResub {
    tag: 'resub',
    val: Resub,
  }
  export interface EventDataSubscriptionEnd {
    tag: 'subscription-end',
    val: SubscriptionEnd,
  }
  export interface EventDataGift {
    tag: 'gift',
    val: Gift,
  }
  export interface EventDataCheer {
    tag: 'cheer',
    val: Cheer,
  }
  export interface EventDataRaid {
    tag: 'raid',
    val: Raid,
  }
  export interface EventDataRedemption {
    tag: 'redemption',
    val: Redemption,
  }
  export interface EventDataChatMessage {
    tag: 'chat-message',
    val: ChatMessage,
  }
  export interface EventDataStreamOnline {
    tag: 'stream-online',
    val: StreamOnline,
  }
  export interface EventDataStreamOffline {
    tag: 'stream-offline',
    val: StreamOffline,
  }
  export interface EventDataClip {
    tag: 'clip',
    val: Clip,
  }
  /**
   * `donation`
   */
  export interface EventDataDonation {
    tag: 'donation',
    val: Donation,
  }
  /**
   * Every `discord.*` kind.
   */
  export interface EventDataDiscord {
    tag: 'discord',
    val: Discord,
  }
  /**
   * A kind Stagehand does not model: its fields as a JSON object.
   */
  export interface EventDataOther {
    tag: 'other',
    val: string,
  }
  /**
   * A channel event.
   */
  export interface Event {
    /**
     * Unique event id.
     */
    id: string,
    /**
     * The kind's name, e.g. `channel.follow`.
     */
    kind: string,
    source: Source,
    /**
     * The broadcaster's Twitch user id.
     */
    channelId: string,
    /**
     * The viewer the event is about, if any.
     */
    viewer?: Viewer,
    /**
     * When it happened (ms since the Unix epoch, UTC).
     */
    occurredAtMs: bigint,
    data: EventData,
  }
  /**
   * How the dashboard shows an event (formatter role).
   */
  export interface Display {
    /**
     * Short name of the kind, e.g. "Follow".
     */
    label: string,
    /**
     * An emoji or short symbol.
     */
    icon: string,
    /**
     * CSS color, e.g. "#0066cc".
     */
    color: string,
    /**
     * One line describing what happened, e.g. "JaneDoe followed".
     */
    text: string,
  }
  /**
   * An alert for an overlay (an OBS browser source).
   */
  export interface Alert {
    /**
     * Overlay name; "alerts" is the default one.
     */
    overlay: string,
    title: string,
    message: string,
    imageUrl?: string,
    soundUrl?: string,
    videoUrl?: string,
    /**
     * Text the overlay reads aloud with the browser's speech synthesis.
     */
    tts?: string,
    /**
     * How long the alert stays on screen.
     */
    durationMs: number,
    /**
     * Custom markup replacing the default layout; `{title}`,
     * `{message}` and `{image_url}` are filled in.
     */
    html?: string,
    /**
     * Extra CSS for this alert.
     */
    css?: string,
  }
  /**
   * Mute a viewer's TTS for some minutes, or for good.
   */
  export interface TtsMute {
    /**
     * Viewer login (a leading `@` is ignored).
     */
    login: string,
    /**
     * None: until unmuted.
     */
    minutes?: number,
  }
  /**
   * Make a viewer wait between TTS messages for a while.
   */
  export interface TtsCooldown {
    login: string,
    /**
     * Minimum gap between two of their messages.
     */
    gapSeconds: number,
    /**
     * How long the cooldown lasts.
     */
    minutes: number,
  }
  /**
   * An HTTP POST to an allowed host.
   */
  export interface WebhookRequest {
    /**
     * https URL; its host must be granted in `plugin.toml` (`webhooks = ["host"]`).
     */
    url: string,
    /**
     * JSON body.
     */
    body: string,
  }
  /**
   * Something the host should do. Actions other than `show-alert` and
   * `speak` need a permission the streamer granted.
   */
  export type Action = ActionShowAlert | ActionSpeak | ActionSendChat | ActionMuteTts | ActionUnmuteTts | ActionCooldownTts | ActionClearTts | ActionWebhook;
  /**
   * Queue an alert on an overlay.
   */
  export interface ActionShowAlert {
    tag: 'show-alert',
    val: Alert,
  }
  /**
   * Read text aloud on the speech overlay (the one chat read-aloud
   * uses). For a chat message event it is read as "<name> says
   * <text>" and the chatter's TTS access, mute, gap and cooldown
   * apply (a plugin cannot read a muted viewer aloud; speech it
   * gets read counts as that viewer's message); the speech is
   * dropped quietly when they refuse it.
   */
  export interface ActionSpeak {
    tag: 'speak',
    val: string,
  }
  /**
   * Say something in chat (permission `chat`).
   */
  export interface ActionSendChat {
    tag: 'send-chat',
    val: string,
  }
  /**
   * TTS restrictions (permission `tts_rules`).
   */
  export interface ActionMuteTts {
    tag: 'mute-tts',
    val: TtsMute,
  }
  export interface ActionUnmuteTts {
    tag: 'unmute-tts',
    val: string,
  }
  export interface ActionCooldownTts {
    tag: 'cooldown-tts',
    val: TtsCooldown,
  }
  /**
   * Remove every TTS rule of a viewer.
   */
  export interface ActionClearTts {
    tag: 'clear-tts',
    val: string,
  }
  /**
   * POST to a webhook (permission `webhooks` listing the URL's host).
   */
  export interface ActionWebhook {
    tag: 'webhook',
    val: WebhookRequest,
  }
  /**
   * What a plugin does.
   * # Variants
   * 
   * ## `"formatter"`
   * 
   * `format` gives the dashboard's display of events.
   * ## `"actions"`
   * 
   * `on-event` turns events into actions.
   * ## `"renderer"`
   * 
   * `render` restyles every alert before it is shown.
   */
  export type Role = 'formatter' | 'actions' | 'renderer';
  /**
   * A plugin's self-description. Its `plugin.toml` is the one source of
   * name and version; the host warns when these differ from it.
   */
  export interface Info {
    name: string,
    version: string,
    /**
     * Event kinds it wants; "*" for all.
     */
    kinds: Array<string>,
    /**
     * The roles the host calls it for.
     */
    roles: Array<Role>,
    /**
     * The roles it has code for (SDKs fill this in). One implemented
     * but missing from `roles` is never called: the host warns.
     */
    'implements': Array<Role>,
  }
  /**
   * Log levels for `host.log`.
   * # Variants
   * 
   * ## `"trace"`
   * 
   * ## `"debug"`
   * 
   * ## `"info"`
   * 
   * ## `"warn"`
   * 
   * ## `"error"`
   */
  export type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error';
  /**
   * One key-value change for `host.kv-write`.
   */
  export interface KvChange {
    key: string,
    /**
     * None deletes the key.
     */
    value?: string,
  }
}
