"""Why a file or a JSON text could not be read, in the words of the person who gave it: Python's own messages for
these (the operating system's `strerror`, the JSON decoder's) are English. The one translation of them, used by the
command line, the simulation's profile, the BPMN check and deploy, and the forms a process owner uploads."""

from __future__ import annotations

import errno
import json
from typing import Final

_FILE_REASONS: Final = {
    errno.ENOENT: "文件或文件夹不存在",
    errno.EACCES: "没有权限",
    errno.EPERM: "没有权限",
    errno.EISDIR: "这是一个文件夹",
    errno.ENOTDIR: "路径中有一段不是文件夹",
    errno.ENOSPC: "磁盘空间已满",
    errno.EROFS: "文件系统只读",
    errno.EEXIST: "文件已存在",
    errno.ENAMETOOLONG: "文件名过长",
}

_DECODER_MESSAGES: Final = {
    "Expecting value": "此处应为一个值",
    "Expecting property name enclosed in double quotes": "此处应为用双引号括起的键名",
    "Expecting ',' delimiter": "此处缺少逗号",
    "Expecting ':' delimiter": "此处缺少冒号",
    "Unterminated string starting at": "字符串没有结束（缺少右引号）",
    "Invalid control character at": "字符串中有未转义的控制字符",
    "Invalid \\escape": "无效的转义序列",
    "Invalid \\uXXXX escape": "无效的 \\u 转义序列",
    "Extra data": "JSON 之后还有多余的内容",
}


def file_reason(exc: OSError) -> str:
    """文件或文件夹不存在, 没有权限, …; the system's own words for a rarer one."""
    return _FILE_REASONS.get(exc.errno or 0, exc.strerror or type(exc).__name__)


def json_reason(exc: json.JSONDecodeError) -> str:
    """第 3 行第 5 列，此处缺少逗号."""
    return f"第 {exc.lineno} 行第 {exc.colno} 列，{_DECODER_MESSAGES.get(exc.msg, exc.msg)}"
