package main

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/tixmesh/ticketing/apps/pkg/sidecar"
	"github.com/tixmesh/ticketing/apps/pkg/web"
)

// idPattern is the shape of a record id in a page's path; anything else is a 404 page
// without asking a service.
const idPattern = "{id:[0-9A-Za-z_-]{1,64}}"

// newServer maps every page, with who may see it, on one screen. Every page
// asks auth who is signed in (withUser); signedIn pages send everybody else
// to the sign-in form. State changes are POST forms, refused when a browser
// says they come from another site.
func newServer(log *slog.Logger, cfg config, v *views, svc *services) http.Handler {
	r := web.NewRouter(log)
	observe := web.Observe(log)
	r.NotFoundHandler = observe(secureHeaders(tryUser(svc)(notFoundPage(v))))
	r.MethodNotAllowedHandler = observe(secureHeaders(tryUser(svc)(methodNotAllowedPage(v))))
	web.Health(r, map[string]web.Check{
		"sidecar": func(ctx context.Context) error { return sidecar.WaitOutbound(ctx, cfg.DaprHTTPAddr) },
	})
	r.PathPrefix("/static/").Handler(staticFiles()).Methods(http.MethodGet, http.MethodHead)

	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(forbiddenPage(v, "This form was sent from another site, so it was refused."))

	pages := r.NewRoute().Subrouter()
	pages.Use(secureHeaders, csrf.Handler, withUser(v, svc))
	get, post := http.MethodGet, http.MethodPost

	pages.Handle("/", handleLanding(v, svc, cfg.PageSize)).Methods(get)

	pages.Handle("/auth/signup", handleAuthForm(v, signupForm)).Methods(get)
	pages.Handle("/auth/signup", handleAuthSubmit(v, svc, signupForm)).Methods(post)
	pages.Handle("/auth/signin", handleAuthForm(v, signinForm)).Methods(get)
	pages.Handle("/auth/signin", handleAuthSubmit(v, svc, signinForm)).Methods(post)
	pages.Handle("/auth/signout", handleSignout(v, svc)).Methods(post)

	pages.Handle("/tickets/new", signedIn(handleNewTicket(v))).Methods(get)
	pages.Handle("/tickets/new", signedIn(handleCreateTicket(v, svc))).Methods(post)
	pages.Handle("/tickets/"+idPattern, handleShowTicket(v, svc)).Methods(get)
	pages.Handle("/tickets/"+idPattern+"/purchase", signedIn(handlePurchase(v, svc))).Methods(post)
	pages.Handle("/tickets/"+idPattern+"/edit", signedIn(handleEditTicket(v, svc))).Methods(get)
	pages.Handle("/tickets/"+idPattern+"/edit", signedIn(handleUpdateTicket(v, svc))).Methods(post)

	pages.Handle("/orders", signedIn(handleOrders(v, svc))).Methods(get)
	pages.Handle("/orders/"+idPattern, signedIn(handleShowOrder(v, svc))).Methods(get)
	pages.Handle("/orders/"+idPattern+"/pay", signedIn(handlePay(v, svc))).Methods(post)
	pages.Handle("/orders/"+idPattern+"/cancel", signedIn(handleCancelOrder(v, svc))).Methods(post)

	pages.Handle("/sellers/me", signedIn(handleGetPaid(v, svc))).Methods(get)
	pages.Handle("/sellers/me/connect", signedIn(handleConnectPayouts(v, svc))).Methods(post)
	pages.Handle("/sales", signedIn(handleSales(v, svc))).Methods(get)
	return r
}
