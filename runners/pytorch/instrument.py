"""Intermediate values of generated code: re-compile its `forward` with a capture call after every
assignment, so each variable named in IR_VALUES is recorded under its IR value name."""

import ast

CAPTURE = "__mmbroker_capture__"


class _Capture(ast.NodeTransformer):
    def __init__(self, names):
        self.names = names

    def visit_FunctionDef(self, fn):
        if fn.name != "forward":
            return fn
        body = []
        args = [a.arg for a in fn.args.args[1:]]
        for a in args:
            if a in self.names:
                body.append(self._call(a))
        for stmt in fn.body:
            body.append(stmt)
            if isinstance(stmt, ast.Assign):
                for target in stmt.targets:
                    elts = target.elts if isinstance(target, ast.Tuple) else [target]
                    for e in elts:
                        if isinstance(e, ast.Name) and e.id in self.names:
                            body.append(self._call(e.id))
        fn.body = body
        return fn

    def _call(self, name):
        return ast.Expr(
            ast.Call(
                func=ast.Name(CAPTURE, ast.Load()), args=[ast.Constant(name), ast.Name(name, ast.Load())], keywords=[]
            )
        )


def instrumented_namespace(source, path, ir_values, sink):
    """Execute `source` with forward() instrumented; captured values go to sink[ir name]."""
    tree = ast.parse(source, path)
    tree = ast.fix_missing_locations(_Capture(set(ir_values)).visit(tree))

    def capture(var, value):
        sink[ir_values[var]] = value

    namespace = {"__name__": "mmbroker_instrumented", "__file__": path, CAPTURE: capture}
    exec(compile(tree, path, "exec"), namespace)
    return namespace
