"""What the command line says when something outside the user's input fails: a database it cannot open or reach, a
file it cannot write, or a bug. One line of Chinese each, never a traceback (BEIAN_DEBUG=1 adds it for developers).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Final

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

from tasks.errors import BeianError
from tasks.reasons import file_reason

EXIT_DATABASE: Final = 10
EXIT_FILE: Final = 11
EXIT_INTERNAL: Final = 70  # EX_SOFTWARE
DEBUG_VARIABLE: Final = "BEIAN_DEBUG"
URL_FORM: Final = "应为 SQLite 文件路径，或 postgresql://用户:密码@主机:端口/数据库名"

# The driver's words (SQLite, psycopg) → what the person at the terminal can do about it; the first match wins.
_DATABASE_REASONS: Final = (
    ("connection refused", "连接被拒绝：数据库服务器没有运行，或主机、端口不对"),
    ("password authentication failed", "用户名或密码不对"),
    ("no password supplied", "没有提供密码"),
    ("does not exist", "服务器上没有这个数据库（或角色），请先创建"),
    ("could not translate host name", "主机名无法解析"),
    ("name or service not known", "主机名无法解析"),
    ("timeout expired", "连接超时：主机不可达或网络不通"),
    ("no route to host", "主机不可达"),
    ("network is unreachable", "网络不可达"),
    ("unable to open database file", "无法打开数据库文件：所在文件夹不存在或没有权限"),
    ("file is not a database", "该文件不是 SQLite 数据库"),
    ("readonly database", "数据库文件只读，无法写入"),
    ("database is locked", "数据库正被其他程序锁定，请稍后重试"),
    ("disk i/o error", "读写数据库文件时出错（磁盘 I/O）"),
    ("no such table", "数据库尚未初始化或结构不是最新，请先运行 beian init"),
    ("undefinedtable", "数据库尚未初始化或结构不是最新，请先运行 beian init"),
    ("relation \"", "数据库尚未初始化或结构不是最新，请先运行 beian init"),
)


class DatabaseUnusable(BeianError):
    """`--db` names nothing that can be a database."""

    exit_code = EXIT_DATABASE


def shown_url(url: str) -> str:
    """The URL without its password, also when it cannot be parsed."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def checked_database_url(url: str, *, existing: bool = False) -> str:
    """`url` if it can name a database: it parses, and a SQLite file's folder exists (SQLite would otherwise answer
    "unable to open database file", or create the file somewhere unexpected); with `existing`, the file itself."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise DatabaseUnusable(f"数据库地址无法识别：{shown_url(url)}；{URL_FORM}") from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            folder = Path(database).parent
            if not folder.is_dir():
                raise DatabaseUnusable(f"SQLite 数据库所在的文件夹不存在：{folder}；请先创建它，或用 --db 换一个路径")
            if existing and not Path(database).exists():
                raise DatabaseUnusable(f"SQLite 数据库文件不存在：{database}；请先运行 beian init 创建它，"
                                       "或用 --db 指向已有的数据库")
    return url


def database_reason(exc: Exception) -> str:
    """The driver's reason for `exc` (SQLAlchemy's, or the driver's own) in Chinese (or its own first line when it is
    not a known one)."""
    original = exc.orig if isinstance(exc, DBAPIError) else exc
    text = f"{type(original).__name__}: {original}"
    lowered = text.lower()
    for needle, reason in _DATABASE_REASONS:
        if needle in lowered:
            return reason
    first = str(original).strip().splitlines()[0] if str(original).strip() else type(original).__name__
    return f"数据库报告：{first[:300]}"


def describe(exc: BaseException, url: str | None) -> tuple[str, int]:
    """One line of Chinese and the exit code for an exception that is not a BeianError."""
    where = f" {shown_url(url)}" if url else ""
    if isinstance(exc, NoSuchModuleError):
        return f"不支持这种数据库{where}；{URL_FORM}", EXIT_DATABASE
    if isinstance(exc, ArgumentError):
        return f"数据库地址无法识别{where}；{URL_FORM}", EXIT_DATABASE
    if isinstance(exc, ModuleNotFoundError) and url is not None:
        return f"缺少数据库驱动（{exc.name}），无法使用数据库{where}", EXIT_DATABASE
    if isinstance(exc, SQLAlchemyError):
        return f"无法使用数据库{where}：{database_reason(exc)}；未作任何更改", EXIT_DATABASE
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"无法读写文件 {exc.filename}：{file_reason(exc)}", EXIT_FILE
    if isinstance(exc, RecursionError):
        return "输入嵌套过深，无法处理；未作任何更改", EXIT_INTERNAL
    if isinstance(exc, MemoryError):
        return "内存不足，无法完成；未作任何更改", EXIT_INTERNAL
    detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
    return (f"内部错误（{type(exc).__name__}{'：' + detail if detail else ''}）；未完成的操作已回滚。"
            f"请把所用命令和这一行告知系统管理员（设置 {DEBUG_VARIABLE}=1 可显示详细信息）"), EXIT_INTERNAL


def debugging() -> bool:
    return os.environ.get(DEBUG_VARIABLE, "").strip() not in ("", "0")
