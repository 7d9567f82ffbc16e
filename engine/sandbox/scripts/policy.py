"""How RestrictedPython compiles a script: its policy (the transformer that rewrites every
attribute, item, iteration and write into guard calls), plus our own rewrites: guarded
arithmetic, unpacking and f-string values, `d[k] += 1` made an assignment, bare except
narrowed to Exception (never catching MemoryError), and a step counted before every statement,
call, comprehension item and lambda call. The guards these calls reach are in namespace."""
from __future__ import annotations

import ast
import copy

from RestrictedPython.transformer import RestrictingNodeTransformer, copy_locations


def _side_effect_free(node):
    if isinstance(node, (ast.Name, ast.Constant)):
        return True
    if isinstance(node, ast.Attribute):
        return _side_effect_free(node.value)
    if isinstance(node, ast.Subscript):
        return _side_effect_free(node.value) and _side_effect_free(node.slice)
    if isinstance(node, ast.UnaryOp):
        return _side_effect_free(node.operand)
    if isinstance(node, ast.Tuple):
        return all(_side_effect_free(e) for e in node.elts)
    return False


def _tick_call(at):
    call = ast.Call(func=ast.Name("_maestro_tick_", ast.Load()), args=[], keywords=[])
    copy_locations(call, at)
    return call


# guard calls that may build something large count as a step (so memory is checked often)
_COUNTED_GUARDS = frozenset(["_maestro_binop_", "_maestro_star_", "_maestro_fmt_", "_apply_"])


class _Ticks(ast.NodeTransformer):
    """Count a step before every statement, call, comprehension item and lambda call, so any
    loop or recursion (even `while True: pass`) reaches the step limit, and the time and memory
    checks run even inside one long statement."""

    def visit_Call(self, node):
        self.generic_visit(node)
        func = node.func
        if isinstance(func, ast.Name) and func.id.startswith("_"):
            slicing = (func.id == "_getitem_" and len(node.args) == 2
                       and isinstance(node.args[1], ast.Slice))
            if func.id not in _COUNTED_GUARDS and not slicing:
                return node
        counted = ast.BoolOp(op=ast.And(), values=[_tick_call(node), node])
        copy_locations(counted, node)
        return counted

    def generic_visit(self, node):
        super().generic_visit(node)
        for field in ("body", "orelse", "finalbody"):
            statements = getattr(node, field, None)
            if isinstance(statements, list) and statements and isinstance(statements[0], ast.stmt):
                ticked = []
                for statement in statements:
                    tick = ast.Expr(value=_tick_call(statement))
                    copy_locations(tick, statement)
                    ticked.extend((tick, statement))
                setattr(node, field, ticked)
        return node

    def visit_Lambda(self, node):
        self.generic_visit(node)
        body = ast.BoolOp(op=ast.And(), values=[_tick_call(node.body), node.body])
        copy_locations(body, node.body)
        node.body = body
        return node

    def visit_comprehension(self, node):
        self.generic_visit(node)
        node.ifs.insert(0, _tick_call(node.iter))
        return node


class Policy(RestrictingNodeTransformer):
    """RestrictedPython's policy plus guarded arithmetic, unpacking and f-string values,
    bare except narrowed to Exception, and step counting."""

    _GUARDED = {ast.Add: "+", ast.Mult: "*", ast.Pow: "**", ast.LShift: "<<", ast.Mod: "%"}

    def visit_Module(self, node):
        node = super().visit_Module(node)
        return _Ticks().visit(node)

    def visit_AugAssign(self, node):
        """`d[k] += 1` and `d.total -= 5` (refused by RestrictedPython) become
        `d[k] = d[k] + 1`, when evaluating the target twice has no side effects."""
        target = node.target
        if isinstance(target, (ast.Subscript, ast.Attribute)) and _side_effect_free(target):
            load = copy.deepcopy(target)
            load.ctx = ast.Load()
            assign = ast.Assign(targets=[target],
                                value=ast.BinOp(left=load, op=node.op, right=node.value))
            copy_locations(assign, node)
            copy_locations(assign.value, node)
            return self.visit(assign)
        return super().visit_AugAssign(node)

    def visit_BinOp(self, node):
        node = super().visit_BinOp(node)
        symbol = self._GUARDED.get(type(node.op))
        if symbol is None:
            return node
        call = ast.Call(func=ast.Name("_maestro_binop_", ast.Load()),
                        args=[ast.Constant(symbol), node.left, node.right], keywords=[])
        copy_locations(call, node)
        return call

    def visit_Starred(self, node):
        node = super().visit_Starred(node)
        if isinstance(node.ctx, ast.Load):
            call = ast.Call(func=ast.Name("_maestro_star_", ast.Load()), args=[node.value],
                            keywords=[])
            copy_locations(call, node.value)
            node.value = call
        return node

    def visit_Dict(self, node):
        node = super().visit_Dict(node)
        for i, key in enumerate(node.keys):
            if key is None:  # {**mapping}
                call = ast.Call(func=ast.Name("_maestro_star_", ast.Load()),
                                args=[node.values[i]], keywords=[])
                copy_locations(call, node.values[i])
                node.values[i] = call
        return node

    def visit_FormattedValue(self, node):
        node = super().visit_FormattedValue(node)
        call = ast.Call(func=ast.Name("_maestro_fmt_", ast.Load()), args=[node.value], keywords=[])
        copy_locations(call, node.value)
        node.value = call
        return node

    def visit_ExceptHandler(self, node):
        node = super().visit_ExceptHandler(node)
        if node.type is None:  # bare 'except:' catches Exception only
            node.type = ast.Name("_maestro_exception_", ast.Load())
            copy_locations(node.type, node)
        # MemoryError is how the sandbox process's memory limit shows: no script may swallow it
        if node.name is None:
            node.name = "_maestro_caught_"
        rethrow = ast.Expr(ast.Call(func=ast.Name("_maestro_rethrow_", ast.Load()),
                                    args=[ast.Name(node.name, ast.Load())], keywords=[]))
        copy_locations(rethrow, node)
        node.body.insert(0, rethrow)
        return node
