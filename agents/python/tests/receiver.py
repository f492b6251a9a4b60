"""A minimal OTLP/HTTP receiver for tests: collects the spans posted to /v1/traces and the log
records posted to /v1/logs (each decoded as the OTLP protobuf message of its path)."""
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest, ExportLogsServiceResponse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest, ExportTraceServiceResponse


class Receiver:
    def __init__(self):
        self.spans = []  # (service name, span proto)
        self.logs = []  # (service name, log record proto)
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                if self.path == "/v1/logs":
                    logs = ExportLogsServiceRequest()
                    logs.ParseFromString(body)
                    receiver.keep_logs(logs)
                    out = ExportLogsServiceResponse().SerializeToString()
                else:
                    request = ExportTraceServiceRequest()
                    request.ParseFromString(body)
                    receiver.keep(request)
                    out = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def keep(self, request):
        """Every span of an ExportTraceServiceRequest, with its service name."""
        with self.lock:
            for rs in request.resource_spans:
                service = next((a.value.string_value for a in rs.resource.attributes if a.key == "service.name"), "")
                for ss in rs.scope_spans:
                    for span in ss.spans:
                        self.spans.append((service, span))

    def keep_logs(self, request):
        """Every log record of an ExportLogsServiceRequest, with its service name."""
        with self.lock:
            for rl in request.resource_logs:
                service = next((a.value.string_value for a in rl.resource.attributes if a.key == "service.name"), "")
                for sl in rl.scope_logs:
                    for record in sl.log_records:
                        self.logs.append((service, record))

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def attribute(span, key):
    for a in span.attributes:
        if a.key == key:
            v = a.value
            return v.string_value if v.HasField("string_value") else v.int_value
    return None


class GrpcReceiver(Receiver):
    """The same, over OTLP/gRPC."""

    def __init__(self):  # noqa: super().__init__ is the HTTP one
        from concurrent import futures

        import grpc
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

        self.spans = []
        self.lock = threading.Lock()
        receiver = self

        class Service(trace_service_pb2_grpc.TraceServiceServicer):
            def Export(self, request, context):
                receiver.keep(request)
                return ExportTraceServiceResponse()

        self.grpc_server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Service(), self.grpc_server)
        port = self.grpc_server.add_insecure_port("127.0.0.1:0")
        self.grpc_server.start()
        self.endpoint = f"http://127.0.0.1:{port}"

    def close(self):
        self.grpc_server.stop(0)
