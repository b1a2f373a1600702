// Package sso is single sign-on with an OpenID Connect provider, such as
// ProConnect (the French state's sign-in for its agents and its partners'
// social workers): the authorization code flow with PKCE, state and nonce,
// and the ID token verified (signature, issuer, audience, expiry) by
// coreos/go-oidc. It says who the provider vouches for — a verified email
// — and nothing else: which account that is, the caller decides.
package sso

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Config is a provider and Tremplin's client there.
type Config struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	// Name is the provider's name on the login page (ProConnect).
	Name string
	// Client reaches the provider (timeouts); nil: one with 10 s.
	Client *http.Client
}

// Provider is a configured provider, discovered on first use (a provider
// unreachable when Tremplin starts does not stop it from serving).
type Provider struct {
	cfg    Config
	mu     sync.Mutex
	oidc   *oidc.Provider
	client *http.Client
}

// New returns the provider, or nil when cfg sets none; half a setting is an
// error.
func New(cfg Config) (*Provider, error) {
	switch {
	case cfg.Issuer == "" && cfg.ClientID == "" && cfg.ClientSecret == "":
		return nil, nil
	case cfg.Issuer == "" || cfg.ClientID == "" || cfg.ClientSecret == "":
		return nil, errors.New("single sign-on: set TREMPLIN_OIDC_ISSUER, TREMPLIN_OIDC_CLIENT_ID and TREMPLIN_OIDC_CLIENT_SECRET together, or none")
	}
	if cfg.Name == "" {
		cfg.Name = "ProConnect"
	}
	client := cfg.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	return &Provider{cfg: cfg, client: client}, nil
}

// Name is the provider's name.
func (p *Provider) Name() string { return p.cfg.Name }

// ErrUnreachable is a provider that does not answer.
var ErrUnreachable = errors.New("the sign-in provider does not answer")

// ErrRefused is a sign-in that does not hold: a wrong state or nonce, an
// ID token expired, badly signed or for another client, an email not
// verified.
var ErrRefused = errors.New("the sign-in was refused")

func (p *Provider) discover(ctx context.Context) (*oidc.Provider, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.oidc != nil {
		return p.oidc, nil
	}
	// The provider keeps this context to fetch its keys later: not the
	// request's, which ends; the client's timeout bounds each fetch.
	op, err := oidc.NewProvider(oidc.ClientContext(context.WithoutCancel(ctx), p.client), p.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrUnreachable, p.cfg.Issuer, err)
	}
	p.oidc = op
	return op, nil
}

func (p *Provider) oauth(op *oidc.Provider, redirect string) *oauth2.Config {
	return &oauth2.Config{ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret, Endpoint: op.Endpoint(),
		RedirectURL: redirect, Scopes: []string{oidc.ScopeOpenID, "email"}}
}

// Flow is what the browser keeps between the redirect to the provider and
// its return: the state it must bring back, the nonce the ID token must
// carry, and the PKCE verifier.
type Flow struct {
	State    string
	Nonce    string
	Verifier string
}

// String is the flow as a cookie's value.
func (f Flow) String() string { return f.State + "." + f.Nonce + "." + f.Verifier }

// ParseFlow reads a flow from its cookie.
func ParseFlow(s string) (Flow, bool) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return Flow{}, false
	}
	return Flow{State: parts[0], Nonce: parts[1], Verifier: parts[2]}, true
}

// Start begins a sign-in: the provider's address to send the browser to,
// and the flow to keep until it comes back to redirect.
func (p *Provider) Start(ctx context.Context, redirect string) (string, Flow, error) {
	op, err := p.discover(ctx)
	if err != nil {
		return "", Flow{}, err
	}
	f := Flow{State: oauth2.GenerateVerifier(), Nonce: oauth2.GenerateVerifier(), Verifier: oauth2.GenerateVerifier()}
	to := p.oauth(op, redirect).AuthCodeURL(f.State, oidc.Nonce(f.Nonce), oauth2.S256ChallengeOption(f.Verifier))
	return to, f, nil
}

// Identity is who the provider vouches for.
type Identity struct {
	Subject string
	Email   string
}

// Finish completes a sign-in from the provider's answer (state and code)
// and the flow kept: the code is exchanged with the PKCE verifier, the ID
// token verified, its nonce compared, and the email taken from it (or from
// the user info, as ProConnect gives it).
func (p *Provider) Finish(ctx context.Context, f Flow, redirect, state, code string) (Identity, error) {
	if state == "" || state != f.State {
		return Identity{}, fmt.Errorf("%w: the state does not match this browser's", ErrRefused)
	}
	if code == "" {
		return Identity{}, fmt.Errorf("%w: no code", ErrRefused)
	}
	op, err := p.discover(ctx)
	if err != nil {
		return Identity{}, err
	}
	ctx = oidc.ClientContext(ctx, p.client)
	conf := p.oauth(op, redirect)
	tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return Identity{}, fmt.Errorf("%w: the provider refused the code: %s", ErrRefused, re.ErrorCode)
		}
		return Identity{}, fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return Identity{}, fmt.Errorf("%w: no ID token", ErrRefused)
	}
	idt, err := op.Verifier(&oidc.Config{ClientID: p.cfg.ClientID}).Verify(ctx, raw)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %v", ErrRefused, err)
	}
	if idt.Nonce != f.Nonce {
		return Identity{}, fmt.Errorf("%w: the ID token's nonce is not this sign-in's", ErrRefused)
	}
	var claims struct {
		Email    string `json:"email"`
		Verified *bool  `json:"email_verified"`
	}
	if err := idt.Claims(&claims); err != nil {
		return Identity{}, fmt.Errorf("%w: %v", ErrRefused, err)
	}
	if claims.Email == "" && op.UserInfoEndpoint() != "" {
		// ProConnect gives the email in the user info (a signed JWT),
		// which must be about the same subject.
		info, err := op.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			return Identity{}, fmt.Errorf("%w: user info: %v", ErrUnreachable, err)
		}
		if info.Subject != idt.Subject {
			return Identity{}, fmt.Errorf("%w: the user info is about another subject", ErrRefused)
		}
		if err := info.Claims(&claims); err != nil {
			return Identity{}, fmt.Errorf("%w: %v", ErrRefused, err)
		}
	}
	// A provider that says the email is not verified is not believed; one
	// that says nothing (ProConnect: the agents' own identity providers
	// vouch for their addresses) is.
	if claims.Email == "" || (claims.Verified != nil && !*claims.Verified) {
		return Identity{}, fmt.Errorf("%w: no verified email", ErrRefused)
	}
	return Identity{Subject: idt.Subject, Email: claims.Email}, nil
}
