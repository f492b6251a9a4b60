// A small service for FlowTrace's end-to-end tests that serves the same shop with echo (v4) on one
// port and fiber (v2) on another, with no tracing code of its own: built with flowtrace-go, echo.New()
// and fiber.New(…) get their OpenTelemetry middlewares and its functions get method spans under
// each framework's server span.
//
//	flowtrace-go build -o /tmp/frameworks-service ./examples/frameworks-service
//	ECHO_PORT=8083 FIBER_PORT=8084 /tmp/frameworks-service   (or -echo-port 8083 -fiber-port 8084)
package main

import (
	"flag"
	"log"
	"net"
	"net/http"
	"os"

	"github.com/gofiber/fiber/v2"
	"github.com/labstack/echo/v4"
)

func main() {
	echoPort := flag.String("echo-port", envOr("ECHO_PORT", "8083"), "port of the echo server (env ECHO_PORT)")
	fiberPort := flag.String("fiber-port", envOr("FIBER_PORT", "8084"), "port of the fiber server (env FIBER_PORT)")
	addr := flag.String("addr", envOr("ADDR", "127.0.0.1"), "address to listen on (env ADDR)")
	flag.Parse()
	shop := &Shop{}

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.GET("/health", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
	e.GET("/quote", shop.EchoQuote)

	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/health", func(c *fiber.Ctx) error { return c.SendString("ok") })
	app.Get("/quote", shop.FiberQuote)

	echoListener, fiberListener := listen(*addr, *echoPort), listen(*addr, *fiberPort)
	log.Printf("frameworks-service listening: echo on %s, fiber on %s", echoListener.Addr(), fiberListener.Addr())
	e.Listener = echoListener
	errs := make(chan error, 2)
	go func() { errs <- e.Start("") }()
	go func() { errs <- app.Listener(fiberListener) }()
	log.Fatal(<-errs)
}

// listen on addr:port; an IPv4 address (0.0.0.0 in a container) gets an IPv4 socket.
func listen(addr, port string) net.Listener {
	network := "tcp"
	if ip := net.ParseIP(addr); ip != nil && ip.To4() != nil {
		network = "tcp4"
	}
	l, err := net.Listen(network, net.JoinHostPort(addr, port))
	if err != nil {
		log.Fatal(err)
	}
	return l
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
