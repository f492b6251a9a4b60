// Package ftgrpc adds the official OpenTelemetry gRPC instrumentation (otelgrpc stats handlers) to
// gRPC servers and clients. flowtrace-go rewrites grpc.NewServer(…) to
// grpc.NewServer(ftgrpc.ServerOptions(…)...) and grpc.NewClient / grpc.Dial / grpc.DialContext the
// same way with ClientOptions; by hand it is the same one line. gRPC handlers receive a
// context.Context, so their method spans nest under the server span.
package ftgrpc

import (
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"

	"github.com/flowtrace/flowtrace/agents/go/flowtrace"
)

// ServerOptions is opts with the otelgrpc server stats handler added.
func ServerOptions(opts ...grpc.ServerOption) []grpc.ServerOption {
	_ = flowtrace.Start()
	return append(opts, grpc.StatsHandler(otelgrpc.NewServerHandler()))
}

// ClientOptions is opts with the otelgrpc client stats handler added.
func ClientOptions(opts ...grpc.DialOption) []grpc.DialOption {
	_ = flowtrace.Start()
	return append(opts, grpc.WithStatsHandler(otelgrpc.NewClientHandler()))
}
