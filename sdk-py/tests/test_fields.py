"""The same cases as the Rust SDK's fields.rs and types.rs."""

from stagehand_plugin import field, lookup, message, named, testing, who


def test_who_names_the_right_person():
    assert who(testing.gift(None, 5)) == "An anonymous gifter"
    assert who(testing.gift("Gus", 5)) == "Gus"
    assert who(testing.cheer("", 100, "")) == "Anonymous"
    assert who(testing.raid("Raider", 10)) == "Raider"
    assert who(testing.follow("Ann")) == "Ann"
    assert who(testing.follow(" ")) == "Someone"
    assert who(testing.clip("Cat", "wow")) == "Cat"
    assert who(testing.stream_online("Streamer")) == "Streamer"
    assert who(testing.other("x.y", {"username": "Zed"})) == "Zed"
    assert who(testing.other("x.y", {})) == "Someone"
    assert named(testing.follow(" ")) is None


def test_fields_carry_the_json_names():
    e = testing.cheer("Bob", 500, "hype")
    assert field(e, "bits") == "500"
    assert field(e, "message") == "hype"
    assert field(e, "username") == "Bob"
    assert field(e, "kind") == "channel.cheer"
    assert field(e, "viewer.login") == "bob"
    assert field(e, "is_anonymous") == "false"
    assert field(e, "tier") is None
    assert field(e, "tier_name") is None
    s = testing.subscribe("Ann", 2000)
    assert field(s, "tier_name") == "Tier 2"
    r = testing.redemption("Ann", "Hydrate", 100, "")
    assert field(r, "reward.title") == "Hydrate"
    assert field(r, "reward.cost") == "100"
    other = testing.other("channel.hype_train.begin", {"level": 3, "top": [{"user": "x"}]})
    assert field(other, "level") == "3"
    assert field(other, "top.0.user") == "x"


def test_every_kind_answers_its_fields():
    assert field(testing.follow("A"), "followed_at") == "1700000000000"
    t = testing.timeout("A", 60)
    assert field(t, "is_permanent") == "false"
    assert field(t, "duration_seconds") == "60"
    assert field(t, "expires_at") == "1700000060000"
    assert field(t, "reason") is None
    assert field(t, "moderator_username") == "Mod"
    assert field(testing.ban("A", "spam"), "reason") == "spam"
    assert field(testing.resub("A", 7, "hi"), "cumulative_months") == "7"
    assert field(testing.gift("A", 5), "total") == "5"
    assert field(testing.raid("A", 42), "viewers") == "42"
    assert field(testing.chat("A", "hello"), "text") == "hello"
    assert field(testing.chat("A", "hello"), "message") == "hello"
    assert field(testing.stream_online("A"), "type") == "live"
    assert field(testing.clip("A", "wow"), "clip_title") == "wow"
    assert field(testing.clip("A", "wow"), "view_count") == "0"
    assert field(testing.about("channel.vip.add", "A"), "viewer.display_name") == "A"
    assert field(testing.stream_offline("A"), "viewer.login") is None


def test_lookup_follows_dotted_paths():
    d = {"reward": {"title": "Hydrate"}, "bits": 5, "ok": True, "badges": [{"id": "1"}], "none": None, "f": 1.5}
    assert lookup(d, "reward.title") == "Hydrate"
    assert lookup(d, "bits") == "5"
    assert lookup(d, "f") == "1.5"
    assert lookup(d, "ok") == "true"
    assert lookup(d, "badges.0.id") == "1"
    assert lookup(d, "none") is None
    assert lookup(d, "reward") is None
    assert lookup(d, "missing.path") is None
    assert lookup(d, "badges.9.id") is None


def test_message_is_what_the_viewer_typed():
    assert message(testing.resub("A", 3, "yay")) == "yay"
    assert message(testing.cheer("A", 1, "  ")) is None
    assert message(testing.chat("A", "hi")) == "hi"
    assert message(testing.redemption("A", "T", 1, "input")) == "input"
    assert message(testing.follow("A")) is None


def test_donations_and_discord_events_name_their_person_and_carry_their_fields():
    d = testing.donation("Ann", "5.00", "EUR", "hi", False)
    assert d.viewer is None
    assert who(d) == "Ann"
    assert who(testing.donation("", "5.00", "USD")) == "Someone"
    assert field(d, "amount") == "5.00"
    assert field(d, "currency") == "EUR"
    assert field(d, "is_public") == "false"
    assert field(d, "source") == "kofi"
    assert field(d, "donation_type") == "Donation"
    assert field(d, "tier_name") == ""
    assert field(d, "username") == "Ann"
    g = testing.discord("discord.giveaway.end", {"giveawayId": "g1", "winnerId": "42", "extra": {"n": 3}})
    assert field(g, "giveaway_id") == "g1"
    assert field(g, "winner_id") == "42"
    assert field(g, "data.extra.n") == "3"
    assert field(g, "data.winnerId") == "42"
    assert field(g, "nope") is None
    assert who(testing.discord("discord.member.join", {"username": "Zed"})) == "Zed"


def test_a_private_donation_has_no_message_to_show():
    assert message(testing.donation("Ann", "5.00", "USD", "thanks!", True)) == "thanks!"
    assert message(testing.donation("Ann", "5.00", "USD", "just for you", False)) is None
