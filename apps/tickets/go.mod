module github.com/tixmesh/ticketing/apps/tickets

go 1.26.0

require github.com/tixmesh/ticketing/apps/pkg v0.0.0

require github.com/gorilla/mux v1.8.1 // indirect

replace github.com/tixmesh/ticketing/apps/pkg => ../pkg
