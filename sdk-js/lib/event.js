// Conveniences on events: whom to name, the attached message, and fields
// by their JSON names (what `{name}` means in a template). Same rules and
// names as the Rust SDK's `Event::who`, `Event::message` and `fields`.

import { tierName } from "./text.js";

/**
 * Whom an alert or post about `event` should name: "An anonymous gifter"
 * and "Anonymous" for anonymous gifts and cheers, the clip's creator, the
 * broadcaster for stream events, a donation's giver or a Discord member
 * (by their service's name), else the event's viewer, and "Someone" when
 * nothing names anyone. Never empty, so it is safe in any sentence.
 */
export function who(event) {
  return named(event) ?? "Someone";
}

/**
 * Whom `event` names, as `who`, but null rather than "Someone" when
 * nothing names anyone (to leave a name out instead of inventing one).
 */
export function named(event) {
  const d = event.data;
  let name = null;
  switch (d.tag) {
    case "gift":
      if (d.val.anonymous) name = "An anonymous gifter";
      break;
    case "cheer":
      if (d.val.anonymous) name = "Anonymous";
      break;
    case "clip":
      name = d.val.creatorName;
      break;
    case "stream-online":
    case "stream-offline":
      name = d.val.broadcasterName;
      break;
    case "donation":
    case "discord":
      name = d.val.username;
      break;
    case "other":
      name = lookup(parseJson(d.val), "username");
      break;
  }
  if (!blank(name)) return name;
  const viewer = event.viewer ? event.viewer.displayName : null;
  return blank(viewer) ? null : viewer;
}

/**
 * The message a viewer attached (resub, cheer, chat, a redemption's input,
 * a public donation's), or null when there is none or it is blank, so
 * callers need no per-kind switch. A private donation's message is for the
 * streamer only: null here (read `data.val.message` to show it privately).
 */
export function message(event) {
  const d = event.data;
  let text;
  switch (d.tag) {
    case "resub":
    case "cheer":
      text = d.val.message;
      break;
    case "chat-message":
      text = d.val.text;
      break;
    case "redemption":
      text = d.val.userInput;
      break;
    case "donation":
      if (!d.val.isPublic) return null;
      text = d.val.message;
      break;
    default:
      return null;
  }
  return blank(text) ? null : text;
}

/**
 * The field `name` of `event` as text, or null if it has none: the names
 * of the event's JSON form (the "details" the API shows), so a template
 * written against the dashboard's events works unchanged. Besides the
 * kind's own fields: `username` (see `who`), `kind`, `tier_name` ("Tier 1";
 * a donation's own tier name for donations), `viewer.login`, `viewer.id`
 * and `viewer.display_name`; `data.…` a dotted path into a Discord event's
 * `data` object; for kinds Stagehand does not model, any dotted path into
 * their JSON (`top.0.user`).
 */
export function field(event, name) {
  switch (name) {
    case "username":
      return who(event);
    case "kind":
      return event.kind;
    case "tier_name": {
      if (event.data.tag === "donation") return event.data.val.tierName;
      const tier = field(event, "tier");
      return tier == null ? null : tierName(tier);
    }
    case "viewer.login":
      return event.viewer ? event.viewer.login : null;
    case "viewer.id":
      return event.viewer ? event.viewer.id : null;
    case "viewer.display_name":
      return event.viewer ? event.viewer.displayName : null;
  }
  const d = event.data;
  const v = d.val;
  switch (d.tag) {
    case "follow":
      return name === "followed_at" ? num(v.followedAtMs) : null;
    case "ban":
      switch (name) {
        case "is_permanent":
          return String(v.permanent);
        case "duration_seconds":
          return num(v.durationSeconds);
        case "expires_at":
          return num(v.expiresAtMs);
        case "reason":
          return v.reason ?? null;
        case "moderator_username":
          return v.moderatorName ?? null;
        case "moderator_id":
          return v.moderatorId ?? null;
      }
      return null;
    case "subscribe":
      if (name === "tier") return num(v.tier);
      if (name === "is_gift") return String(v.isGift);
      return null;
    case "resub":
      if (name === "tier") return num(v.tier);
      if (name === "cumulative_months") return num(v.cumulativeMonths);
      if (name === "message") return v.message;
      return null;
    case "subscription-end":
      return name === "tier" ? num(v.tier) : null;
    case "gift":
      if (name === "tier") return num(v.tier);
      if (name === "total") return num(v.total);
      if (name === "is_anonymous") return String(v.anonymous);
      return null;
    case "cheer":
      if (name === "bits") return num(v.bits);
      if (name === "message") return v.message;
      if (name === "is_anonymous") return String(v.anonymous);
      return null;
    case "raid":
      return name === "viewers" ? num(v.viewers) : null;
    case "redemption":
      switch (name) {
        case "reward.id":
          return v.reward.id;
        case "reward.title":
          return v.reward.title;
        case "reward.cost":
          return num(v.reward.cost);
        case "reward.prompt":
          return v.reward.prompt;
        case "user_input":
          return v.userInput;
        case "status":
          return v.status;
      }
      return null;
    case "chat-message":
      return name === "text" || name === "message" ? v.text : null;
    case "stream-online":
      if (name === "type") return v.streamType;
      if (name === "started_at") return num(v.startedAtMs);
      return null;
    case "clip":
      switch (name) {
        case "clip_title":
          return v.title;
        case "clip_url":
          return v.url;
        case "creator_username":
          return v.creatorName;
        case "view_count":
          return num(v.viewCount);
      }
      return null;
    case "donation":
      switch (name) {
        case "amount":
          return v.amount;
        case "currency":
          return v.currency;
        case "message":
          return v.message;
        case "is_public":
          return String(v.isPublic);
        case "source":
          return v.source;
        case "donation_type":
          return v.donationType;
      }
      return null;
    case "discord":
      switch (name) {
        case "guild_id":
          return v.guildId;
        case "user_id":
          return v.userId;
        case "giveaway_id":
          return v.giveawayId;
        case "prize":
          return v.prize;
        case "winner_id":
          return v.winnerId;
        case "ticket_id":
          return v.ticketId;
      }
      return name.startsWith("data.") ? lookup(parseJson(v.data), name.slice(5)) : null;
    case "other":
      return lookup(parseJson(v), name);
  }
  return null;
}

/**
 * A field of a JSON value by dotted path (`reward.title`, `badges.0.id`)
 * as text: strings as they are, numbers and booleans printed; null, objects
 * and arrays have no text. What `field` uses for kinds Stagehand does not
 * model; exported for plugins that keep JSON of their own.
 */
export function lookup(value, path) {
  let v = value;
  for (const key of String(path).split(".")) {
    if (Array.isArray(v)) {
      if (!/^\+?[0-9]+$/.test(key)) return null;
      v = v[Number(key)];
    } else if (v !== null && typeof v === "object") {
      v = Object.hasOwn(v, key) ? v[key] : undefined;
    } else {
      return null;
    }
    if (v === undefined) return null;
  }
  switch (typeof v) {
    case "string":
      return v;
    case "number":
    case "boolean":
    case "bigint":
      return String(v);
  }
  return null;
}

function num(n) {
  return n == null ? null : String(n);
}

function blank(s) {
  return s == null || String(s).trim() === "";
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
