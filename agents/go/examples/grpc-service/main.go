// A small gRPC service (the standard health service, implemented here) with no tracing code of its
// own: built with flowtrace-go, grpc.NewServer gets the otelgrpc server handler and Check's method
// span nests under the server span, lookup's (no context) under Check's.
//
//	flowtrace-go build -o /tmp/grpc-service ./examples/grpc-service && /tmp/grpc-service -port 9090
package main

import (
	"context"
	"flag"
	"log"
	"net"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

type health struct {
	healthpb.UnimplementedHealthServer
}

// Check answers SERVING for every service but "down".
func (health) Check(ctx context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	return &healthpb.HealthCheckResponse{Status: lookup(req.GetService())}, nil
}

func lookup(service string) healthpb.HealthCheckResponse_ServingStatus {
	if service == "down" {
		return healthpb.HealthCheckResponse_NOT_SERVING
	}
	return healthpb.HealthCheckResponse_SERVING
}

func main() {
	port := flag.String("port", "9090", "port to listen on")
	flag.Parse()
	lis, err := net.Listen("tcp", "127.0.0.1:"+*port)
	if err != nil {
		log.Fatal(err)
	}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health{})
	log.Printf("grpc-service listening on %s", lis.Addr())
	if err := srv.Serve(lis); err != nil {
		log.Fatal(err)
	}
}
