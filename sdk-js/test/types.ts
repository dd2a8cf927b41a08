// Compile-time checks (`tsc -p test`, part of `npm test`): the SDK's
// hand-written types are the contract's, as jco declares them (types/),
// with u64 as number and absent options as null; and the declared API
// reads as the README shows it.

/// <reference path="../types/plugin.d.ts" />
import type * as W from "stagehand:plugin/types@0.3.0";
import type * as H from "stagehand:plugin/handler@0.3.0";
import {
  exportPlugin,
  kinds,
  limits,
  kv,
  log,
  now,
  who,
  field,
  message,
  render,
  tierName,
  alert,
  showAlert,
  speak,
  sendChat,
  muteTts,
  cooldownTts,
  webhook,
  display,
  Settings,
  type Action,
  type Alert,
  type DataOf,
  type Display,
  type Event,
  type Plugin,
} from "../index.js";
import type * as S from "../index.js";
import * as testing from "../testing/index.js";

/** jco's form (bigint, optional fields) → the SDK's (number, null). */
type Plain<T> = T extends bigint
  ? number
  : T extends (infer U)[]
    ? Plain<U>[]
    : T extends object
      ? { [K in keyof T]-?: undefined extends T[K] ? Plain<Exclude<T[K], undefined>> | null : Plain<T[K]> }
      : T;

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
function same<A, B>(ok: Same<A, B>): void {
  void ok;
}

same<S.Event, Plain<W.Event>>(true);
same<S.EventData, Plain<W.EventData>>(true);
same<S.Alert, Plain<W.Alert>>(true);
same<S.Display, Plain<W.Display>>(true);
same<S.Action, Plain<W.Action>>(true);
same<S.Info, Plain<W.Info>>(true);
same<S.Role, W.Role>(true);
same<S.Level, W.Level>(true);
same<S.Source, W.Source>(true);
same<S.Event, Plain<Parameters<typeof H.onEvent>[0]>>(true);
same<S.Action[], Plain<ReturnType<typeof H.onEvent>>>(true);
same<S.Display, Plain<Exclude<ReturnType<typeof H.format>, undefined>>>(true);
same<S.Alert, Plain<Exclude<ReturnType<typeof H.render>, undefined>>>(true);

// The API as a plugin uses it.
class Sample implements Plugin {
  greeting: string;
  constructor(settings: Settings) {
    this.greeting = settings.strOr("greeting", "Hi {username}!");
  }
  format(event: Event): Display | null {
    if (event.data.tag !== "cheer") return null;
    return display("Cheer", "🎉", "#ff8c00", `${who(event)} cheered ${event.data.val.bits} bits`);
  }
  onEvent(event: Event): Action[] {
    const count = kv.getNumber("count") + 1;
    kv.set("count", String(count));
    log.info(`event at ${new Date(now()).toISOString()}`);
    const text = render(this.greeting, (name) => (name === "count" ? count : field(event, name)));
    const cheer: DataOf<"cheer"> | null = event.data.tag === "cheer" ? event.data : null;
    return [
      showAlert(alert(text, message(event) ?? "", { tts: tierName(1000), durationMs: limits.MAX_ALERT_DURATION_MS })),
      showAlert("t", "m"),
      speak(`${cheer?.val.bits ?? 0}`),
      sendChat("hi"),
      muteTts("troll"),
      cooldownTts("chatty", 30, 10),
      webhook("https://example.com/hook", { a: 1 }),
    ];
  }
  render(a: Alert): Alert | null {
    return a.css === null ? { ...a, css: "" } : null;
  }
}

export const handler = exportPlugin(Sample, { kinds: [kinds.CHEER, kinds.FOLLOW] });
const actions: Action[] = handler.onEvent(testing.cheer("Bob", 100, "hype"));
const first = actions[0];
if (first?.tag === "show-alert") {
  const title: string = first.val.title;
  void title;
}
const roles: S.Role[] = testing.describe(handler).implements;
const logged: string[] = testing.logs().map((l) => `${l.level}: ${l.message}`);
const stored: Record<string, string> = testing.kv();
void roles;
void logged;
void stored;
