"""The interpreter: walks a checked syntax tree over plain task data, charging every step to a meter.

It evaluates only the node types of `language`, reaches data only by name from the case's task data, calls only the
documented domain functions and the library's builtins and methods, and makes only plain values. A name is looked
up in the comprehension's own variables, then the task data, then the workflow's data objects; a call of a name is
always a function.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from typing import Any

from workflows.expressions.arithmetic import BINARY, COMPARE, negate, positive, truth
from workflows.expressions.language import Mode, compiled
from workflows.expressions.library import BUILTINS, formatted, iterate, method_of
from workflows.expressions.limits import (
    DEFAULT_LIMITS,
    ExpressionError,
    ExpressionFailed,
    ExpressionLimitExceeded,
    ExpressionUndefined,
    Limits,
    Meter,
)
from workflows.expressions.values import (
    ITERABLES,
    copy_in,
    dict_key,
    hashable_key,
    materialise,
    render,
    require_plain,
    storable,
    type_name,
)

Functions = Mapping[str, Callable[..., Any]]
_NO_FUNCTIONS: Functions = {}


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class Interpreter:
    """One evaluation: the data it reads and writes, the domain functions it may call, and its meter."""

    def __init__(self, data: dict[str, Any], external: Mapping[str, Any] | None, functions: Functions,
                 meter: Meter) -> None:
        self.data = data
        self.external = external or {}
        self.functions = functions
        self.meter = meter
        self.scopes: list[dict[str, Any]] = []  # comprehension variables, innermost last
        self.assigned: set[str] = set()  # names of the task data a script bound

    # --- expressions --------------------------------------------------------------------------------------------
    def value(self, node: ast.AST) -> Any:
        self.meter.step()
        return _EVALUATE[type(node)](self, node)

    def _constant(self, node: ast.Constant) -> Any:
        return node.value

    def _name(self, node: ast.Name) -> Any:
        return self.lookup(node.id)

    def lookup(self, name: str) -> Any:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        if name in self.data:
            return require_plain(self.data[name], f"数据“{name}”")
        if name in self.external:
            return require_plain(self.external[name], f"数据对象“{name}”")
        if name in self.functions or name in BUILTINS:
            raise ExpressionFailed(f"“{name}”是函数，调用时请写 {name}(…)")
        raise ExpressionUndefined(f"名称“{name}”未定义：案件数据中没有这一项")

    def _bool_op(self, node: ast.BoolOp) -> Any:
        is_and = type(node.op) is ast.And
        result: Any = None
        for operand in node.values:
            result = self.value(operand)
            if truth(result) != is_and:
                return result
        return result

    def _bin_op(self, node: ast.BinOp) -> Any:
        return BINARY[type(node.op)](self.value(node.left), self.value(node.right), self.meter)

    def _unary_op(self, node: ast.UnaryOp) -> Any:
        operand = self.value(node.operand)
        kind = type(node.op)
        if kind is ast.Not:
            return not truth(operand)
        return negate(operand, self.meter) if kind is ast.USub else positive(operand, self.meter)

    def _if_exp(self, node: ast.IfExp) -> Any:
        return self.value(node.body) if truth(self.value(node.test)) else self.value(node.orelse)

    def _compare(self, node: ast.Compare) -> bool:
        left = self.value(node.left)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = self.value(comparator)
            if not COMPARE[type(op)](left, right, self.meter):
                return False
            left = right
        return True

    def _call(self, node: ast.Call) -> Any:
        args = [self.value(arg) for arg in node.args]
        kwargs = {keyword.arg: self.value(keyword.value) for keyword in node.keywords}
        func = node.func
        if type(func) is ast.Attribute:
            target = self.value(func.value)
            return self._library(func.attr, method_of(target, func.attr), [target, *args], kwargs)
        name = func.id  # type: ignore[attr-defined]  # the language allows a name or a method only
        if name in self.functions:
            return self._domain(name, args, kwargs)
        builtin = BUILTINS.get(name)
        if builtin is None:
            raise ExpressionFailed(f"没有名为“{name}”的函数")
        return self._library(name, builtin, args, kwargs)

    def _library(self, name: str, function: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]) -> Any:
        try:
            return function(self.meter, *args, **kwargs)
        except TypeError:
            raise ExpressionFailed(f"调用 {name}(…) 的参数个数或参数名不正确") from None

    def _domain(self, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """A documented function of the system (working days, today…): it gets plain values and must return one."""
        try:
            with self.meter.host_call():
                result = self.functions[name](*args, **kwargs)
        except ExpressionError:
            raise
        except TypeError:
            raise ExpressionFailed(f"调用 {name}(…) 的参数个数、参数名或类型不正确") from None
        except Exception as exc:  # noqa: BLE001 — any failure of the function is this expression's failure
            message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            raise ExpressionFailed(f"函数 {name}(…) 出错：{message}") from None
        self.meter.check_clock()
        return copy_in(result, self.meter)

    def _subscript(self, node: ast.Subscript) -> Any:
        container = self.value(node.value)
        if type(node.slice) is ast.Slice:
            return self._slice(container, node.slice)
        return self.item(container, self.value(node.slice))

    def item(self, container: Any, key: Any) -> Any:
        kind = type(container)
        if kind is dict:
            try:
                return container[hashable_key(key)]
            except KeyError:
                raise ExpressionFailed(f"字典中没有键 {render(key, self.meter, quoted=True)}") from None
        if kind in (list, tuple, str):
            index = _position(key)
            if not -len(container) <= index < len(container):
                raise ExpressionFailed(f"位置 {index} 超出范围（{type_name(container)}共 {len(container)} 项）")
            return container[index]
        raise ExpressionFailed(f"{type_name(container)}不能用 [ ] 取值")

    def _slice(self, container: Any, node: ast.Slice) -> Any:
        if type(container) not in (list, tuple, str):
            raise ExpressionFailed(f"{type_name(container)}不能切片")
        bounds = [None if part is None else self.value(part) for part in (node.lower, node.upper, node.step)]
        if any(bound is not None and type(bound) not in (bool, int) for bound in bounds):
            raise ExpressionFailed("切片的起止位置和步长必须是整数")
        if bounds[2] == 0:
            raise ExpressionFailed("切片的步长不能为 0")
        selected = range(len(container))[slice(*bounds)]
        if type(container) is str:
            self.meter.string(len(selected))
            return container[slice(*bounds)]
        self.meter.items(len(selected))
        return type(container)(copy_in(container[index], self.meter) for index in selected)

    def _list(self, node: ast.List) -> list[Any]:
        self.meter.items(len(node.elts))
        return [copy_in(self.value(element), self.meter) for element in node.elts]

    def _tuple(self, node: ast.Tuple) -> tuple[Any, ...]:
        self.meter.items(len(node.elts))
        return tuple(copy_in(self.value(element), self.meter) for element in node.elts)

    def _dict(self, node: ast.Dict) -> dict[Any, Any]:
        self.meter.items(len(node.keys))
        return {dict_key(self.value(key)): copy_in(self.value(value), self.meter)  # type: ignore[arg-type]
                for key, value in zip(node.keys, node.values, strict=True)}

    def _list_comp(self, node: ast.ListComp | ast.GeneratorExp) -> list[Any]:
        result: list[Any] = []

        def produce() -> None:
            self.meter.items(len(result) + 1)
            result.append(copy_in(self.value(node.elt), self.meter))

        self._comprehend(node.generators, produce)
        return result

    def _dict_comp(self, node: ast.DictComp) -> dict[Any, Any]:
        result: dict[Any, Any] = {}

        def produce() -> None:
            key = dict_key(self.value(node.key))
            self.meter.items(len(result) + 1)
            result[key] = copy_in(self.value(node.value), self.meter)

        self._comprehend(node.generators, produce)
        return result

    def _comprehend(self, generators: list[ast.comprehension], produce: Callable[[], None]) -> None:
        self.scopes.append({})
        try:
            self._generator(generators, 0, produce)
        finally:
            self.scopes.pop()

    def _generator(self, generators: list[ast.comprehension], index: int, produce: Callable[[], None]) -> None:
        generator = generators[index]
        for item in iterate(self.value(generator.iter), self.meter):
            self._bind_to(generator.target, item, self.scopes[-1].__setitem__)
            if all(truth(self.value(condition)) for condition in generator.ifs):
                if index + 1 < len(generators):
                    self._generator(generators, index + 1, produce)
                else:
                    produce()

    def _joined_str(self, node: ast.JoinedStr) -> str:
        parts = [self.value(part) for part in node.values]
        self.meter.string(sum(len(part) for part in parts))
        return "".join(parts)

    def _formatted_value(self, node: ast.FormattedValue) -> str:
        spec = self.value(node.format_spec) if node.format_spec is not None else ""
        return formatted(self.value(node.value), node.conversion, spec, self.meter)

    # --- statements ---------------------------------------------------------------------------------------------
    def run(self, statements: list[ast.stmt]) -> None:
        for statement in statements:
            self.meter.step()
            _EXECUTE[type(statement)](self, statement)

    def _expr(self, node: ast.Expr) -> None:
        self.value(node.value)

    def _assign(self, node: ast.Assign) -> None:
        value = self.value(node.value)
        for target in node.targets:
            self._bind_to(target, value, self._bind)

    def _aug_assign(self, node: ast.AugAssign) -> None:
        operation = BINARY[type(node.op)]
        target = node.target
        if type(target) is ast.Name:
            current = self.lookup(target.id)
            addition = self.value(node.value)
            if type(current) is list and type(node.op) is ast.Add:  # `items += more` extends in place, as in Python
                added = materialise(addition, self.meter) if type(addition) in (list, tuple, *ITERABLES) else None
                if added is None:
                    raise ExpressionFailed(f"列表不能用 += 加上{type_name(addition)}")
                self.meter.items(len(current) + len(added))
                current.extend(added)
                return
            self._bind(target.id, operation(current, addition, self.meter))
            return
        container, key = self._place(target)  # type: ignore[arg-type]
        updated = operation(self.item(container, key), self.value(node.value), self.meter)
        self._store(container, key, updated)

    def _if(self, node: ast.If) -> None:
        self.run(node.body if truth(self.value(node.test)) else node.orelse)

    def _for(self, node: ast.For) -> None:
        for item in iterate(self.value(node.iter), self.meter):
            self._bind_to(node.target, item, self._bind)
            try:
                self.run(node.body)
            except _Break:
                return
            except _Continue:
                continue
        self.run(node.orelse)

    def _break(self, node: ast.Break) -> None:
        raise _Break

    def _continue(self, node: ast.Continue) -> None:
        raise _Continue

    def _pass(self, node: ast.Pass) -> None:
        return None

    def _delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            if type(target) is ast.Name:
                if target.id not in self.data:
                    raise ExpressionFailed(f"名称“{target.id}”未定义，不能删除")
                del self.data[target.id]
                self.assigned.discard(target.id)
                continue
            container, key = self._place(target)  # type: ignore[arg-type]
            self.item(container, key)  # says why when the key or position is not there
            del container[key]

    # --- binding ------------------------------------------------------------------------------------------------
    def _bind(self, name: str, value: Any) -> None:
        if name in self.functions or name in BUILTINS:
            raise ExpressionFailed(f"不能给函数名“{name}”赋值")
        self.data[name] = value
        self.assigned.add(name)

    def _bind_to(self, target: ast.AST, value: Any, bind: Callable[[str, Any], None]) -> None:
        kind = type(target)
        if kind is ast.Name:
            bind(target.id, value)  # type: ignore[attr-defined]
        elif kind is ast.Tuple or kind is ast.List:
            elements = target.elts  # type: ignore[attr-defined]
            for element, item in zip(elements, self._unpack(value, len(elements)), strict=True):
                self._bind_to(element, item, bind)
        else:  # a subscript: the language allows nothing else
            container, key = self._place(target)  # type: ignore[arg-type]
            self._store(container, key, value)

    def _unpack(self, value: Any, expected: int) -> list[Any]:
        values: list[Any] = []
        for item in iterate(value, self.meter):
            values.append(item)
            if len(values) > expected:
                break
        if len(values) != expected:
            found = "更多" if len(values) > expected else f"只有 {len(values)} 项"
            raise ExpressionFailed(f"解包的个数不符：需要 {expected} 项，实际{found}")
        return values

    def _place(self, target: ast.Subscript) -> tuple[Any, Any]:
        if type(target.slice) is ast.Slice:
            raise ExpressionFailed("不支持给切片赋值或删除切片")
        return self.value(target.value), self.value(target.slice)

    def _store(self, container: Any, key: Any, value: Any) -> None:
        kind = type(container)
        if kind is dict:
            if dict_key(key) not in container:
                self.meter.items(len(container) + 1)
            container[key] = copy_in(value, self.meter)
        elif kind is list:
            index = _position(key)
            if not -len(container) <= index < len(container):
                raise ExpressionFailed(f"位置 {index} 超出范围（列表共 {len(container)} 项）")
            container[index] = copy_in(value, self.meter)
        else:
            raise ExpressionFailed(f"{type_name(container)}不能修改其中的项")


def _position(key: Any) -> int:
    if type(key) not in (bool, int):
        raise ExpressionFailed(f"位置必须是整数，不能是{type_name(key)}")
    return int(key)


_EVALUATE: dict[type[ast.AST], Callable[[Interpreter, Any], Any]] = {
    ast.Constant: Interpreter._constant, ast.Name: Interpreter._name, ast.BoolOp: Interpreter._bool_op,
    ast.BinOp: Interpreter._bin_op, ast.UnaryOp: Interpreter._unary_op, ast.IfExp: Interpreter._if_exp,
    ast.Compare: Interpreter._compare, ast.Call: Interpreter._call, ast.Subscript: Interpreter._subscript,
    ast.List: Interpreter._list, ast.Tuple: Interpreter._tuple, ast.Dict: Interpreter._dict,
    ast.ListComp: Interpreter._list_comp, ast.GeneratorExp: Interpreter._list_comp,
    ast.DictComp: Interpreter._dict_comp, ast.JoinedStr: Interpreter._joined_str,
    ast.FormattedValue: Interpreter._formatted_value,
}
_EXECUTE: dict[type[ast.AST], Callable[[Interpreter, Any], None]] = {
    ast.Expr: Interpreter._expr, ast.Assign: Interpreter._assign, ast.AugAssign: Interpreter._aug_assign,
    ast.If: Interpreter._if, ast.For: Interpreter._for, ast.Break: Interpreter._break,
    ast.Continue: Interpreter._continue, ast.Pass: Interpreter._pass, ast.Delete: Interpreter._delete,
}


def _guarded(action: Callable[[], Any]) -> Any:
    """Run one evaluation; whatever goes wrong inside is an ExpressionError with a Chinese reason."""
    try:
        return action()
    except ExpressionError:
        raise
    except RecursionError:
        raise ExpressionLimitExceeded("超出限制：数据或表达式嵌套过深") from None
    except MemoryError:
        raise ExpressionLimitExceeded("超出内存限制") from None
    except Exception as exc:  # noqa: BLE001 — an interpreter bug must still fail the step with a reason
        raise ExpressionFailed(f"表达式无法计算（{type(exc).__name__}：{exc}）") from None


def evaluate(source: str, data: dict[str, Any], *, external: Mapping[str, Any] | None = None,
             functions: Functions = _NO_FUNCTIONS, limits: Limits = DEFAULT_LIMITS) -> Any:
    """The value of an expression (a condition, a timer value, a service parameter) over task data."""
    tree = compiled(source, "eval")

    def run() -> Any:
        meter = Meter(limits)
        result = Interpreter(data, external, functions, meter).value(tree.body)  # type: ignore[attr-defined]
        return storable(result, meter, "表达式的值")

    return _guarded(run)


def execute(source: str, data: dict[str, Any], *, external: Mapping[str, Any] | None = None,
            functions: Functions = _NO_FUNCTIONS, limits: Limits = DEFAULT_LIMITS) -> None:
    """Run a script over task data (`data` is changed in place: what the script assigns is the task's data)."""
    tree = compiled(source, "exec")

    def run() -> None:
        meter = Meter(limits)
        interpreter = Interpreter(data, external, functions, meter)
        interpreter.run(tree.body)  # type: ignore[attr-defined]
        for name in interpreter.assigned:
            data[name] = storable(data[name], meter, f"变量“{name}”")

    _guarded(run)


def trial(source: str, mode: Mode, limits: Limits = DEFAULT_LIMITS) -> Any:
    """Run `source` on no data (the deployment check's proofs): a script as it would run, an expression's value
    as it is (a part of an expression, e.g. `range(…)`, need not be storable on its own)."""
    if mode == "exec":
        execute(source, {}, limits=limits)
        return None
    tree = compiled(source, "eval")
    return _guarded(lambda: Interpreter({}, None, _NO_FUNCTIONS, Meter(limits)).value(tree.body))  # type: ignore
