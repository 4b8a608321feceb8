package main

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/tixmesh/ticketing/apps/pkg/auth"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar"
	"github.com/tixmesh/ticketing/apps/pkg/web"
)

// newServer maps every route, with its middleware, on one screen.
func newServer(log *slog.Logger, cfg config, keys *auth.Keys, users *userStore, limits *limits) http.Handler {
	r := web.NewRouter(log)
	web.Health(r, map[string]web.Check{
		"sidecar": func(ctx context.Context) error { return sidecar.WaitOutbound(ctx, cfg.DaprHTTPAddr) },
	})

	api := r.PathPrefix("/api/users").Subrouter()
	api.Use(auth.CurrentUser(keys))
	limited := limitClients(log, limits)
	api.Handle("/signup", limited(handleSignup(log, cfg, keys, users))).Methods(http.MethodPost)
	api.Handle("/signin", limited(handleSignin(log, cfg, keys, users, limits))).Methods(http.MethodPost)
	api.Handle("/signout", handleSignout()).Methods(http.MethodPost)
	api.Handle("/currentuser", handleCurrentUser()).Methods(http.MethodGet)
	return r
}
