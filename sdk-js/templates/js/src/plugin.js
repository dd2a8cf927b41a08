// @ts-check
// {{name}}: a Stagehand plugin. Start here: it shows an alert for every
// new follower. The guide is stagehand-plugin-sdk/README.md.

import { exportPlugin, kinds, showAlert, who } from "@stagehand/plugin-sdk";

export class FollowAlert {
  /** Built once per instance with the plugin's settings; throw to refuse them. */
  constructor(/** @type {import("@stagehand/plugin-sdk").Settings} */ settings) {
    /** Follows seen since the plugin started (fields keep state between events). */
    this.followers = 0;
    this.title = settings.strOr("title", "New follower!");
  }

  /**
   * Actions role: what to do about an event.
   * @param {import("@stagehand/plugin-sdk").Event} event
   * @returns {import("@stagehand/plugin-sdk").Action[]}
   */
  onEvent(event) {
    if (event.data.tag !== "follow") return [];
    this.followers += 1;
    const name = who(event);
    return [showAlert(this.title, `${name} just followed`, { tts: `Thanks for the follow, ${name}!` })];
  }
}

/** The component's export: the kinds it wants, the roles its methods play. */
export const handler = exportPlugin(FollowAlert, { kinds: [kinds.FOLLOW] });
