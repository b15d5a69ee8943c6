package turn

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // SHA-1 HMAC is what the TURN REST API scheme specifies.
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/pion/turn/v5"
)

// maxUsernameLen bounds the REST username we accept; RFC 8489 caps USERNAME at 513 bytes.
const maxUsernameLen = 513

var (
	errUsernameTooLong = errors.New("username too long")
	errNoSeparator     = errors.New("username has no ':' separator")
	errBadExpiry       = errors.New("username expiry is not a unix time")
)

// Credentials returns TURN REST API credentials (coturn's use-auth-secret):
// username "<expiry-unix>:<user>", password base64(HMAC-SHA1(secret, username)).
func Credentials(secret []byte, user string, expiry time.Time) (username, password string) {
	username = strconv.FormatInt(expiry.Unix(), 10) + ":" + user
	return username, restPassword(secret, username)
}

func restPassword(secret []byte, username string) string {
	mac := hmac.New(sha1.New, secret)
	mac.Write([]byte(username))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// parseRESTUsername splits "<expiry-unix>:<user>" at the first colon; input is untrusted.
func parseRESTUsername(username string) (expiry time.Time, user string, err error) {
	if len(username) > maxUsernameLen {
		return time.Time{}, "", errUsernameTooLong
	}
	ts, user, ok := strings.Cut(username, ":")
	if !ok {
		return time.Time{}, "", errNoSeparator
	}
	// Digits only: ParseInt would also take a sign, which no issuer produces.
	if ts == "" || len(ts) > 18 || strings.TrimLeft(ts, "0123456789") != "" {
		return time.Time{}, "", errBadExpiry
	}
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return time.Time{}, "", errBadExpiry
	}
	return time.Unix(n, 0), user, nil
}

var (
	errRealm     = errors.New("realm mismatch")
	errExpired   = errors.New("credentials expired")
	errFarExpiry = errors.New("credentials expire further ahead than the TTL allows")
)

// expirySlack is how far past now+TTL an expiry may lie: clocks of other issuers sharing the
// secret drift, and a TTL lowered at a restart must not void the credentials already handed out.
const expirySlack = time.Hour

// checkCredentials validates a REST username and returns the quota key and the
// long-term key pion checks MESSAGE-INTEGRITY with. Input is untrusted. An expiry more than
// ttl+expirySlack ahead is refused: such a credential, once leaked, would work for years.
func checkCredentials(secret []byte, realm, username, reqRealm string, ttl time.Duration, now time.Time) (userID string, key []byte, err error) {
	expiry, user, err := parseRESTUsername(username)
	if err != nil {
		return "", nil, err
	}
	if reqRealm != realm {
		return "", nil, errRealm
	}
	if !now.Before(expiry) {
		return "", nil, errExpired
	}
	if expiry.After(now.Add(ttl + expirySlack)) {
		return "", nil, errFarExpiry
	}
	if user == "" {
		user = username // keep the quota key non-empty; pion's even-port probe uses ""
	}
	return user, turn.GenerateAuthKey(username, realm, restPassword(secret, username)), nil
}
