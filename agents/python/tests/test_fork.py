"""After a real fork the child exports through an exporter of its own, never the parent's (whose
gRPC channel or keep-alive HTTP connection it would share with the parent)."""
import os

import pytest
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from flowtrace_agent.pipeline import LazyExporter


class Recording(SpanExporter):
    def __init__(self, made_in):
        self.made_in = made_in

    def export(self, spans):
        return SpanExportResult.SUCCESS


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_child_makes_its_own_exporter():
    lazy = LazyExporter(lambda: Recording(os.getpid()))
    lazy.export([])
    parent_exporter = lazy._exporter
    assert parent_exporter is not None and parent_exporter.made_in == os.getpid()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report which exporter it uses, then leave without running pytest's atexit
        code = 1
        try:
            lazy.export([])
            mine = lazy._exporter
            ok = mine is not parent_exporter and mine.made_in == os.getpid() and lazy.forks == 1
            os.write(write, b"ok" if ok else b"shared")
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    answer = os.read(read, 16)
    os.close(read)
    _, status = os.waitpid(pid, 0)
    assert answer == b"ok"
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    # The parent keeps its own.
    assert lazy._exporter is parent_exporter and lazy.forks == 0
