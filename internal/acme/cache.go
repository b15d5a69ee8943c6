package acme

import (
	"context"
	"log/slog"
	"slices"
	"strings"

	"golang.org/x/crypto/acme/autocert"
)

// loggingCache is the certificate cache, saying when a certificate is stored: autocert has no
// other hook to tell an issuance or renewal happened.
type loggingCache struct {
	autocert.Cache
	domains []string
	log     *slog.Logger
}

// Put stores data and logs certificate writes (keys "name" or "name+rsa"; not tokens or the account key).
func (c loggingCache) Put(ctx context.Context, key string, data []byte) error {
	err := c.Cache.Put(ctx, key, data)
	if name := strings.TrimSuffix(key, "+rsa"); slices.Contains(c.domains, name) {
		if err != nil {
			c.log.Error("acme certificate not saved", "name", name, "err", err)
		} else {
			c.log.Info("acme certificate obtained", "name", name)
		}
	}
	return err
}
