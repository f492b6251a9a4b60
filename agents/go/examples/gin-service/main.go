// A small gin service for FlowTrace's end-to-end tests, with no tracing code of its own: built with
// flowtrace-go, its functions get method spans under the gin server span.
//
//	flowtrace-go build -o /tmp/gin-service ./examples/gin-service
//	PORT=8081 DOWNSTREAM_URL=http://127.0.0.1:8082/price /tmp/gin-service   (or -port 8081)
package main

import (
	"flag"
	"log"
	"net"
	"net/http"
	"os"

	"github.com/gin-gonic/gin"
)

func main() {
	port := flag.String("port", envOr("PORT", "8081"), "port to listen on (env PORT)")
	addr := flag.String("addr", envOr("ADDR", "127.0.0.1"), "address to listen on (env ADDR)")
	flag.Parse()
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	checkout := &Checkout{downstream: os.Getenv("DOWNSTREAM_URL")}
	r.GET("/health", func(c *gin.Context) { c.String(http.StatusOK, "ok") })
	r.POST("/checkout", checkout.Handle)
	r.GET("/checkout", checkout.Handle)
	r.GET("/panic", func(c *gin.Context) { Explode() })
	// Listen first, so that the line names the port taken (port 0: any free one).
	// An IPv4 address (0.0.0.0 in a container) gets an IPv4 socket: Go's "tcp" would make 0.0.0.0 a
	// dual-stack IPv6 socket listening on `::`.
	network := "tcp"
	if ip := net.ParseIP(*addr); ip != nil && ip.To4() != nil {
		network = "tcp4"
	}
	listener, err := net.Listen(network, net.JoinHostPort(*addr, *port))
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("gin-service listening on %s", listener.Addr())
	if err := r.RunListener(listener); err != nil {
		log.Fatal(err)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// Explode panics; the method span records it and the panic goes on (gin's recovery answers 500
// only when the engine has it; gin.New() has none, so net/http logs it).
func Explode() { panic("exploded") }
