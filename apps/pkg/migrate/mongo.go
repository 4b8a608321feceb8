package migrate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
	"go.mongodb.org/mongo-driver/mongo/readconcern"
	"go.mongodb.org/mongo-driver/mongo/readpref"
	"go.mongodb.org/mongo-driver/mongo/writeconcern"
)

// MongoDB cannot run index commands in a transaction on an existing
// collection, so a migration's commands run one by one, then its record is
// written. Every command is idempotent (createIndexes of an existing index
// with the same spec does nothing; dropIndexes of a missing one is taken as
// done), so a migration interrupted half-way completes on the next run.
//
// What is sent is built by mongoCommand and mongoRecord, apart from the code
// that sends it (mongoDatabase), so that the tests check it without a server.

// mongoDatabase is the part of a service's MongoDB database the migrator
// uses: driverDatabase in production, a recording fake in the tests.
type mongoDatabase interface {
	runCommand(ctx context.Context, cmd bson.D) error
	// records finds every document of the schema collection, by _id.
	records(ctx context.Context) ([]bson.M, error)
	// upsert updates the schema document filter selects, inserting it if
	// missing.
	upsert(ctx context.Context, filter, update bson.D) error
}

// mongoCommand is cmd as sent: with a majority write concern, as Dapr writes
// (writeConcern: majority in the component), so that an index survives a
// failover.
func mongoCommand(cmd bson.D) bson.D {
	out := append(bson.D{}, cmd...)
	for _, e := range out {
		if e.Key == "writeConcern" {
			return out
		}
	}
	return append(out, bson.E{Key: "writeConcern", Value: bson.D{{Key: "w", Value: "majority"}}})
}

// mongoRecord is the filter and update that record m for svc in the schema
// collection: an upsert that only ever inserts ($setOnInsert), so a record a
// concurrent migrator wrote first stays as written.
func mongoRecord(svc string, m Migration, now time.Time) (filter, update bson.D) {
	filter = bson.D{{Key: "_id", Value: int32(m.Version)}}
	update = bson.D{{Key: "$setOnInsert", Value: bson.D{
		{Key: "name", Value: m.Name},
		{Key: "service", Value: svc},
		{Key: "appliedAt", Value: now.UTC()},
	}}}
	return filter, update
}

// mongoStore is a service's MongoDB database (Dapr's state.mongodb).
type mongoStore struct {
	db         mongoDatabase
	now        func() time.Time
	disconnect func(context.Context) error
}

func openMongo(ctx context.Context, svc, rawURL, dbName string) (store, error) {
	client, err := mongo.Connect(ctx, options.Client().ApplyURI(rawURL).SetAppName("tixmesh-migrate-"+svc))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", redact(rawURL), err)
	}
	// Index builds go to the primary; wait for it (the driver's server
	// selection timeout, 30 s) rather than fail while the replica set elects.
	if err := client.Ping(ctx, readpref.Primary()); err != nil {
		_ = client.Disconnect(ctx)
		return nil, fmt.Errorf("no primary at %s: %w", redact(rawURL), err)
	}
	db := client.Database(dbName, options.Database().
		SetWriteConcern(writeconcern.Majority()).
		SetReadConcern(readconcern.Majority()))
	return &mongoStore{db: driverDatabase{db}, now: time.Now, disconnect: client.Disconnect}, nil
}

func (s *mongoStore) kind() string { return "mongodb" }

func (s *mongoStore) close(ctx context.Context) {
	if s.disconnect != nil {
		_ = s.disconnect(ctx)
	}
}

func (s *mongoStore) records(ctx context.Context) ([]Record, error) {
	docs, err := s.db.records(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Record, 0, len(docs))
	for _, d := range docs {
		var r Record
		switch v := d["_id"].(type) {
		case int32:
			r.Version = int(v)
		case int64:
			r.Version = int(v)
		default:
			return nil, fmt.Errorf("%s: a record with _id %v, want a version number", SchemaTable, d["_id"])
		}
		r.Name, _ = d["name"].(string)
		r.Service, _ = d["service"].(string)
		if at, ok := d["appliedAt"].(primitive.DateTime); ok {
			r.AppliedAt = at.Time()
		}
		out = append(out, r)
	}
	return out, nil
}

func (s *mongoStore) apply(ctx context.Context, svc string, m Migration) (bool, error) {
	for i, cmd := range m.Mongo {
		err := s.db.runCommand(ctx, mongoCommand(cmd))
		if err != nil && !alreadyDone(cmd, err) {
			return false, fmt.Errorf("command %d (%s): %w", i+1, cmd[0].Key, err)
		}
	}
	filter, update := mongoRecord(svc, m, s.now())
	if err := s.db.upsert(ctx, filter, update); err != nil {
		return false, fmt.Errorf("recording it: %w", err)
	}
	return true, nil
}

// alreadyDone: dropping an index (or from a collection) that is not there
// leaves the store as the command wanted it.
func alreadyDone(cmd bson.D, err error) bool {
	var ce mongo.CommandError
	const namespaceNotFound, indexNotFound = 26, 27
	return cmd[0].Key == "dropIndexes" && errors.As(err, &ce) && (ce.Code == indexNotFound || ce.Code == namespaceNotFound)
}

// driverDatabase sends to a real MongoDB.
type driverDatabase struct{ db *mongo.Database }

func (d driverDatabase) runCommand(ctx context.Context, cmd bson.D) error {
	return d.db.RunCommand(ctx, cmd).Err()
}

func (d driverDatabase) records(ctx context.Context) ([]bson.M, error) {
	cur, err := d.db.Collection(SchemaTable).Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, err
	}
	var docs []bson.M
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	return docs, nil
}

func (d driverDatabase) upsert(ctx context.Context, filter, update bson.D) error {
	_, err := d.db.Collection(SchemaTable).UpdateOne(ctx, filter, update, options.Update().SetUpsert(true))
	return err
}
