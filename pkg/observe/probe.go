package observe

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Probe asks the service listening on port on this host whether it is
// ready. It is the container healthcheck (`<service> healthcheck`) for
// images that have no shell and no curl.
func Probe(ctx context.Context, port int) error {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout+time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+strconv.Itoa(port)+ReadyPath, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("not ready: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("not ready: %s answered %d", ReadyPath, resp.StatusCode)
	}
	return nil
}
