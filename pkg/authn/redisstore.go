package authn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/redis/go-redis/v9"
)

// redisStorage is a jwkset.Storage kept as one JSON document (public keys
// only) under one Redis key, so a whole set is replaced atomically and every
// replica reads the same snapshot. The Verifier uses its raw form to share
// what one replica fetched; the Storage methods make it usable wherever
// jwkset or keyfunc take a Storage.
type redisStorage struct {
	client *redis.Client
	key    string
	ttl    time.Duration // so a set no replica refreshes any more goes away
}

var _ jwkset.Storage = (*redisStorage)(nil)

// raw returns the stored JWKS JSON, or nil when there is none.
func (s *redisStorage) raw(ctx context.Context) ([]byte, error) {
	b, err := s.client.Get(ctx, s.key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read shared JWKS: %w", err)
	}
	return b, nil
}

func (s *redisStorage) putRaw(ctx context.Context, raw []byte) error {
	if err := s.client.Set(ctx, s.key, raw, s.ttl).Err(); err != nil {
		return fmt.Errorf("write shared JWKS: %w", err)
	}
	return nil
}

func (s *redisStorage) KeyReadAll(ctx context.Context) ([]jwkset.JWK, error) {
	raw, err := s.raw(ctx)
	if err != nil || raw == nil {
		return nil, err
	}
	return decodeSet(raw)
}

func (s *redisStorage) KeyRead(ctx context.Context, keyID string) (jwkset.JWK, error) {
	keys, err := s.KeyReadAll(ctx)
	if err != nil {
		return jwkset.JWK{}, err
	}
	for _, k := range keys {
		if k.Marshal().KID == keyID {
			return k, nil
		}
	}
	return jwkset.JWK{}, fmt.Errorf("%w: kid %.64q", jwkset.ErrKeyNotFound, keyID)
}

func (s *redisStorage) KeyReplaceAll(ctx context.Context, given []jwkset.JWK) error {
	raw, err := encodeSet(ctx, given)
	if err != nil {
		return err
	}
	return s.putRaw(ctx, raw)
}

func (s *redisStorage) KeyWrite(ctx context.Context, jwk jwkset.JWK) error {
	return s.update(ctx, func(keys []jwkset.JWK) []jwkset.JWK {
		kid := jwk.Marshal().KID
		for i, k := range keys {
			if k.Marshal().KID == kid {
				keys[i] = jwk
				return keys
			}
		}
		return append(keys, jwk)
	})
}

func (s *redisStorage) KeyDelete(ctx context.Context, keyID string) (ok bool, err error) {
	err = s.update(ctx, func(keys []jwkset.JWK) []jwkset.JWK {
		ok = false
		out := keys[:0]
		for _, k := range keys {
			if k.Marshal().KID == keyID {
				ok = true
				continue
			}
			out = append(out, k)
		}
		return out
	})
	return ok, err
}

// update is an optimistic read-modify-write of the whole set (WATCH/MULTI),
// retried when another writer got in between.
func (s *redisStorage) update(ctx context.Context, change func([]jwkset.JWK) []jwkset.JWK) error {
	for range 10 {
		err := s.client.Watch(ctx, func(tx *redis.Tx) error {
			var keys []jwkset.JWK
			b, err := tx.Get(ctx, s.key).Bytes()
			switch {
			case errors.Is(err, redis.Nil):
			case err != nil:
				return fmt.Errorf("read shared JWKS: %w", err)
			default:
				if keys, err = decodeSet(b); err != nil {
					return err
				}
			}
			raw, err := encodeSet(ctx, change(keys))
			if err != nil {
				return err
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, s.key, raw, s.ttl)
				return nil
			})
			return err
		}, s.key)
		if !errors.Is(err, redis.TxFailedErr) {
			return err
		}
	}
	return fmt.Errorf("write shared JWKS: %w", redis.TxFailedErr)
}

func (s *redisStorage) memory(ctx context.Context) (*jwkset.MemoryJWKSet, error) {
	keys, err := s.KeyReadAll(ctx)
	if err != nil {
		return nil, err
	}
	m := jwkset.NewMemoryStorage()
	return m, m.KeyReplaceAll(ctx, keys)
}

func (s *redisStorage) JSON(ctx context.Context) (json.RawMessage, error) {
	m, err := s.memory(ctx)
	if err != nil {
		return nil, err
	}
	return m.JSON(ctx)
}

func (s *redisStorage) JSONPublic(ctx context.Context) (json.RawMessage, error) {
	m, err := s.memory(ctx)
	if err != nil {
		return nil, err
	}
	return m.JSONPublic(ctx)
}

// JSONPrivate returns the public set: private key material is never stored.
func (s *redisStorage) JSONPrivate(ctx context.Context) (json.RawMessage, error) {
	return s.JSONPublic(ctx)
}

func (s *redisStorage) JSONWithOptions(ctx context.Context, mo jwkset.JWKMarshalOptions, vo jwkset.JWKValidateOptions) (json.RawMessage, error) {
	m, err := s.memory(ctx)
	if err != nil {
		return nil, err
	}
	return m.JSONWithOptions(ctx, mo, vo)
}

func (s *redisStorage) Marshal(ctx context.Context) (jwkset.JWKSMarshal, error) {
	m, err := s.memory(ctx)
	if err != nil {
		return jwkset.JWKSMarshal{}, err
	}
	return m.Marshal(ctx)
}

func (s *redisStorage) MarshalWithOptions(ctx context.Context, mo jwkset.JWKMarshalOptions, vo jwkset.JWKValidateOptions) (jwkset.JWKSMarshal, error) {
	m, err := s.memory(ctx)
	if err != nil {
		return jwkset.JWKSMarshal{}, err
	}
	return m.MarshalWithOptions(ctx, mo, vo)
}

// decodeSet parses a stored set (public keys only).
func decodeSet(raw []byte) ([]jwkset.JWK, error) {
	var doc jwkset.JWKSMarshal
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("decode shared JWKS: %w", err)
	}
	keys := make([]jwkset.JWK, 0, len(doc.Keys))
	for _, m := range doc.Keys {
		k, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
		if err != nil {
			return nil, fmt.Errorf("decode shared JWKS key %.64q: %w", m.KID, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// encodeSet renders keys as a public JWKS document.
func encodeSet(ctx context.Context, keys []jwkset.JWK) ([]byte, error) {
	m := jwkset.NewMemoryStorage()
	if err := m.KeyReplaceAll(ctx, keys); err != nil {
		return nil, err
	}
	raw, err := m.JSONPublic(ctx)
	if err != nil {
		return nil, fmt.Errorf("encode JWKS: %w", err)
	}
	return raw, nil
}
