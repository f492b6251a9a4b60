"""Behaviour preservation and the spans of every shape of function (tests/fixtures/shopfix/shapes.py,
loaded through the agent's import hook)."""
import asyncio
import inspect
import pickle
import threading
import traceback

import pytest

from conftest import MAX_VALUE_BYTES, named
from flowtrace_agent.redact import MASK

from shopfix import shapes  # imported after the agent started (conftest): traced


def test_module_is_instrumented_and_left_clean():
    assert hasattr(shapes.add, "__flowtrace_site__")
    assert "__flowtrace_wrap__" not in vars(shapes)
    # Accessors, dunders and functions defined inside functions are left alone.
    assert not hasattr(shapes.Cart.__init__, "__flowtrace_site__")
    assert not hasattr(shapes.Cart.__dict__["size"].fget, "__flowtrace_site__")


def test_function_span_and_attributes(spans):
    assert shapes.add(1, b=5) == 6
    (span,) = named(spans(), "shapes.add")
    a = span.attributes
    assert a["code.function.name"] == "shopfix.shapes.add"
    assert a["code.namespace"] == "shopfix.shapes"
    assert a["code.file.path"] == shapes.__file__
    assert a["code.line.number"] == inspect.getsourcelines(shapes.add)[1]
    assert a["flowtrace.args.0"] == "1"
    assert a["flowtrace.args.1"] == "5"
    assert a["flowtrace.return"] == "6"
    assert a["flowtrace.correlation_id"]
    assert span.kind.name == "INTERNAL"
    assert span.instrumentation_scope.name == "flowtrace-agent"


def test_metadata_signature_and_inspect_unchanged():
    assert shapes.add.__name__ == "add"
    assert shapes.add.__qualname__ == "add"
    assert shapes.add.__doc__ == "Adds."
    assert str(inspect.signature(shapes.add)) == "(a: int, b: int = 2) -> int"
    assert inspect.iscoroutinefunction(shapes.fetch)
    assert inspect.isgeneratorfunction(shapes.count)
    assert inspect.isasyncgenfunction(shapes.ticks)
    assert not inspect.iscoroutinefunction(shapes.add)
    assert "return a + b" in inspect.getsource(shapes.add)
    assert str(inspect.signature(shapes.Cart.add)) == "(self, sku, qty=1)"
    assert isinstance(shapes.Cart.__dict__["price"], staticmethod)
    assert isinstance(shapes.Cart.__dict__["empty"], classmethod)


def test_secret_parameter_masked_and_values_capped(spans):
    shapes.login("ada", "hunter2", note="x" * 500)
    (span,) = named(spans(), "shapes.login")
    assert span.attributes["flowtrace.args.0"] == '"ada"'
    assert span.attributes["flowtrace.args.1"] == MASK
    note = span.attributes["flowtrace.args.2"]
    assert note.startswith('"xxx') and note.endswith("…")
    assert len(note.encode()) <= MAX_VALUE_BYTES
    assert "hunter2" not in str([s.attributes for s in spans()])


def test_methods_static_class_nested_and_inheritance(spans):
    cart = shapes.Cart.empty("ada")
    assert isinstance(cart, shapes.Cart)
    assert cart.add("apple", 2) == 1
    assert shapes.Cart.price("pear") == 4
    assert cart.price("fig") == 3
    assert shapes.Cart.Line().total(2) == 6
    special = shapes.SpecialCart("bob")
    assert special.add("kiwi") == 101
    assert isinstance(special, shapes.Cart)
    got = spans()
    add = named(got, "Cart.add")
    assert add[0].attributes["code.namespace"] == "shopfix.shapes.Cart"
    assert add[0].attributes["flowtrace.args.0"] == '"apple"'  # self is not captured
    assert "flowtrace.args.0" in named(got, "Cart.empty")[0].attributes
    assert named(got, "Cart.empty")[0].attributes["flowtrace.args.0"] == '"ada"'
    assert len(named(got, "Cart.price")) == 2
    named(got, "Cart.Line.total")
    special_add = named(got, "SpecialCart.add")[0]
    # super().add nests under the subclass's span.
    assert any(s.parent and s.parent.span_id == special_add.context.span_id for s in named(got, "Cart.add"))


def test_render_never_runs_repr(spans):
    cart = shapes.Cart("ada")
    cart.add("x")
    span = named(spans(), "Cart.add")[0]
    assert span.attributes["flowtrace.return"] == "1"
    assert shapes.make_order(7).describe() == "7:ada"
    got = spans()
    assert named(got, "shapes.make_order")[0].attributes["flowtrace.return"] == 'Order {"id": 7, "customer": "ada", "password": "[REDACTED]"}'


def test_exception_recorded_and_reraised_unchanged(spans):
    with pytest.raises(ValueError) as info:
        shapes.fail("card 4111 1111 1111 1111")
    assert str(info.value) == "card 4111 1111 1111 1111"
    frames = traceback.extract_tb(info.value.__traceback__)
    assert frames[-1].name == "fail" and frames[-1].filename == shapes.__file__
    (span,) = named(spans(), "shapes.fail")
    assert span.status.status_code.name == "ERROR"
    assert span.status.description == f"card {MASK}"
    (event,) = span.events
    assert event.name == "exception"
    assert event.attributes["exception.type"] == "ValueError"
    assert event.attributes["exception.message"] == f"card {MASK}"
    assert event.attributes["exception.stacktrace"].startswith(f"ValueError: card {MASK}\n")


def test_exception_cause_chain_masked(spans):
    with pytest.raises(RuntimeError) as info:
        shapes.fail_chained()
    assert isinstance(info.value.__cause__, ValueError)
    span = named(spans(), "shapes.fail_chained")[0]
    stack = span.events[0].attributes["exception.stacktrace"]
    assert "Caused by: ValueError: inner password=[REDACTED]" in stack
    assert "hunter2" not in stack


def test_recursion(spans):
    assert shapes.factorial(30) == 265252859812191058636308480000000
    got = named(spans(), "shapes.factorial")
    assert len(got) == 30
    by_id = {s.context.span_id: s for s in got}

    def depth(span):
        d = 0
        while span.parent is not None and span.parent.span_id in by_id:
            span = by_id[span.parent.span_id]
            d += 1
        return d

    assert max(depth(s) for s in got) == 29


def test_decorators_see_the_traced_function(spans):
    assert shapes.REGISTRY["handler"] is shapes.handler
    assert shapes.REGISTRY["handler"](2) == 20
    assert shapes.decorated(1) == ("logged", 2)
    assert shapes.decorated.__wrapped__.__name__ == "decorated"
    got = spans()
    named(got, "shapes.handler")
    named(got, "shapes.decorated")
    with shapes.opened("f") as v:
        assert v == "open:f"


def test_pickling_by_reference():
    assert pickle.loads(pickle.dumps(shapes.add)) is shapes.add
    assert pickle.loads(pickle.dumps(shapes.Cart.price)) is shapes.Cart.price
    order = pickle.loads(pickle.dumps(shapes.Order(1, "ada")))
    assert order == shapes.Order(1, "ada")


def test_generator_span_covers_iteration_and_send(spans):
    gen = shapes.count(3)
    assert next(gen) == 0
    assert gen.send(5) == 1
    assert next(gen) == 2
    with pytest.raises(StopIteration) as stop:
        gen.send(7)
    assert stop.value.value == 12
    (span,) = named(spans(), "shapes.count")
    assert span.attributes["flowtrace.return"] == "12"
    # Closed early: the span ends too.
    gen = shapes.count(10)
    next(gen)
    gen.close()
    assert len(named(spans(), "shapes.count")) == 2
    assert list(shapes.count(3)) == [0, 1, 2]


def test_generator_span_is_not_current_while_suspended(spans):
    gen = shapes.count(2)
    next(gen)
    shapes.add(1)  # called while the generator is suspended: not its child
    list(gen)
    got = spans()
    (add,) = named(got, "shapes.add")
    (count,) = named(got, "shapes.count")
    assert add.parent is None or add.parent.span_id != count.context.span_id


def test_coroutine_span_covers_the_await(spans):
    cart = shapes.Cart("ada")

    async def main():
        cart.add("a", 3)
        got = await asyncio.gather(shapes.fetch(1), shapes.fetch(2))
        total = await cart.checkout("4111111111111111")
        return got, total

    assert asyncio.run(main()) == ([2, 4], 6)
    got = spans()
    fetches = named(got, "shapes.fetch")
    assert sorted(s.attributes["flowtrace.return"] for s in fetches) == ["2", "4"]
    for s in fetches:
        assert (s.end_time - s.start_time) >= 1_000_000  # it awaited asyncio.sleep(0.001)
    checkout = named(got, "Cart.checkout")[0]
    assert checkout.attributes["flowtrace.args.0"] == MASK


def test_coroutine_exception(spans):
    with pytest.raises(KeyError):
        asyncio.run(shapes.fetch_fail())
    (span,) = named(spans(), "shapes.fetch_fail")
    assert span.events[0].attributes["exception.type"] == "KeyError"


def test_async_generator(spans):
    async def main():
        return [i async for i in shapes.ticks(3)]

    assert asyncio.run(main()) == [0, 1, 2]
    (span,) = named(spans(), "shapes.ticks")
    assert span.end_time is not None


def test_contextvars_and_tasks_unchanged():
    async def main():
        shapes.request_var.set("r1")
        a = await shapes.read_var()
        b = await asyncio.create_task(shapes.read_var())
        return a, b

    assert asyncio.run(main()) == ("r1", "r1")


def test_threads(spans):
    results = []

    def work(i):
        results.append(shapes.add(i, 1))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == list(range(1, 9))
    assert len(named(spans(), "shapes.add")) == 8
    assert shapes.in_thread(4) == 5


def test_nesting(spans):
    assert shapes.in_thread(1) == 2
    got = spans()
    outer = named(got, "shapes.in_thread")[0]
    inner = named(got, "shapes.add")[0]
    # A new thread starts from an empty context (Python's rule, unchanged by the agent).
    assert inner.context.trace_id != outer.context.trace_id or inner.parent is None or inner.parent.span_id != outer.context.span_id
    assert shapes.Cart("a").add("b") == 1
