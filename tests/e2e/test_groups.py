"""Group conversations over REST (CONTRACT §11, docs/API.md "Groups"):
every row of the table, its refusals, and the rules of who learns what:
a group the caller never belonged to is a 404 everywhere, a former member
gets 403, only friends are added, a banned account comes back only by the
leader, the leader hands over when leaving, the last member leaving
deletes the group, 256 members in one group."""

import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from chat_api import (GROUP_KEYS, GROUP_MAX_MEMBERS, GROUP_MEMBER_KEYS,
                      GROUP_MESSAGE_KEYS, RFC3339_UTC_MICRO, UUID_LOWER, api,
                      assert_422, assert_error, assert_not_authenticated,
                      bad_uuid, body, bulk_friends, create_group, db_now,
                      error, field_required, group_add, group_ban, group_get,
                      group_history, group_leave, group_members,
                      group_membership, group_path, group_read, group_remove,
                      group_send, group_unread, gsend, make_friends,
                      new_group, new_user, parse_time, post_json, public_of,
                      random_uuid, send, set_active, too_long, too_short,
                      unread_count)

INVITATION = "Groups are joined by invitation"
NOT_FOUND = "Group not found"
FORMER = "Not a member of this group"
DELETED = "Group has been deleted"


def not_friends(account_id):
    return f"Not friends with account {account_id}"


def member_of(group, user, role="member", status="active"):
    """Assert the shape of a GroupMember of user (a User)."""
    def check(member):
        assert set(member) == GROUP_MEMBER_KEYS, member
        assert UUID_LOWER.match(member["group_member_id"]), member
        assert member["group_id"] == group["group_id"], member
        assert member["account_id"] == user.account_id, member
        assert (member["role"], member["status"]) == (role, status), member
        assert RFC3339_UTC_MICRO.match(member["joined_at"]), member
        assert member["username"] == user.username, member
        assert member["full_name"] == user.account["full_name"], member
        assert member["avatar"] == user.account["avatar"], member
        return member
    return check


def promote(group, leader, user):
    """user, a member of group, becomes a moderator (removed and added back
    by leader with the role: a group's first members are members)."""
    body(group_remove(leader.access, group["group_id"], user.account_id), 200)
    body(group_add(leader.access, group["group_id"], user.account_id,
                   "moderator"), 201)


def group_with(n):
    """A leader and n members, all logged in: (group, leader, members)."""
    leader = new_user()
    members = [new_user() for _ in range(n)]
    return new_group(leader, *members), leader, members


def former_member(group, leader, member, how):
    """member stops being active in group: it left, or was removed or
    banned by leader."""
    gid = group["group_id"]
    if how == "left":
        body(group_leave(member.access, gid), 200)
    elif how == "removed":
        body(group_remove(leader.access, gid, member.account_id), 200)
    else:
        body(group_ban(leader.access, gid, member.account_id), 200)


def count_groups_named(db, name):
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM chat_group WHERE name = %s",
                    (name,))
        return cur.fetchone()[0]


# --------------------------------------------------------- POST /group-chat

@pytest.mark.parametrize("path", ["/group-chat/", "/group-chat"])
def test_create_answers_the_group(db, path):
    leader, a, b = new_user(full_name="Lea Der"), new_user(), new_user()
    make_friends(leader, a)
    make_friends(b, leader)
    before = db_now(db)
    group = body(post_json(path, {
        "name": "Climbers", "description": "Saturday mornings",
        "avatar": "https://example.com/a.png",
        "member_ids": [a.account_id, b.account_id]}, token=leader.access),
        201)
    after = db_now(db)
    assert set(group) == GROUP_KEYS
    assert UUID_LOWER.match(group["group_id"])
    assert (group["name"], group["description"], group["avatar"]) == \
        ("Climbers", "Saturday mornings", "https://example.com/a.png")
    assert group["created_by"] == leader.account_id
    assert before <= parse_time(group["created_at"]) <= after
    assert group["updated_at"] == group["created_at"]
    assert (group["member_count"], group["max_members"]) == \
        (3, GROUP_MAX_MEMBERS)
    assert group["is_active"] is True
    assert (group["my_role"], group["my_status"]) == ("leader", "active")
    assert group["unread_count"] == 0 and group["last_message"] is None
    # For the original's client.
    assert (group["group_name"], group["group_description"]) == \
        ("Climbers", "Saturday mornings")
    assert before <= parse_time(group["joined_at"]) <= after
    assert group["topic_id"] is None and group["topic_name"] is None
    assert group["leader_name"] == "Lea Der"
    assert group["group_leader"] == leader.account_id
    assert group["is_chat_group"] is True
    for user, role in ((leader, "leader"), (a, "member"), (b, "member")):
        mine = body(group_get(user.access, group["group_id"]), 200)
        assert (mine["my_role"], mine["my_status"]) == (role, "active")


def test_create_alone_and_without_description():
    leader = new_user()
    group = body(create_group(leader.access, "just me"), 201)
    assert group["member_count"] == 1
    assert group["description"] is None and group["avatar"] is None
    # A leader without a full name is shown by username.
    assert group["leader_name"] == leader.username


def test_create_with_a_stranger_names_it_and_stores_nothing(db):
    leader, friend, stranger = new_user(), new_user(), new_user()
    make_friends(leader, friend)
    name = "g " + secrets.token_hex(6)
    r = create_group(leader.access, name,
                     [friend.account_id, stranger.account_id])
    assert_error(r, 403, not_friends(stranger.account_id))
    assert count_groups_named(db, name) == 0


@pytest.mark.parametrize("who", ["self", "unknown", "pending"])
def test_create_with_someone_not_a_friend(db, who):
    leader, other = new_user(), new_user()
    if who == "pending":
        body(post_json("/friends/request", {"receiver_id": other.account_id},
                       token=leader.access), 201)
    account_id = {"self": leader.account_id, "unknown": random_uuid(),
                  "pending": other.account_id}[who]
    assert_error(create_group(leader.access, "x", [account_id]), 403,
                 not_friends(account_id))


def test_create_refuses_bad_input(viewer):
    def post(data):
        return post_json("/group-chat/", data, token=viewer.access)
    assert_422(post({"member_ids": []}), field_required("body", "name"))
    assert_422(post({"name": "", "member_ids": []}),
               too_short(("body", "name"), 1))
    assert_422(post({"name": "x" * 101, "member_ids": []}),
               too_long(("body", "name"), 100))
    assert_422(post({"name": "x", "description": "d" * 1001,
                     "member_ids": []}),
               too_long(("body", "description"), 1000))
    assert_422(post({"name": "x", "avatar": "ftp://x", "member_ids": []}),
               error(("body", "avatar"), "invalid or missing URL scheme",
                     "value_error.url.scheme"))
    assert_422(post({"name": "x"}), field_required("body", "member_ids"))
    assert_422(post({"name": "x", "member_ids": "abc"}),
               error(("body", "member_ids"), "value is not a valid list",
                     "type_error.list"))
    assert_422(post({"name": "x", "member_ids": ["nope"]}),
               bad_uuid("body", "member_ids"))
    assert_422(post({"name": "x", "member_ids": [1]}),
               bad_uuid("body", "member_ids"))
    same = random_uuid()
    assert_422(post({"name": "x", "member_ids": [same, same.upper()]}),
               error(("body", "member_ids"), "the list has duplicated items",
                     "value_error.list.unique_items"))
    too_many = [random_uuid() for _ in range(GROUP_MAX_MEMBERS)]
    assert_422(post({"name": "x", "member_ids": too_many}),
               error(("body", "member_ids"),
                     f"ensure this value has at most "
                     f"{GROUP_MAX_MEMBERS - 1} items",
                     "value_error.list.max_items"))
    assert_422(post_json("/group-chat/", ["x"], token=viewer.access),
               error(("body",), "value is not a valid dict",
                     "type_error.dict"))


# -------------------------------------------- my-groups, all, unread-count

def test_my_groups_newest_activity_first_active_memberships_only():
    me, a, b = new_user(), new_user(), new_user()
    first = new_group(a, me)
    second = new_group(b, me)
    gid = lambda g: g["group_id"]
    mine = body(api("GET", "/group-chat/my-groups", token=me.access), 200)
    assert [gid(g) for g in mine] == [gid(second), gid(first)]
    assert all(set(g) == GROUP_KEYS for g in mine)
    message = gsend(a, first, "wake up")
    mine = body(api("GET", "/group-chat/my-groups/", token=me.access), 200)
    assert [gid(g) for g in mine] == [gid(first), gid(second)]
    assert mine[0]["unread_count"] == 1
    assert mine[0]["last_message"]["message_id"] == message["message_id"]
    body(group_leave(me.access, gid(first)), 200)
    mine = body(api("GET", "/group-chat/my-groups", token=me.access), 200)
    assert [gid(g) for g in mine] == [gid(second)]


def test_all_searches_the_callers_groups_by_name_with_pages():
    me = new_user()
    word = secrets.token_hex(4)
    made = [body(create_group(me.access, f"{tag} {word} club"), 201)
            for tag in ("Red", "blue", "GREEN")]
    body(create_group(new_user().access, f"other {word}"), 201)
    answer = body(api("GET", "/group-chat/all", token=me.access,
                      params={"search": word.upper()}), 200)
    assert set(answer) == {"groups", "total", "skip", "limit", "has_more"}
    assert (answer["total"], answer["skip"], answer["limit"],
            answer["has_more"]) == (3, 0, 50, False)
    assert [g["group_id"] for g in answer["groups"]] == \
        [g["group_id"] for g in reversed(made)]
    page = body(api("GET", "/group-chat/all/", token=me.access,
                    params={"search": word, "skip": 1, "limit": 1}), 200)
    assert [g["group_id"] for g in page["groups"]] == [made[1]["group_id"]]
    assert (page["total"], page["has_more"]) == (3, True)
    everything = body(api("GET", "/group-chat/all", token=me.access,
                          params={"search": ""}), 200)
    assert everything["total"] == 3
    # % and _ are literal.
    assert body(api("GET", "/group-chat/all", token=me.access,
                    params={"search": "%"}), 200)["total"] == 0
    for params, entry in (({"limit": 0}, "limit"), ({"limit": 101}, "limit"),
                          ({"skip": -1}, "skip"), ({"skip": "x"}, "skip")):
        r = api("GET", "/group-chat/all", token=me.access, params=params)
        assert body(r, 422)["detail"][0]["loc"] == ["query", entry]


def test_unread_count_by_group_and_apart_from_direct_messages():
    me, a = new_user(), new_user()
    one = new_group(a, me)
    two = body(create_group(a.access, "two", [me.account_id]), 201)
    for _ in range(3):
        gsend(a, one)
    gsend(a, two)
    assert group_unread(me.access) == {
        "unread_count": 4,
        "groups": {one["group_id"]: 3, two["group_id"]: 1}}
    assert unread_count(me.access) == 0
    send(a, me, "direct")
    assert unread_count(me.access) == 1
    assert group_unread(me.access)["unread_count"] == 4
    # The sender's own messages are never unread.
    assert group_unread(a.access)["unread_count"] == 0
    assert group_unread(new_user().access) == {"unread_count": 0,
                                               "groups": {}}


# ------------------------------------------------------- GET /group-chat/{id}

def test_get_for_member_stranger_and_unknown():
    group, leader, (member,) = group_with(1)
    gid = group["group_id"]
    seen = body(group_get(member.access, gid), 200)
    assert set(seen) == GROUP_KEYS
    assert (seen["my_role"], seen["member_count"]) == ("member", 2)
    assert body(group_get(member.access, gid.upper()), 200)["group_id"] == gid
    stranger = new_user()
    assert_error(group_get(stranger.access, gid), 404, NOT_FOUND)
    assert_error(group_get(stranger.access, random_uuid()), 404, NOT_FOUND)
    assert_422(group_get(stranger.access, "nope"),
               bad_uuid("path", "group_id"))


@pytest.mark.parametrize("how", ["left", "removed", "banned"])
def test_former_member_gets_403(how):
    group, leader, (member,) = group_with(1)
    former_member(group, leader, member, how)
    assert_error(group_get(member.access, group["group_id"]), 403, FORMER)


# ------------------------------------------------------- PUT /group-chat/{id}

def test_update_by_leader_and_moderator_not_member(db):
    group, leader, (mod, member) = group_with(2)
    gid = group["group_id"]
    promote(group, leader, mod)
    time.sleep(0.01)
    updated = body(api("PUT", group_path(gid), token=leader.access,
                       json={"name": "Renamed",
                             "description": "now with words"}), 200)
    assert (updated["name"], updated["group_name"], updated["description"]) \
        == ("Renamed", "Renamed", "now with words")
    assert parse_time(updated["updated_at"]) > parse_time(group["updated_at"])
    updated = body(api("PUT", group_path(gid) + "/", token=mod.access,
                       json={"description": None,
                             "avatar": "http://x.example/p.png"}), 200)
    assert (updated["name"], updated["description"], updated["avatar"]) == \
        ("Renamed", None, "http://x.example/p.png")
    assert updated["my_role"] == "moderator"
    assert_error(api("PUT", group_path(gid), token=member.access,
                     json={"name": "mine"}), 403,
                 "Only the leader or a moderator can update the group")
    assert_error(api("PUT", group_path(gid), token=new_user().access,
                     json={"name": "mine"}), 404, NOT_FOUND)
    # A send moves no updated_at of the group.
    before = body(group_get(leader.access, gid), 200)["updated_at"]
    gsend(member, group)
    assert body(group_get(leader.access, gid), 200)["updated_at"] == before


def test_update_refuses_bad_input(viewer):
    group, leader, _ = group_with(0)
    gid = group["group_id"]

    def put(data):
        return api("PUT", group_path(gid), token=leader.access, json=data)
    assert_422(put({"name": ""}), too_short(("body", "name"), 1))
    assert_422(put({"name": None}), field_required("body", "name"))
    assert_422(put({"description": "d" * 1001}),
               too_long(("body", "description"), 1000))
    assert_422(put({"avatar": "nope"}),
               error(("body", "avatar"), "invalid or missing URL scheme",
                     "value_error.url.scheme"))
    assert_422(api("PUT", group_path("x"), token=leader.access,
                   json={"name": "y"}), bad_uuid("path", "group_id"))
    # Nothing sent, nothing changed.
    same = body(put({}), 200)
    assert same["name"] == group["name"]


# ---------------------------------------------------- DELETE /group-chat/{id}

def test_delete_by_leader_only_keeps_history():
    group, leader, (mod, member) = group_with(2)
    gid = group["group_id"]
    promote(group, leader, mod)
    message = gsend(member, group, "before the end")
    for user in (member, mod):
        assert_error(api("DELETE", group_path(gid), token=user.access), 403,
                     "Only the leader can delete the group")
    assert_error(api("DELETE", group_path(gid), token=new_user().access),
                 404, NOT_FOUND)
    assert body(api("DELETE", group_path(gid), token=leader.access), 200) \
        == {"detail": "Group deleted"}
    seen = body(group_get(member.access, gid), 200)
    assert seen["is_active"] is False
    messages = body(group_history(member.access, gid), 200)["messages"]
    assert [m["message_id"] for m in messages] == [message["message_id"]]
    assert_error(group_send(member.access, gid, "anyone?"), 403, DELETED)
    assert_error(api("DELETE", group_path(gid), token=leader.access), 403,
                 DELETED)
    assert_error(api("PUT", group_path(gid), token=leader.access,
                     json={"name": "back"}), 403, DELETED)
    assert body(group_membership(member.access, gid), 200)["is_active"] is \
        False


def test_a_deleted_group_refuses_every_change_of_its_members():
    group, leader, (mod, member) = group_with(2)
    gid = group["group_id"]
    promote(group, leader, mod)
    newcomer = new_user()
    make_friends(leader, newcomer)
    body(api("DELETE", group_path(gid), token=leader.access), 200)
    for user in (leader, mod):
        assert_error(group_add(user.access, gid, newcomer.account_id), 403,
                     DELETED)
        assert_error(group_remove(user.access, gid, member.account_id), 403,
                     DELETED)
    assert_error(group_ban(leader.access, gid, member.account_id), 403,
                 DELETED)
    assert body(group_get(leader.access, gid), 200)["member_count"] == 3


# --------------------------------------------------------------- members

def test_members_leader_first_then_by_username():
    leader = new_user(username="zz" + secrets.token_hex(6))
    others = [new_user(username=prefix + secrets.token_hex(6))
              for prefix in ("mm", "aa", "Bb")]
    group = new_group(leader, *others)
    gid = group["group_id"]
    listed = body(group_members(others[0].access, gid), 200)
    expected = [leader] + sorted(others, key=lambda u: u.username.lower())
    assert [m["account_id"] for m in listed] == \
        [u.account_id for u in expected]
    member_of(group, leader, "leader")(listed[0])
    member_of(group, expected[1])(listed[1])
    body(group_leave(others[1].access, gid), 200)
    listed = body(api("GET", group_path(gid, "/members/"),
                      token=leader.access), 200)
    assert others[1].account_id not in [m["account_id"] for m in listed]
    assert_error(group_members(new_user().access, gid), 404, NOT_FOUND)


def test_add_member_rules(db):
    group, leader, (mod, member) = group_with(2)
    gid = group["group_id"]
    body(group_remove(leader.access, gid, mod.account_id), 200)
    added = body(group_add(leader.access, gid, mod.account_id, "moderator"),
                 201)
    member_of(group, mod, "moderator")(added)
    newcomer, stranger = new_user(), new_user()
    make_friends(mod, newcomer)
    make_friends(member, newcomer)
    # Only the leader or a moderator, and only friends of theirs.
    assert_error(group_add(member.access, gid, newcomer.account_id), 403,
                 "Only the leader or a moderator can add members")
    assert_error(group_add(leader.access, gid, newcomer.account_id), 403,
                 not_friends(newcomer.account_id))
    assert_error(group_add(mod.access, gid, stranger.account_id), 403,
                 not_friends(stranger.account_id))
    assert_error(group_add(mod.access, gid, newcomer.account_id,
                           "moderator"), 403,
                 "Only the leader can appoint moderators")
    assert_error(group_add(mod.access, gid, random_uuid()), 404,
                 "Account not found")
    assert_error(group_add(mod.access, gid, member.account_id), 400,
                 "Already a member of this group")
    member_of(group, newcomer)(body(group_add(mod.access, gid,
                                              newcomer.account_id), 201))
    assert body(group_get(leader.access, gid), 200)["member_count"] == 4
    # A stranger to the group learns nothing.
    assert_error(group_add(stranger.access, gid, newcomer.account_id), 404,
                 NOT_FOUND)
    assert_422(group_add(leader.access, gid, "nope"),
               bad_uuid("body", "account_id"))
    assert_422(group_add(leader.access, gid, newcomer.account_id, "leader"),
               error(("body", "role"), "value is not a valid enumeration "
                     "member; permitted: 'member', 'moderator'",
                     "type_error.enum"))


@pytest.mark.parametrize("how", ["left", "removed"])
def test_former_member_is_added_back(how):
    group, leader, (member,) = group_with(1)
    gid = group["group_id"]
    gsend(leader, group, "while you were here")
    former_member(group, leader, member, how)
    gsend(leader, group, "while you were away")
    back = body(group_add(leader.access, gid, member.account_id), 201)
    member_of(group, member)(back)
    seen = body(group_get(member.access, gid), 200)
    # Nothing sent before the return counts as unread.
    assert (seen["my_status"], seen["unread_count"]) == ("active", 0)


def test_banned_comes_back_by_the_leader_only():
    group, leader, (mod, member) = group_with(2)
    gid = group["group_id"]
    promote(group, leader, mod)
    make_friends(mod, member)
    banned = body(group_ban(leader.access, gid, member.account_id), 200)
    member_of(group, member, status="banned")(banned)
    assert_error(group_send(member.access, gid, "hi"), 403, FORMER)
    assert_error(group_add(mod.access, gid, member.account_id), 403,
                 "Account is banned from this group")
    member_of(group, member)(body(group_add(leader.access, gid,
                                            member.account_id), 201))


def test_remove_rules():
    group, leader, (mod, mod2, member, other) = group_with(4)
    gid = group["group_id"]
    for m in (mod, mod2):
        promote(group, leader, m)
    assert_error(group_remove(member.access, gid, other.account_id), 403,
                 "Only the leader or a moderator can remove members")
    for target in (leader, mod2, mod):
        assert_error(group_remove(mod.access, gid, target.account_id), 403,
                     "A moderator cannot remove the leader or another "
                     "moderator")
    assert_error(group_remove(leader.access, gid, leader.account_id), 400,
                 "The leader cannot remove themself; leave the group "
                 "instead")
    assert_error(group_remove(leader.access, gid, random_uuid()), 404,
                 "Member not found")
    removed = body(group_remove(mod.access, gid, member.account_id + "/"),
                   200)
    member_of(group, member, status="removed")(removed)
    assert_error(group_remove(leader.access, gid, member.account_id), 404,
                 "Member not found")
    member_of(group, mod2, "moderator", "removed")(
        body(group_remove(leader.access, gid, mod2.account_id), 200))
    assert body(group_get(leader.access, gid), 200)["member_count"] == 3
    assert_422(group_remove(leader.access, gid, "x"),
               bad_uuid("path", "account_id"))


def test_ban_rules():
    group, leader, (mod, member) = group_with(2)
    gid = group["group_id"]
    promote(group, leader, mod)
    assert_error(group_ban(mod.access, gid, member.account_id), 403,
                 "Only the leader can ban members")
    assert_error(group_ban(leader.access, gid, leader.account_id), 400,
                 "The leader cannot ban themself")
    assert_error(group_ban(leader.access, gid, new_user().account_id), 404,
                 "Member not found")
    member_of(group, member, status="banned")(
        body(group_ban(leader.access, gid, member.account_id), 200))
    # Again: the same answer.
    member_of(group, member, status="banned")(
        body(group_ban(leader.access, gid, member.account_id), 200))
    # A former member may be banned too, and then stays out.
    body(group_leave(mod.access, gid), 200)
    member_of(group, mod, "moderator", "banned")(
        body(group_ban(leader.access, gid, mod.account_id), 200))
    assert body(group_get(leader.access, gid), 200)["member_count"] == 1


# --------------------------------------------------------- leave and join

def test_leave_and_the_leaders_hand_over():
    leader = new_user()
    old, older_mod, newer_mod = new_user(), new_user(), new_user()
    group = new_group(leader, old)
    gid = group["group_id"]
    for m in (older_mod, newer_mod):
        make_friends(leader, m)
        body(group_add(leader.access, gid, m.account_id, "moderator"), 201)
    left = body(group_leave(leader.access, gid), 200)
    assert (left["status"], left["account_id"]) == ("left", leader.account_id)
    seen = body(group_get(older_mod.access, gid), 200)
    assert (seen["my_role"], seen["group_leader"]) == \
        ("leader", older_mod.account_id)
    # No moderator left: the longest-standing member.
    body(group_remove(older_mod.access, gid, newer_mod.account_id), 200)
    body(group_leave(older_mod.access, gid), 200)
    assert body(group_get(old.access, gid), 200)["my_role"] == "leader"
    assert_error(group_leave(older_mod.access, gid), 403, FORMER)
    assert_error(group_leave(new_user().access, gid), 404, NOT_FOUND)


def test_last_member_leaving_deletes_the_group():
    group, leader, (member,) = group_with(1)
    gid = group["group_id"]
    body(group_leave(member.access, gid), 200)
    assert body(group_get(leader.access, gid), 200)["is_active"] is True
    body(group_leave(leader.access, gid), 200)
    seen = body(group_membership(leader.access, gid), 200)
    assert (seen["is_member"], seen["status"], seen["is_active"]) == \
        (False, "left", False)


def test_join_is_by_invitation():
    group, leader, (member, former) = group_with(2)
    gid = group["group_id"]
    body(group_leave(former.access, gid), 200)
    join = lambda user, g=gid: api("POST", group_path(g, "/join"),
                                   token=user.access)
    assert_error(join(new_user()), 403, INVITATION)
    assert_error(join(new_user(), random_uuid()), 403, INVITATION)
    assert_error(join(former), 403, INVITATION)
    assert_error(join(member), 400, "Already a member of this group")


# ------------------------------------------------------------- membership

def test_membership_of_member_former_and_stranger():
    group, leader, (member,) = group_with(1)
    gid = group["group_id"]
    seen = body(group_membership(member.access, gid), 200)
    assert set(seen) == {"is_member", "role", "status", "joined_at",
                         "is_active"}
    assert (seen["is_member"], seen["role"], seen["status"],
            seen["is_active"]) == (True, "member", "active", True)
    assert RFC3339_UTC_MICRO.match(seen["joined_at"])
    stranger = new_user()
    nobody = {"is_member": False, "status": "no-join", "is_active": False}
    assert body(group_membership(stranger.access, gid), 200) == nobody
    assert body(group_membership(stranger.access, random_uuid()), 200) == \
        nobody
    body(group_leave(member.access, gid), 200)
    seen = body(api("GET", group_path(gid, "/membership/"),
                    token=member.access), 200)
    assert (seen["is_member"], seen["status"], seen["is_active"]) == \
        (False, "left", True)
    assert_422(group_membership(member.access, "x"),
               bad_uuid("path", "group_id"))


def test_membership_batch_in_the_order_asked():
    group, leader, (member,) = group_with(1)
    other = body(create_group(leader.access, "other"), 201)
    unknown = random_uuid()
    ids = [other["group_id"], unknown, group["group_id"], unknown]
    answer = body(post_json("/group-chat/membership/batch",
                            {"group_ids": ids}, token=member.access), 200)
    assert set(answer) == {"memberships"}
    got = answer["memberships"]
    assert [m["group_id"] for m in got] == ids
    assert got[0] == got[1] | {"group_id": other["group_id"]}
    assert got[1] == {"group_id": unknown, "is_member": False,
                      "status": "no-join", "is_active": False}
    assert (got[2]["is_member"], got[2]["role"], got[2]["is_active"]) == \
        (True, "member", True)
    hundred = [random_uuid() for _ in range(100)]
    assert len(body(post_json("/group-chat/membership/batch/",
                              {"group_ids": hundred},
                              token=member.access), 200)["memberships"]) == \
        100
    assert body(post_json("/group-chat/membership/batch", {"group_ids": []},
                          token=member.access), 200) == {"memberships": []}
    assert_422(post_json("/group-chat/membership/batch",
                         {"group_ids": hundred + [random_uuid()]},
                         token=member.access),
               error(("body", "group_ids"),
                     "ensure this value has at most 100 items",
                     "value_error.list.max_items"))
    assert_422(post_json("/group-chat/membership/batch",
                         {"group_ids": ["x"]}, token=member.access),
               bad_uuid("body", "group_ids"))
    assert_422(post_json("/group-chat/membership/batch", {},
                         token=member.access),
               field_required("body", "group_ids"))


# --------------------------------------------------------------- messages

def test_send_answers_a_group_message(db):
    group, leader, (member,) = group_with(1)
    gid = group["group_id"]
    before = db_now(db)
    r = api("POST", group_path(gid, "/messages/"), token=member.access,
            json={"content": "  hi all  ", "group_id": random_uuid()})
    message = body(r, 201)
    after = db_now(db)
    assert set(message) == GROUP_MESSAGE_KEYS
    assert UUID_LOWER.match(message["message_id"])
    assert (message["group_id"], message["sender_id"], message["content"],
            message["status"], message["is_deleted"]) == \
        (gid, member.account_id, "  hi all  ", "sent", False)
    assert before <= parse_time(message["created_at"]) <= after
    assert message["updated_at"] == message["created_at"]
    assert message["sender"] == public_of(member)
    assert message["read_by_count"] == 1


def test_send_refusals():
    group, leader, (member,) = group_with(1)
    gid = group["group_id"]
    assert_422(group_send(member.access, gid, "   "),
               too_short(("body", "content"), 1))
    assert_422(group_send(member.access, gid, "x" * 5001),
               too_long(("body", "content"), 5000))
    assert_422(post_json(group_path(gid, "/messages"), {},
                         token=member.access),
               field_required("body", "content"))
    assert_422(group_send(member.access, "x", "hi"),
               bad_uuid("path", "group_id"))
    assert_error(group_send(new_user().access, gid, "hi"), 404, NOT_FOUND)
    assert_error(group_send(member.access, random_uuid(), "hi"), 404,
                 NOT_FOUND)
    body(group_leave(member.access, gid), 200)
    assert_error(group_send(member.access, gid, "hi"), 403, FORMER)


def test_send_with_idempotency_key(db):
    group, leader, (member,) = group_with(1)
    gid = group["group_id"]
    key = {"Idempotency-Key": "k-" + secrets.token_hex(8)}
    first = body(group_send(member.access, gid, "once", key), 201)
    again = body(group_send(member.access, gid, "once", key), 201)
    assert again == first
    assert body(group_history(leader.access, gid), 200)["total"] == 1
    assert_422(group_send(member.access, gid, "other", key),
               error(("header", "Idempotency-Key"),
                     "Idempotency-Key already used for another request",
                     "value_error"))
    other = body(create_group(member.access, "mine"), 201)
    assert_422(group_send(member.access, other["group_id"], "once", key),
               error(("header", "Idempotency-Key"),
                     "Idempotency-Key already used for another request",
                     "value_error"))
    assert body(group_send(member.access, gid, "once"), 201)["message_id"] \
        != first["message_id"]
    # One key names one request among direct and group sends alike.
    friend = new_user()
    make_friends(member, friend)
    assert_422(api("POST", "/chat/messages/", token=member.access,
                   json={"receiver_id": friend.account_id,
                         "content": "once"}, headers=key),
               error(("header", "Idempotency-Key"),
                     "Idempotency-Key already used for another request",
                     "value_error"))


def test_group_and_direct_sends_share_the_rate_limit():
    group, leader, (member,) = group_with(1)
    friend = new_user()
    make_friends(leader, friend)
    for i in range(200):
        r = group_send(leader.access, group["group_id"], f"m{i}")
        if r.status_code == 429:
            break
        assert r.status_code == 201, r.text
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    # The bucket refills (20 a second): group sends keep it empty while the
    # direct sends are made, which then get the 429 too.
    stop = threading.Event()

    def drain():
        while not stop.is_set():
            group_send(leader.access, group["group_id"], "drain")

    with ThreadPoolExecutor(max_workers=4) as pool:
        for _ in range(4):
            pool.submit(drain)
        try:
            codes = [api("POST", "/chat/messages/", token=leader.access,
                         json={"receiver_id": friend.account_id,
                               "content": "direct"}).status_code
                     for _ in range(5)]
        finally:
            stop.set()
    assert set(codes) <= {201, 429} and 429 in codes, codes


def test_history_pages_from_the_newest_oldest_first():
    group, leader, (member,) = group_with(1)
    gid = group["group_id"]
    sent = [gsend(leader if i % 2 else member, group, f"n{i}")
            for i in range(5)]
    ids = [m["message_id"] for m in sent]

    def page(**params):
        answer = body(group_history(member.access, gid, **params), 200)
        assert set(answer) == {"messages", "total", "skip", "limit"}
        assert all(set(m) == GROUP_MESSAGE_KEYS for m in answer["messages"])
        return answer
    answer = page()
    assert (answer["total"], answer["skip"], answer["limit"]) == (5, 0, 50)
    assert [m["message_id"] for m in answer["messages"]] == ids
    assert [m["message_id"] for m in page(limit=2)["messages"]] == ids[3:]
    assert [m["message_id"] for m in page(skip=2, limit=2)["messages"]] == \
        ids[1:3]
    assert page(skip=5)["messages"] == []
    body(api("DELETE", group_path(gid, f"/messages/{ids[4]}"),
             token=member.access), 200)
    answer = page(limit=2)
    assert answer["total"] == 4
    assert [m["message_id"] for m in answer["messages"]] == ids[2:4]
    for params, loc in (({"limit": 0}, "limit"), ({"limit": 101}, "limit"),
                        ({"skip": -1}, "skip")):
        assert body(group_history(member.access, gid, **params),
                    422)["detail"][0]["loc"] == ["query", loc]
    assert_error(group_history(new_user().access, gid), 404, NOT_FOUND)


def test_delete_message_rules():
    group, leader, (mod, a, b) = group_with(3)
    gid = group["group_id"]
    promote(group, leader, mod)
    mine, theirs, third = gsend(a, group, "a"), gsend(b, group, "b"), \
        gsend(b, group, "c")
    delete = lambda user, mid, g=gid: api(
        "DELETE", group_path(g, f"/messages/{mid}"), token=user.access)
    assert_error(delete(a, theirs["message_id"]), 403,
                 "Only the sender, the leader or a moderator can delete "
                 "this message")
    assert body(delete(a, mine["message_id"]), 200) == {
        "detail": "Message deleted", "message_id": mine["message_id"]}
    assert_error(delete(a, mine["message_id"]), 404, "Message not found")
    assert body(delete(mod, theirs["message_id"]), 200)["message_id"] == \
        theirs["message_id"]
    assert body(delete(leader, third["message_id"]), 200)["message_id"] == \
        third["message_id"]
    assert_error(delete(a, random_uuid()), 404, "Message not found")
    other = body(create_group(a.access, "other"), 201)
    elsewhere = gsend(a, other, "elsewhere")
    assert_error(delete(a, elsewhere["message_id"]), 404,
                 "Message not found")
    assert_error(delete(new_user(), elsewhere["message_id"],
                        other["group_id"]), 404, NOT_FOUND)
    assert_422(delete(a, "x"), bad_uuid("path", "message_id"))
    assert body(group_history(a.access, gid), 200)["total"] == 0


def test_read_marks_move_forward_only():
    group, leader, (a, b) = group_with(2)
    gid = group["group_id"]
    sent = [gsend(leader, group, f"r{i}") for i in range(4)]
    assert group_unread(a.access)["groups"][gid] == 4
    answer = body(group_read(a.access, gid, sent[2]["message_id"]), 200)
    assert answer == {"group_id": gid,
                      "last_read_message_id": sent[2]["message_id"],
                      "unread_count": 1}
    # Never back.
    answer = body(group_read(a.access, gid, sent[0]["message_id"]), 200)
    assert (answer["last_read_message_id"], answer["unread_count"]) == \
        (sent[2]["message_id"], 1)
    body(group_read(b.access, gid, sent[1]["message_id"]), 200)
    counts = [m["read_by_count"] for m in
              body(group_history(leader.access, gid), 200)["messages"]]
    # The leader (its sends), a up to r2, b up to r1.
    assert counts == [3, 3, 2, 1]
    # A deleted message after the mark is unread no more.
    body(api("DELETE", group_path(gid, f"/messages/{sent[3]['message_id']}"),
             token=leader.access), 200)
    assert group_unread(a.access)["groups"][gid] == 0
    assert_error(group_read(a.access, gid, sent[3]["message_id"]), 404,
                 "Message not found")
    other = body(create_group(a.access, "other"), 201)
    assert_error(group_read(a.access, gid, gsend(a, other)["message_id"]),
                 404, "Message not found")
    assert_error(group_read(new_user().access, gid, sent[0]["message_id"]),
                 404, NOT_FOUND)
    assert_422(group_read(a.access, gid, "x"),
               bad_uuid("body", "message_id"))
    body(group_leave(b.access, gid), 200)
    assert_error(group_read(b.access, gid, sent[2]["message_id"]), 403,
                 FORMER)


def test_search_newest_first_as_direct_search():
    group, leader, (member,) = group_with(1)
    gid = group["group_id"]
    word = "Zq" + secrets.token_hex(3)
    hits = [gsend(leader, group, f"one {word} here"),
            gsend(member, group, f"{word.upper()}!"),
            gsend(leader, group, f"x{word.lower()}y")]
    gsend(member, group, "nothing to see")
    gsend(member, group, "100% sure")

    def search(**params):
        return api("GET", group_path(gid, "/messages/search"),
                   token=member.access, params=params)
    answer = body(search(keyword=word), 200)
    assert set(answer) == {"messages", "total", "skip", "limit"}
    assert answer["total"] == 3
    assert [m["message_id"] for m in answer["messages"]] == \
        [m["message_id"] for m in reversed(hits)]
    page = body(search(keyword=word, skip=1, limit=1), 200)
    assert [m["message_id"] for m in page["messages"]] == \
        [hits[1]["message_id"]]
    assert body(search(keyword="0%"), 200)["total"] == 1
    assert body(search(keyword="%%"), 200)["total"] == 0
    # One character: no key of the index, the group read through its btree.
    assert body(search(keyword="O"), 200)["total"] == 2
    assert_422(search(), field_required("query", "keyword"))
    assert_422(search(keyword=""), too_short(("query", "keyword"), 1))
    assert_error(api("GET", group_path(gid, "/messages/search"),
                     token=new_user().access, params={"keyword": "a"}), 404,
                 NOT_FOUND)


def test_online_without_connections():
    group, leader, _ = group_with(1)
    gid = group["group_id"]
    assert body(api("GET", group_path(gid, "/online"), token=leader.access),
                200) == {"online_members": []}
    assert_error(api("GET", group_path(gid, "/online"),
                     token=new_user().access), 404, NOT_FOUND)


# ---------------------------------------------------- who learns what

def every_path(gid, other):
    """Every route that names a group, with a body where one is needed."""
    return [
        ("GET", group_path(gid), None),
        ("PUT", group_path(gid), {"name": "x"}),
        ("DELETE", group_path(gid), None),
        ("GET", group_path(gid, "/members"), None),
        ("POST", group_path(gid, "/members"), {"account_id": other}),
        ("DELETE", group_path(gid, f"/members/{other}"), None),
        ("POST", group_path(gid, f"/ban/{other}"), None),
        ("POST", group_path(gid, "/leave"), None),
        ("GET", group_path(gid, "/messages"), None),
        ("POST", group_path(gid, "/messages"), {"content": "x"}),
        ("GET", group_path(gid, "/messages/search?keyword=x"), None),
        ("DELETE", group_path(gid, f"/messages/{other}"), None),
        ("PUT", group_path(gid, "/read"), {"message_id": other}),
        ("GET", group_path(gid, "/online"), None),
    ]


def test_a_stranger_learns_nothing():
    group, leader, (member,) = group_with(1)
    message = gsend(member, group)
    stranger = new_user()
    make_friends(stranger, member)
    for gid in (group["group_id"], random_uuid()):
        for method, path, data in every_path(gid, message["message_id"]):
            assert_error(api(method, path, token=stranger.access, json=data),
                         404, NOT_FOUND)


@pytest.mark.parametrize("how", ["left", "removed", "banned"])
def test_a_former_member_gets_403_everywhere(how):
    group, leader, (member,) = group_with(1)
    message = gsend(leader, group)
    former_member(group, leader, member, how)
    for method, path, data in every_path(group["group_id"],
                                         message["message_id"]):
        assert_error(api(method, path, token=member.access, json=data), 403,
                     FORMER)


GROUP_ROUTES = [
    ("POST", "/group-chat/"),
    ("GET", "/group-chat/my-groups"),
    ("GET", "/group-chat/all"),
    ("GET", "/group-chat/unread-count"),
    ("POST", "/group-chat/membership/batch"),
    ("GET", "/group-chat/{id}"),
    ("PUT", "/group-chat/{id}"),
    ("DELETE", "/group-chat/{id}"),
    ("GET", "/group-chat/{id}/members"),
    ("POST", "/group-chat/{id}/members"),
    ("DELETE", "/group-chat/{id}/members/{id}"),
    ("POST", "/group-chat/{id}/ban/{id}"),
    ("POST", "/group-chat/{id}/leave"),
    ("POST", "/group-chat/{id}/join"),
    ("GET", "/group-chat/{id}/membership"),
    ("GET", "/group-chat/{id}/messages"),
    ("POST", "/group-chat/{id}/messages"),
    ("GET", "/group-chat/{id}/messages/search?keyword=a"),
    ("DELETE", "/group-chat/{id}/messages/{id}"),
    ("PUT", "/group-chat/{id}/read"),
    ("GET", "/group-chat/{id}/online"),
]


@pytest.mark.parametrize("method, path", GROUP_ROUTES,
                         ids=[f"{m} {p}" for m, p in GROUP_ROUTES])
def test_every_group_route_needs_a_token(method, path):
    assert_not_authenticated(api(method, path.format(id=random_uuid())))


def test_an_inactive_account_is_refused(db):
    group, leader, (member,) = group_with(1)
    set_active(db, member.account_id, False)
    assert_error(group_get(member.access, group["group_id"]), 403,
                 "Inactive user")


# ------------------------------------------------------------ 256 members

def test_256_members_then_full(db):
    leader = new_user()
    ids = bulk_friends(db, leader, GROUP_MAX_MEMBERS)
    group = body(create_group(leader.access, "big",
                              ids[:GROUP_MAX_MEMBERS - 1]), 201)
    gid = group["group_id"]
    assert group["member_count"] == GROUP_MAX_MEMBERS
    assert len(body(group_members(leader.access, gid), 200)) == \
        GROUP_MAX_MEMBERS
    assert_error(group_add(leader.access, gid, ids[-1]), 400, "Group is full")
    message = gsend(leader, group, "hello everyone")
    assert message["read_by_count"] == 1
    body(group_remove(leader.access, gid, ids[0]), 200)
    assert body(group_add(leader.access, gid, ids[-1]), 201)["status"] == \
        "active"
    assert body(group_get(leader.access, gid), 200)["member_count"] == \
        GROUP_MAX_MEMBERS
