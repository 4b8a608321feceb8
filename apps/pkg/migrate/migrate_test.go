package migrate

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// files is a migrations folder of two versions.
func files() fstest.MapFS {
	return fstest.MapFS{
		"0001_kinds.sql":        {Data: []byte(`CREATE INDEX IF NOT EXISTS state_kind ON state ((value->>'kind')) WHERE value->>'kind' IS NOT NULL;`)},
		"0001_kinds.mongo.json": {Data: []byte(`[{"createIndexes": "state", "indexes": [{"name": "kind", "key": {"value.kind": 1}, "partialFilterExpression": {"value.kind": {"$exists": true}}}]}]`)},
		"0002_list.sql":         {Data: []byte(`CREATE INDEX IF NOT EXISTS state_list ON state ((value->>'listing'), (value->>'listedAt') DESC);`)},
		"0002_list.mongo.json":  {Data: []byte(`[{"createIndexes": "state", "indexes": [{"name": "list", "key": {"value.listing": 1, "value.listedAt": -1}}]}, {"dropIndexes": "state", "index": "old_list"}]`)},
		"README.md":             {Data: []byte("what these are")},
	}
}

func TestLoadReadsEveryVersionInOrder(t *testing.T) {
	set, err := Load("tickets", files())
	if err != nil {
		t.Fatal(err)
	}
	if set.Latest() != 2 || set.Migrations[0].ID() != "0001_kinds" || set.Migrations[1].ID() != "0002_list" {
		t.Fatalf("loaded %+v", set.Migrations)
	}
	// The index key keeps the file's order: it is the index.
	key := set.Migrations[1].Mongo[0][1].Value.(bson.A)[0].(bson.D)[1].Value.(bson.D)
	if want := (bson.D{{Key: "value.listing", Value: int32(1)}, {Key: "value.listedAt", Value: int32(-1)}}); !reflect.DeepEqual(key, want) {
		t.Errorf("index key %v, want %v", key, want)
	}
}

func TestLoadRefusesAnIncompleteFolder(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(fstest.MapFS)
		want   string
	}{
		{"a version without its MongoDB half", func(f fstest.MapFS) { delete(f, "0002_list.mongo.json") }, "needs both 0002_list.sql and 0002_list.mongo.json"},
		{"a gap in the numbers", func(f fstest.MapFS) {
			f["0004_x.sql"], f["0004_x.mongo.json"] = f["0002_list.sql"], f["0002_list.mongo.json"]
		}, "0003 is missing"},
		{"one version, two names", func(f fstest.MapFS) { f["0002_other.sql"] = f["0002_list.sql"] }, "two names"},
		{"a file that is no migration", func(f fstest.MapFS) { f["0003_Bad-Name.sql"] = f["0002_list.sql"] }, "want NNNN_name.sql"},
		{"an empty SQL file", func(f fstest.MapFS) { f["0002_list.sql"] = &fstest.MapFile{Data: []byte("  \n")} }, "is empty"},
		{"MongoDB commands that are no array", func(f fstest.MapFS) {
			f["0002_list.mongo.json"] = &fstest.MapFile{Data: []byte(`{"createIndexes": "state"}`)}
		}, "JSON array"},
		{"a command that rewrites documents", func(f fstest.MapFS) {
			f["0002_list.mongo.json"] = &fstest.MapFile{Data: []byte(`[{"update": "state", "updates": []}]`)}
		}, "want one of"},
		{"another collection", func(f fstest.MapFS) {
			f["0002_list.mongo.json"] = &fstest.MapFile{Data: []byte(`[{"createIndexes": "users", "indexes": []}]`)}
		}, `only the "state" collection`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := files()
			tc.change(f)
			_, err := Load("tickets", f)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want one saying %q", err, tc.want)
			}
		})
	}
}

// fakeMongo records what the migrator would send to MongoDB.
type fakeMongo struct {
	sent    []bson.D
	docs    map[int32]bson.M
	upserts [][2]bson.D
	// fail makes the command with this name fail.
	fail    string
	failErr error
}

func newFakeMongo() *fakeMongo { return &fakeMongo{docs: map[int32]bson.M{}} }

func (f *fakeMongo) runCommand(_ context.Context, cmd bson.D) error {
	f.sent = append(f.sent, cmd)
	if f.fail != "" && cmd[0].Key == f.fail {
		return f.failErr
	}
	return nil
}

func (f *fakeMongo) records(context.Context) ([]bson.M, error) {
	var out []bson.M
	for v := int32(1); v < 100; v++ {
		if d, ok := f.docs[v]; ok {
			out = append(out, d)
		}
	}
	return out, nil
}

func (f *fakeMongo) upsert(_ context.Context, filter, update bson.D) error {
	f.upserts = append(f.upserts, [2]bson.D{filter, update})
	id := filter[0].Value.(int32)
	if _, ok := f.docs[id]; ok {
		return nil
	}
	doc := bson.M{"_id": id}
	for _, e := range update[0].Value.(bson.D) {
		if at, ok := e.Value.(time.Time); ok {
			doc[e.Key] = primitive.NewDateTimeFromTime(at)
			continue
		}
		doc[e.Key] = e.Value
	}
	f.docs[id] = doc
	return nil
}

var at = time.Date(2026, 12, 8, 10, 0, 0, 0, time.UTC)

func mongoStoreOn(f *fakeMongo) *mongoStore {
	return &mongoStore{db: f, now: func() time.Time { return at }}
}

func TestMongoSendsEachCommandThenItsRecord(t *testing.T) {
	set, err := Load("tickets", files())
	if err != nil {
		t.Fatal(err)
	}
	f := newFakeMongo()
	ran, err := set.apply(context.Background(), mongoStoreOn(f), quiet)
	if err != nil {
		t.Fatal(err)
	}
	if len(ran) != 2 {
		t.Fatalf("ran %d migrations, want 2", len(ran))
	}
	majority := bson.E{Key: "writeConcern", Value: bson.D{{Key: "w", Value: "majority"}}}
	want := []bson.D{
		{{Key: "createIndexes", Value: "state"}, {Key: "indexes", Value: bson.A{bson.D{
			{Key: "name", Value: "kind"},
			{Key: "key", Value: bson.D{{Key: "value.kind", Value: int32(1)}}},
			{Key: "partialFilterExpression", Value: bson.D{{Key: "value.kind", Value: bson.D{{Key: "$exists", Value: true}}}}},
		}}}, majority},
		{{Key: "createIndexes", Value: "state"}, {Key: "indexes", Value: bson.A{bson.D{
			{Key: "name", Value: "list"},
			{Key: "key", Value: bson.D{{Key: "value.listing", Value: int32(1)}, {Key: "value.listedAt", Value: int32(-1)}}},
		}}}, majority},
		{{Key: "dropIndexes", Value: "state"}, {Key: "index", Value: "old_list"}, majority},
	}
	if !reflect.DeepEqual(f.sent, want) {
		t.Errorf("sent\n%v\nwant\n%v", f.sent, want)
	}
	wantRecords := [][2]bson.D{
		{{{Key: "_id", Value: int32(1)}}, {{Key: "$setOnInsert", Value: bson.D{{Key: "name", Value: "kinds"}, {Key: "service", Value: "tickets"}, {Key: "appliedAt", Value: at}}}}},
		{{{Key: "_id", Value: int32(2)}}, {{Key: "$setOnInsert", Value: bson.D{{Key: "name", Value: "list"}, {Key: "service", Value: "tickets"}, {Key: "appliedAt", Value: at}}}}},
	}
	if !reflect.DeepEqual(f.upserts, wantRecords) {
		t.Errorf("records\n%v\nwant\n%v", f.upserts, wantRecords)
	}

	t.Run("a second run sends nothing", func(t *testing.T) {
		f.sent, f.upserts = nil, nil
		ran, err := set.apply(context.Background(), mongoStoreOn(f), quiet)
		if err != nil || len(ran) != 0 || len(f.sent) != 0 || len(f.upserts) != 0 {
			t.Errorf("ran %v, sent %v, recorded %v, err %v; want nothing", ran, f.sent, f.upserts, err)
		}
	})
	t.Run("a new version runs alone", func(t *testing.T) {
		fs := files()
		fs["0003_more.sql"] = &fstest.MapFile{Data: []byte("SELECT 1")}
		fs["0003_more.mongo.json"] = &fstest.MapFile{Data: []byte(`[{"collMod": "state", "index": {"name": "list", "hidden": false}}]`)}
		newer, err := Load("tickets", fs)
		if err != nil {
			t.Fatal(err)
		}
		f.sent = nil
		ran, err := newer.apply(context.Background(), mongoStoreOn(f), quiet)
		if err != nil || len(ran) != 1 || ran[0].ID() != "0003_more" || len(f.sent) != 1 || f.sent[0][0].Key != "collMod" {
			t.Errorf("ran %v, sent %v, err %v; want 0003_more's collMod alone", ran, f.sent, err)
		}
	})
}

func TestMongoRefusesANewerOrForeignSchema(t *testing.T) {
	set, err := Load("tickets", files())
	if err != nil {
		t.Fatal(err)
	}
	newer := newFakeMongo()
	newer.docs[3] = bson.M{"_id": int32(3), "name": "from_the_future", "service": "tickets"}
	_, err = set.apply(context.Background(), mongoStoreOn(newer), quiet)
	if !errors.Is(err, ErrNewerSchema) || !strings.Contains(err.Error(), "version 3 (0003_from_the_future), this binary knows up to 2") {
		t.Errorf("err %v, want ErrNewerSchema naming both versions", err)
	}
	foreign := newFakeMongo()
	foreign.docs[1] = bson.M{"_id": int32(1), "name": "kinds", "service": "orders"}
	_, err = set.apply(context.Background(), mongoStoreOn(foreign), quiet)
	if !errors.Is(err, ErrOtherService) || !strings.Contains(err.Error(), "applied by orders") {
		t.Errorf("err %v, want ErrOtherService naming orders", err)
	}
	renamed := newFakeMongo()
	renamed.docs[2] = bson.M{"_id": int32(2), "name": "something_else", "service": "tickets"}
	_, err = set.apply(context.Background(), mongoStoreOn(renamed), quiet)
	if err == nil || !strings.Contains(err.Error(), "two migrations took one number") {
		t.Errorf("err %v, want the clash of 0002 names", err)
	}
	for _, f := range []*fakeMongo{newer, foreign, renamed} {
		if len(f.sent) != 0 || len(f.upserts) != 0 {
			t.Errorf("sent %v and recorded %v to a store it refused", f.sent, f.upserts)
		}
	}
}

func TestMongoStopsAtAFailingMigration(t *testing.T) {
	set, err := Load("tickets", files())
	if err != nil {
		t.Fatal(err)
	}
	f := newFakeMongo()
	f.fail, f.failErr = "createIndexes", mongo.CommandError{Code: 85, Name: "IndexOptionsConflict", Message: "an index with the same key exists"}
	ran, err := set.apply(context.Background(), mongoStoreOn(f), quiet)
	if len(ran) != 0 || err == nil {
		t.Fatalf("ran %v, err %v; want a failure", ran, err)
	}
	for _, want := range []string{"migration 0001_kinds failed on mongodb", "later migrations did not run", "command 1 (createIndexes)", "IndexOptionsConflict"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err %q lacks %q", err, want)
		}
	}
	if len(f.sent) != 1 || len(f.upserts) != 0 {
		t.Errorf("sent %d commands and %d records after the failure, want the failing command alone", len(f.sent), len(f.upserts))
	}
}

func TestMongoTakesAMissingIndexAsDropped(t *testing.T) {
	set, err := Load("tickets", files())
	if err != nil {
		t.Fatal(err)
	}
	f := newFakeMongo()
	f.fail, f.failErr = "dropIndexes", mongo.CommandError{Code: 27, Name: "IndexNotFound"}
	if _, err := set.apply(context.Background(), mongoStoreOn(f), quiet); err != nil {
		t.Errorf("dropping an index that is not there: %v", err)
	}
}

func TestOpenNamesWhatItCannotMigrate(t *testing.T) {
	for _, u := range []string{"", "redis://cache.invalid/0", "://"} {
		_, err := open(context.Background(), "tickets", u)
		if err == nil || !strings.HasPrefix(err.Error(), "MIGRATE_URL") {
			t.Errorf("open(%q): %v, want an error about MIGRATE_URL", u, err)
		}
	}
	if got := redact("postgres://u:secret@h/db"); strings.Contains(got, "secret") {
		t.Errorf("redact kept the password: %s", got)
	}
}

func TestMainWantsMIGRATE_URL(t *testing.T) {
	err := Main(context.Background(), "tickets", files(), func(string) string { return "" }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "MIGRATE_URL is not set") {
		t.Errorf("err %v", err)
	}
}
