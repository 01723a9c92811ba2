"""`beian users`: caseworker accounts and their web sessions (administrators)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from adapters.entrypoints.cli.common import READS, SETUP, Parser, emit, open_app


def _user_view(user: Any) -> dict[str, Any]:
    return {"username": user.username, "display_name": user.display_name, "roles": list(user.roles),
            "role_labels": list(user.role_labels), "region": user.region, "region_name": user.region_name,
            "is_admin": user.is_admin, "active": user.active}


def _user_line(v: dict[str, Any]) -> str:
    region = v["region_name"] if v["region"] in v["region_name"] else f"{v['region_name']}（{v['region']}）"
    return (f"{v['username']}  {v['display_name']}  {'、'.join(v['role_labels'])}  辖区 {region}"
            + ("  管理员" if v["is_admin"] else "") + ("" if v["active"] else "  已停用"))


def _new_password(args: argparse.Namespace) -> str:
    """The new password: one line of standard input with --password-stdin, else typed twice without echo."""
    if args.password_stdin:
        return sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    import getpass

    first = getpass.getpass("新密码：")
    if getpass.getpass("再次输入新密码：") != first:
        from tasks.errors import InvalidInput

        raise InvalidInput("两次输入的密码不一致，未作任何更改")
    return first


def cmd_users_add(args: argparse.Namespace) -> None:
    from workflows.users import add_user

    app = open_app(args)  # opened first: a wrong --db fails before the password is asked for
    user = add_user(app, args.username, args.name, _new_password(args), args.role, args.region,
                    is_admin=args.admin, actor=args.user)
    emit(args, _user_view(user), lambda v: "已新增用户：" + _user_line(v))


def cmd_users_list(args: argparse.Namespace) -> None:
    from workflows.users import list_users

    users = [_user_view(u) for u in list_users(open_app(args))]
    emit(args, users, lambda v: "\n".join(_user_line(u) for u in v) or "尚无用户（用 beian users add 新增）")


def cmd_users_passwd(args: argparse.Namespace) -> None:
    from workflows.users import set_password

    app = open_app(args)
    _existing_user(app, args.username)  # before asking for a password nobody can use
    set_password(app, args.username, _new_password(args), actor=args.user)
    emit(args, {"username": args.username, "password_changed": True},
           lambda v: f"已更改用户 {v['username']} 的密码")


def cmd_users_active(args: argparse.Namespace) -> None:
    from workflows.users import set_active

    user = set_active(open_app(args), args.username, args.active, actor=args.user)
    emit(args, _user_view(user), lambda v: ("已启用用户：" if v["active"] else "已停用用户：") + _user_line(v))


def cmd_users_unlock(args: argparse.Namespace) -> None:
    from workflows.users import unlock

    unlock(open_app(args), args.username, actor=args.user)
    emit(args, {"unlocked": args.username}, lambda v: f"已解除登录锁定：{v['unlocked']}")


def cmd_users_sessions(args: argparse.Namespace) -> None:
    from workflows.sessions import live_sessions

    app = open_app(args)
    if args.username is not None:
        _existing_user(app, args.username)
    sessions = [s.to_dict() for s in live_sessions(app, args.username)]
    emit(args, sessions, lambda v: "\n".join(
        f"{s['username']}  登录 {s['created_at'][:16]}  最近活动 {s['last_seen_at'][:16]}  "
        f"到期 {s['expires_at'][:16]}  {s['client'] or '（地址不明）'}" for s in v) or "没有登录中的会话")


def cmd_users_signout(args: argparse.Namespace) -> None:
    from workflows.sessions import sign_out_everywhere

    app = open_app(args)
    username = _existing_user(app, args.username)
    ended = sign_out_everywhere(app, username, actor=args.user)
    emit(args, {"username": username, "sessions_ended": ended},
           lambda v: f"已登出用户 {v['username']} 的全部会话（{v['sessions_ended']} 个）")


def _existing_user(app: Any, username: str) -> str:
    from tasks.errors import NotFound
    from workflows.users import get_user

    user = get_user(app, username)
    if user is None:
        raise NotFound(f"用户“{username}”不存在")
    return user.username


def cmd_roles_add(args: argparse.Namespace) -> None:
    from workflows.roles import add_role

    role = add_role(open_app(args), args.key, args.label, args.description, args.level, actor=args.user)
    emit(args, {"key": role.key, "label": role.label, "description": role.description, "level": role.level},
         lambda v: f"已新增角色：{v['label']}（{v['key']}）。流程图中以“{v['label']}”命名的泳道即由该角色办理；"
                   f"用 beian users add --role {v['key']} 为用户指定")


def cmd_roles_list(args: argparse.Namespace) -> None:
    from workflows.roles import list_roles

    emit(args, list_roles(open_app(args)), lambda v: "\n".join(
        f"{r['key']}  {r['label']}  {r['level_label']}" + ("  （管理员添加）" if r["added"] else "")
        + (f"  {r['description']}" if r["description"] else "") for r in v))


def register(sub: Any) -> None:
    """Add the users and roles commands."""
    roles = sub.add_parser("roles", help="角色（泳道）管理（管理员）").add_subparsers(
        dest="roles_command", required=True, parser_class=Parser)
    p = roles.add_parser("add", help="新增角色：流程图中以其名称命名的泳道即由该角色办理")
    p.add_argument("key", help="角色代码：小写英文字母、数字和 _，如 legal_review")
    p.add_argument("--label", required=True, help="角色名称（泳道名称），如 法制审核员")
    p.add_argument("--level", choices=("province", "city", "any"), default="any",
                   help="持有该角色的用户所在层级：province 省级、city 市级、any 不限（默认）")
    p.add_argument("--description", default="", help="角色说明")
    p.set_defaults(func=cmd_roles_add, default_user="admin", effect=SETUP)
    roles.add_parser("list", help="列出全部角色").set_defaults(func=cmd_roles_list, effect=READS)
    users = sub.add_parser("users", help="用户管理（管理员）").add_subparsers(dest="users_command", required=True,
                                                                        parser_class=Parser)
    p = users.add_parser("add", help="新增用户（密码两次输入，或用 --password-stdin 从标准输入读一行）")
    p.add_argument("username", help="用户名：3–40 个字符，小写字母、数字和 _ . -")
    p.add_argument("--name", required=True, help="显示名，如 张三")
    p.add_argument("--role", action="append", required=True,
                   help="角色（可重复）：intake、expert、inspection、reviewer、publicity、supervision、approver、"
                        "process_owner，及管理员添加的角色（beian roles list）")
    p.add_argument("--region", required=True, help="辖区代码：省级如 510000，市级如 510100（直辖市为区代码）")
    p.add_argument("--admin", action="store_true", help="管理员")
    p.add_argument("--password-stdin", action="store_true", help="从标准输入读取密码（一行）")
    p.set_defaults(func=cmd_users_add, default_user="admin", effect=SETUP)
    users.add_parser("list", help="列出用户").set_defaults(func=cmd_users_list, effect=READS)
    p = users.add_parser("passwd", help="更改用户密码")
    p.add_argument("username")
    p.add_argument("--password-stdin", action="store_true", help="从标准输入读取密码（一行）")
    p.set_defaults(func=cmd_users_passwd, default_user="admin", effect=SETUP)
    p = users.add_parser("disable", help="停用用户")
    p.add_argument("username")
    p.set_defaults(func=cmd_users_active, active=False, default_user="admin", effect=SETUP)
    p = users.add_parser("enable", help="重新启用用户")
    p.add_argument("username")
    p.set_defaults(func=cmd_users_active, active=True, default_user="admin", effect=SETUP)
    p = users.add_parser("sessions", help="列出登录中的网页会话（全部，或某个用户的）")
    p.add_argument("username", nargs="?", help="只列此用户的会话")
    p.set_defaults(func=cmd_users_sessions, effect=READS)
    p = users.add_parser("signout", help="登出某个用户的全部网页会话（所有浏览器、所有服务器）")
    p.add_argument("username")
    p.set_defaults(func=cmd_users_signout, default_user="admin", effect=SETUP)
    p = users.add_parser("unlock", help="解除用户因连续登录失败而暂停的登录")
    p.add_argument("username")
    p.set_defaults(func=cmd_users_unlock, default_user="admin", effect=SETUP)
