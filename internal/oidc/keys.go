package oidc

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/fakepypi/fakepypi/internal/clock"
)

// RefreshCooldown is how long PyPI waits between two JWKS refreshes of one
// issuer (the 60 s TTL of `/warehouse/oidc/jwks/{issuer}/timeout`).
const RefreshCooldown = 60 * time.Second

// fetchTimeout matches PyPI's `requests.get(..., timeout=5)`.
const fetchTimeout = 5 * time.Second

// KeyCache holds each issuer's keyset the way PyPI keeps it in Redis: no
// expiry, refreshed only when a token names an unknown kid, and at most
// once per RefreshCooldown. A failed refresh keeps the old keys.
type KeyCache struct {
	Clock  clock.Clock
	Client *http.Client

	mu   sync.Mutex
	sets map[string]*keyset // by issuer URL (the token's iss)
}

type keyset struct {
	keys      map[string]json.RawMessage // kid → JWK as served
	parsed    map[string]parsedKey       // kid → the JWK parsed, on first use
	refreshed time.Time
	lastErr   string
}

// parsedKey memoizes jose's parse of one served JWK, so that a mint does
// not re-parse the key (a quarter of the verifier's time otherwise). A
// key that does not parse keeps failing at use, as in PyPI.
type parsedKey struct {
	key any
	err error
}

// NewKeyCache returns an empty cache.
func NewKeyCache(c clock.Clock, client *http.Client) *KeyCache {
	if client == nil {
		client = &http.Client{Timeout: fetchTimeout}
	}
	return &KeyCache{Clock: c, Client: client, sets: map[string]*keyset{}}
}

// Key returns the public key kid of iss, refreshing once if it is unknown.
func (k *KeyCache) Key(iss Issuer, kid string) (any, error) {
	k.mu.Lock()
	ks := k.sets[iss.URL]
	if ks == nil {
		ks = &keyset{keys: map[string]json.RawMessage{}}
		k.sets[iss.URL] = ks
	}
	raw, ok := ks.keys[kid]
	if !ok {
		// Held under the lock: concurrent mints of an unknown kid cause one
		// fetch, like PyPI's cooldown key does across workers.
		now := k.Clock.Now()
		since := now.Sub(ks.refreshed)
		if !ks.refreshed.IsZero() && since >= 0 && since < RefreshCooldown {
			// cooldown: keep the cached keyset
		} else if err := k.refresh(iss, ks); err != nil {
			ks.lastErr = err.Error()
		}
		raw, ok = ks.keys[kid]
	}
	lastErr := ks.lastErr
	var pk parsedKey
	var parsed bool
	if ok {
		pk, parsed = ks.parsed[kid]
		if !parsed {
			var jwk jose.JSONWebKey
			pk.err = jwk.UnmarshalJSON(raw)
			pk.key = jwk.Key
			if ks.parsed == nil {
				ks.parsed = map[string]parsedKey{}
			}
			ks.parsed[kid] = pk
		}
	}
	k.mu.Unlock()
	if !ok {
		why := fmt.Sprintf("key ID %s not found for issuer %s", strconv.Quote(kid), iss.URL)
		if lastErr != "" {
			why += " (last key refresh: " + lastErr + ")"
		}
		return nil, &Error{Reason: why}
	}
	if pk.err != nil {
		return nil, fail("key %s of %s cannot be used: %v", strconv.Quote(kid), iss.URL, pk.err)
	}
	return pk.key, nil
}

// refresh fetches discovery then JWKS. The cooldown starts only when new
// keys were stored, as in PyPI's _store_keyset.
func (k *KeyCache) refresh(iss Issuer, ks *keyset) error {
	confURL := iss.DiscoveryBase() + "/.well-known/openid-configuration"
	var conf struct {
		JWKSURI *string `json:"jwks_uri"`
	}
	if err := k.getJSON(confURL, &conf); err != nil {
		return err
	}
	if conf.JWKSURI == nil {
		return fmt.Errorf("%s has no jwks_uri", confURL)
	}
	var jwks struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := k.getJSON(*conf.JWKSURI, &jwks); err != nil {
		return err
	}
	if len(jwks.Keys) == 0 {
		return fmt.Errorf("%s returned no keys", *conf.JWKSURI)
	}
	keys := map[string]json.RawMessage{}
	for _, raw := range jwks.Keys {
		var head struct {
			Kid string `json:"kid"`
		}
		if err := json.Unmarshal(raw, &head); err != nil {
			// PyPI's `{key["kid"]: key ...}` raises on a key without kid;
			// the whole refresh fails and the old keys stay.
			return fmt.Errorf("%s: a key has no kid", *conf.JWKSURI)
		}
		keys[head.Kid] = raw
	}
	ks.keys, ks.parsed = keys, nil
	ks.refreshed = k.Clock.Now()
	ks.lastErr = ""
	return nil
}

func (k *KeyCache) getJSON(url string, v any) error {
	resp, err := k.Client.Get(url)
	if err != nil {
		return fmt.Errorf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("GET %s: %v", url, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: invalid JSON: %v", url, err)
	}
	return nil
}

// Forget drops every cached keyset (for /_fake/ and tests).
func (k *KeyCache) Forget() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.sets = map[string]*keyset{}
}

// ForgetIssuer drops the keyset (and refresh cooldown) of one issuer,
// for when the harness points it at another discovery URL.
func (k *KeyCache) ForgetIssuer(url string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.sets, url)
}
