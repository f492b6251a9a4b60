package main

import (
	"net/http"
	"sync"

	"github.com/gofiber/fiber/v2"
	"github.com/labstack/echo/v4"
)

// Shop quotes a cart: each framework's handler calls Quote (no context), which prices the lines
// in goroutines and calls applyTax (no context, two calls below the handler).
type Shop struct{}

// EchoQuote is the echo handler (echo.Context is not a context.Context).
func (s *Shop) EchoQuote(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]int{"total": s.Quote([]int{3, 4})})
}

// FiberQuote is the fiber handler.
func (s *Shop) FiberQuote(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"total": s.Quote([]int{3, 4})})
}

// Quote has no context.Context: its span finds the server span through the goroutine.
func (s *Shop) Quote(items []int) int {
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
	return applyTax(sum)
}

func linePrice(quantity int) int { return quantity * 10 }

func applyTax(sum int) int { return sum + sum/10 }
