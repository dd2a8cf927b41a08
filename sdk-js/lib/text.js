// Small text helpers most alert and formatter plugins need: tier names and
// `{name}` templates (fill them from `field(event, name)`). Same rules as
// the Rust SDK's `text` module.

/**
 * Twitch tier codes as people say them ("1000" → "Tier 1", "prime" →
 * "Prime"; anything else as it is), so alerts never show raw codes.
 */
export function tierName(tier) {
  const t = String(tier).trim();
  switch (t) {
    case "1000":
      return "Tier 1";
    case "2000":
      return "Tier 2";
    case "3000":
      return "Tier 3";
  }
  return t.toLowerCase() === "prime" ? "Prime" : t;
}

/**
 * Fills each `{name}` with `lookup(name)`. A name it does not know becomes
 * the empty string, so a typo shows as a gap rather than as raw braces on
 * stream. `{{` and `}}` are literal braces, and a `{` that does not start a
 * placeholder (`{ hi }`, a lone `{`) is kept as it is. Values are not
 * templates themselves.
 */
export function render(template, lookup) {
  let out = "";
  let rest = String(template);
  for (;;) {
    const i = firstBrace(rest);
    if (i < 0) break;
    out += rest.slice(0, i);
    const tail = rest.slice(i);
    if (tail.startsWith("{{") || tail.startsWith("}}")) {
      out += tail[0];
      rest = tail.slice(2);
      continue;
    }
    const found = placeholder(tail);
    if (found) {
      const value = lookup(found.name);
      out += value == null ? "" : String(value);
      rest = found.after;
    } else {
      out += tail[0];
      rest = tail.slice(1);
    }
  }
  return out + rest;
}

/** Index of the first `{` or `}`, or -1. */
function firstBrace(text) {
  const open = text.indexOf("{");
  const close = text.indexOf("}");
  if (open < 0) return close;
  if (close < 0) return open;
  return Math.min(open, close);
}

/** `{name}…` → the name and the text after the `}`, if `text` starts with a placeholder. */
function placeholder(text) {
  if (!text.startsWith("{")) return null;
  const end = text.indexOf("}", 1);
  if (end < 0) return null;
  const name = text.slice(1, end);
  return isName(name) ? { name, after: text.slice(end + 1) } : null;
}

const PART = /^[A-Za-z0-9_]+$/;

/**
 * Whether `name` can be a template variable: letters, digits and `_`, with
 * `.` between parts for nested fields (`reward.title`); lets a settings
 * check reject a bad placeholder before it reaches the stream.
 */
export function isName(name) {
  return name !== "" && name.split(".").every((part) => PART.test(part));
}
