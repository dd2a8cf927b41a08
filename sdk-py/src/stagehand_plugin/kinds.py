"""The event kinds Stagehand models, by name.

Use these rather than strings, so a typo is a NameError at build time rather
than a plugin that silently receives nothing. Kinds the host does not model
still arrive (as ``EventData_Other``) when asked for by name or with ``"*"``;
the host warns at load time about a name it does not know.
"""

FOLLOW = "channel.follow"
#: Seen by polling only.
UNFOLLOW = "channel.unfollow"
BAN = "channel.ban"
UNBAN = "channel.unban"
#: Seen by polling only.
TIMEOUT_END = "channel.timeout.end"
VIP_ADD = "channel.vip.add"
VIP_REMOVE = "channel.vip.remove"
MODERATOR_ADD = "channel.moderator.add"
MODERATOR_REMOVE = "channel.moderator.remove"
SUBSCRIBE = "channel.subscribe"
#: A resub shared in chat.
RESUB = "channel.subscription.message"
SUBSCRIPTION_END = "channel.subscription.end"
GIFT = "channel.subscription.gift"
CHEER = "channel.cheer"
RAID = "channel.raid"
REDEMPTION = "channel.channel_points_custom_reward_redemption.add"
CHAT_MESSAGE = "channel.chat.message"
STREAM_ONLINE = "stream.online"
STREAM_OFFLINE = "stream.offline"
#: Seen by polling only.
CLIP_CREATED = "channel.clip.created"
#: A tip through a service outside Twitch (Ko-fi, a webhook); source EXTERNAL.
DONATION = "donation"
#: From the streamer's Discord bot (source EXTERNAL), all with
#: ``EventData_Discord`` data.
DISCORD_MEMBER_JOIN = "discord.member.join"
DISCORD_MEMBER_LEAVE = "discord.member.leave"
DISCORD_TICKET_CREATE = "discord.ticket.create"
DISCORD_TICKET_CLOSE = "discord.ticket.close"
DISCORD_GIVEAWAY_CREATE = "discord.giveaway.create"
DISCORD_GIVEAWAY_END = "discord.giveaway.end"
DISCORD_GIVEAWAY_ENTRY = "discord.giveaway.entry"
#: Every kind, for plugins that want them all.
ALL = "*"

#: Every modelled kind.
KNOWN = (
    FOLLOW,
    UNFOLLOW,
    BAN,
    UNBAN,
    TIMEOUT_END,
    VIP_ADD,
    VIP_REMOVE,
    MODERATOR_ADD,
    MODERATOR_REMOVE,
    SUBSCRIBE,
    RESUB,
    SUBSCRIPTION_END,
    GIFT,
    CHEER,
    RAID,
    REDEMPTION,
    CHAT_MESSAGE,
    STREAM_ONLINE,
    STREAM_OFFLINE,
    CLIP_CREATED,
    DONATION,
    DISCORD_MEMBER_JOIN,
    DISCORD_MEMBER_LEAVE,
    DISCORD_TICKET_CREATE,
    DISCORD_TICKET_CLOSE,
    DISCORD_GIVEAWAY_CREATE,
    DISCORD_GIVEAWAY_END,
    DISCORD_GIVEAWAY_ENTRY,
)
