package main

import (
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"sync"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// zlog is a zap logger writing JSON to stderr; flowtrace-go wraps its core (log correlation).
var zlog = zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.Lock(os.Stderr), zap.InfoLevel))

// Checkout prices a cart: the handler calls Total (no context), which calls applyDiscount (no
// context) and prices each line in goroutines; the downstream call carries the correlation ID.
type Checkout struct {
	downstream string
}

// Handle is the gin handler.
func (s *Checkout) Handle(c *gin.Context) {
	items := []int{3, 4}
	total, err := s.Total(items, c.GetHeader("x-card-number"))
	if err != nil {
		c.String(http.StatusBadRequest, err.Error())
		return
	}
	// Three loggers, no tracing code: the agent adds the trace and correlation IDs.
	slog.Info("checkout priced", "total", total)
	zlog.Info("checkout priced", zap.Int("total", total))
	log.Printf("checkout priced: %d", total) // plain: only with FLOWTRACE_LOG_CORRELATION=all
	price, err := s.Downstream()
	if err != nil {
		c.String(http.StatusBadGateway, err.Error())
		return
	}
	c.JSON(http.StatusOK, gin.H{"total": total, "downstream": price})
}

// Total has no context.Context: its span finds the server span through the goroutine.
func (s *Checkout) Total(items []int, password string) (int, error) {
	if len(items) == 0 {
		return 0, errors.New("empty cart")
	}
	var wg sync.WaitGroup
	prices := make([]int, len(items))
	for i, it := range items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			prices[i] = linePrice(it)
		}()
	}
	wg.Wait()
	sum := 0
	for _, p := range prices {
		sum += p
	}
	return applyDiscount(sum), nil
}

func linePrice(quantity int) int { return quantity * 10 }

func applyDiscount(sum int) int {
	if sum > 50 {
		return sum - 5
	}
	return sum
}

// Downstream calls DOWNSTREAM_URL, if set, with http.Get (no context passed): the client span
// nests under this method span and the request carries traceparent, baggage and x-request-id.
func (s *Checkout) Downstream() (string, error) {
	if s.downstream == "" {
		return "", nil
	}
	resp, err := http.Get(s.downstream)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode >= 400 {
		return "", fmt.Errorf("downstream answered %s", strconv.Itoa(resp.StatusCode))
	}
	return string(body), nil
}
